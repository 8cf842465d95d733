"""The JSONL event timeline of a run, and what it adds up to (ETTR, lost work, recovery time).

Supervisor and rank 0 append one JSON object per line to ``RUN_DIR/events.jsonl`` (``O_APPEND``,
one ``write`` per line, so lines from both never interleave). Every event has ``t`` (unix
seconds), ``event`` and ``attempt``. Kinds: ``start``, ``launch``, ``resume``, ``step`` (loss,
tokens_per_s, step_time_s, mfu), ``ckpt_start``, ``ckpt_staged``, ``ckpt_persisted``,
``failure``, ``restart``, ``end``.

ETTR (effective training time ratio) = productive step time / wall time, where a step is
productive if no later attempt recomputed it (ByteRobust and Llama 3 report the same ratio).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class EventLog:
    """Append-only JSONL writer shared by processes; each line is written with one syscall."""

    def __init__(self, path: str | Path, *, attempt: int, source: str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.attempt = attempt
        self.source = source
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        rec = {"t": round(time.time(), 6), "event": event, "attempt": self.attempt,
               "source": self.source, **fields}
        os.write(self._fd, (json.dumps(rec) + "\n").encode())
        return rec

    def close(self) -> None:
        os.close(self._fd)


def read_events(path: str | Path) -> list[dict[str, Any]]:
    """All complete lines of an event file (a torn last line from a killed writer is skipped)."""
    out = []
    p = Path(path)
    if not p.exists():
        return out
    for line in p.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def summarize(events: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """ETTR, failures, restarts, checkpoints, lost steps and recovery times from a timeline."""
    ev = sorted(events, key=lambda e: e["t"])
    starts = [e["t"] for e in ev if e["event"] == "start"]
    ends = [e["t"] for e in ev if e["event"] == "end"]
    steps = [e for e in ev if e["event"] == "step"]
    wall = (ends[-1] if ends else ev[-1]["t"]) - (starts[0] if starts else ev[0]["t"]) if ev else 0
    last_done: dict[int, dict[str, Any]] = {}
    for e in steps:
        last_done[e["step"]] = e
    productive = sum(e["step_time_s"] for e in last_done.values())
    lost = [e for e in steps if last_done[e["step"]] is not e]
    failures = [e for e in ev if e["event"] == "failure"]
    recovery = []
    for f in failures:
        # from the injected fault when there was one (detection latency counts), else detection
        injected = [e["t"] for e in ev if e["event"] == "fault" and e["attempt"] == f["attempt"]
                    and e["t"] <= f["t"]]
        t_fail = injected[-1] if injected else f["t"]
        after = [s for s in steps if s["attempt"] > f["attempt"] and s["t"] > f["t"]]
        if after:
            recovery.append(after[0]["t"] - t_fail)
    persisted = [e for e in ev if e["event"] == "ckpt_persisted"]
    stalls = [e["ckpt_stall_s"] for e in steps if e.get("ckpt_stall_s")]
    tps = [e["tokens_per_s"] for e in steps[len(steps) // 5:]]
    return {
        "wall_s": round(wall, 3),
        "productive_s": round(productive, 3),
        "ettr": round(productive / wall, 4) if wall > 0 else 0.0,
        "steps": len(last_done),
        "final_step": max(last_done) if last_done else 0,
        "failures": len(failures),
        "restarts": sum(1 for e in ev if e["event"] == "restart"),
        "checkpoints": len(persisted),
        "lost_steps": len(lost),
        "lost_s": round(sum(e["step_time_s"] for e in lost), 3),
        "recovery_s": [round(r, 3) for r in recovery],
        "ckpt_stall_s_max": round(max(stalls), 6) if stalls else None,
        "tokens_per_s_median": round(_median(tps), 1) if tps else None,
    }


def loss_curve(events: Iterable[dict[str, Any]]) -> dict[int, float]:
    """step -> loss of the completion that counted (the last attempt that ran the step)."""
    out: dict[int, float] = {}
    for e in sorted(events, key=lambda e: e["t"]):
        if e["event"] == "step":
            out[e["step"]] = e["loss"]
    return out


def _median(xs: list[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])
