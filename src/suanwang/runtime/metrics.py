"""The JSONL event timeline of a run, and what it adds up to (ETTR, lost work, recovery time).

Supervisor and rank 0 append one JSON object per line to ``RUN_DIR/events.jsonl`` (``O_APPEND``,
one ``write`` per line, so lines from both never interleave). Every event has ``t`` (unix
seconds), ``event`` and ``attempt``. The kinds are listed in docs/runtime.md ("Events");
:func:`summarize` derives every figure of the run summary from them.
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
    """The run summary, derived from the timeline alone (the one source of truth).

    ``state``/``ok``/``reason``/``rc`` come from the ``end`` event (``RUNNING`` without one);
    ``final_step`` is where the model stands (the last ``finish``, ``step`` or ``resume``), and
    ``saved_step`` the newest committed checkpoint. ``ettr`` is net of checkpoint cost:
    clean step time (mean of the steps no checkpoint touched: no stall, no overlap with a
    save's start-to-commit window, not the first step of an attempt) x steps kept / wall;
    ``ettr_gross`` = summed time of the steps kept / wall (the
    definition ByteRobust and Llama 3 use). A step is kept if no later attempt recomputed it.
    Several invocations (rotated timelines concatenated) add up: wall is the sum of their
    start-to-end times; steps a resume went back over count as lost, also across invocations
    (``start.previous_step``).
    """
    ev = sorted(events, key=lambda e: e["t"])
    steps = [e for e in ev if e["event"] == "step"]
    last_done: dict[int, dict[str, Any]] = {}
    for e in steps:
        last_done[e["step"]] = e
    lost = [e for e in steps if last_done[e["step"]] is not e]
    wall = _wall(ev)
    gross = sum(e["step_time_s"] for e in last_done.values())
    clean = _clean_step_s(ev, steps)
    net = clean * len(last_done) if clean is not None else gross
    end = next((e for e in reversed(ev) if e["event"] == "end"), None)
    failures = [e for e in ev if e["event"] == "failure"]
    committed = {e["step"] for e in ev if e["event"] in ("ckpt_committed", "ckpt_persisted")}
    stalls = [e["ckpt_stall_s"] for e in steps if e.get("ckpt_stall_s")]
    tps = [e["tokens_per_s"] for e in steps[len(steps) // 5:]]
    resumes = [e for e in ev if e["event"] == "resume"]
    unsaved = _lost_across_invocations(ev)
    extra = {"config_error": end["reason"]} if end and end.get("state") == "CONFIG_ERROR" else {}
    return {**extra,
        "state": end.get("state", "SUCCEEDED" if end.get("ok") else "FAILED") if end
        else "RUNNING",
        "ok": bool(end and end.get("ok")),
        "reason": end.get("reason", "") if end else "",
        "wall_s": round(wall, 3),
        "productive_s": round(net, 3),
        "ettr": round(net / wall, 4) if wall > 0 else 0.0,
        "ettr_gross": round(gross / wall, 4) if wall > 0 else 0.0,
        "clean_step_s": round(clean, 5) if clean is not None else None,
        "steps": len(last_done),
        "final_step": _final_step(ev),
        "resumed_from": resumes[0]["step"] if resumes else None,
        "saved_step": max(committed) if committed else None,
        "failures": len(failures),
        "restarts": sum(1 for e in ev if e["event"] == "restart"),
        "rollbacks": sum(1 for e in ev if e["event"] == "rollback"),
        "checkpoints": len(committed),
        "ckpt_skipped": sum(1 for e in ev if e["event"] == "ckpt_skipped"),
        "ckpt_damaged": [e["step"] for e in ev if e["event"] == "ckpt_damaged"],
        "preempted": any(e["event"] == "preempted" for e in ev),
        "stragglers": sorted({e["rank"] for e in ev if e["event"] == "straggler"}),
        "lost_steps": len(lost) + unsaved,
        "lost_s": round(sum(e["step_time_s"] for e in lost), 3),
        "recovery_s": [round(r, 3) for r in _recoveries(ev, steps, failures)],
        "ckpt_stall_s_max": round(max(stalls), 6) if stalls else None,
        "tokens_per_s_median": round(_median(tps), 1) if tps else None,
    }


def _wall(ev: list[dict[str, Any]]) -> float:
    """Sum over invocations of start-to-end (or to the last event while running)."""
    if not ev:
        return 0.0
    total, begun, prev_t = 0.0, None, ev[0]["t"]
    for e in ev:
        if e["event"] == "start":
            if begun is not None:  # an invocation that ended without an `end` (killed)
                total += prev_t - begun
            begun = e["t"]
        elif e["event"] == "end" and begun is not None:
            total += e["t"] - begun
            begun = None
        prev_t = e["t"]
    if begun is not None:
        total += ev[-1]["t"] - begun
    if not any(e["event"] == "start" for e in ev):
        total = ev[-1]["t"] - ev[0]["t"]
    return total


def _clean_step_s(ev: list[dict[str, Any]], steps: list[dict[str, Any]]) -> float | None:
    """Mean time of the steps no checkpoint touched: no stall in them, their compute not
    overlapping any save's start-to-commit window, not the first step of an attempt."""
    windows, begun = [], {}
    for e in ev:
        key = (e["attempt"], e.get("step"))
        if e["event"] == "ckpt_start":
            begun[key] = e["t"]
        elif e["event"] in ("ckpt_committed", "ckpt_persisted", "ckpt_refused") and key in begun:
            windows.append((begun.pop(key), e["t"]))
    windows += [(t, float("inf")) for t in begun.values()]  # never committed (killed)
    firsts, seen = set(), set()
    for i, e in enumerate(steps):
        if e["attempt"] not in seen:
            seen.add(e["attempt"])
            firsts.add(i)
    clean = [e["step_time_s"] for i, e in enumerate(steps)
             if i not in firsts and not e.get("ckpt_stall_s")
             and not any(a < e["t"] and e["t"] - e["step_time_s"] < b for a, b in windows)]
    return sum(clean) / len(clean) if clean else None


def _final_step(ev: list[dict[str, Any]]) -> int:
    for e in reversed(ev):
        if e["event"] in ("finish", "step", "resume", "begin"):
            return int(e["step"])
    return 0


def _lost_across_invocations(ev: list[dict[str, Any]]) -> int:
    """Steps trained in an earlier invocation beyond the step this one resumed from."""
    lost = 0
    for i, e in enumerate(ev):
        if e["event"] == "start" and e.get("previous_step") is not None:
            resume = next((r for r in ev[i:] if r["event"] in ("resume", "begin")), None)
            if resume is not None:
                lost += max(0, int(e["previous_step"]) - int(resume["step"]))
    return lost


def _recoveries(ev: list[dict[str, Any]], steps: list[dict[str, Any]],
                failures: list[dict[str, Any]]) -> list[float]:
    out = []
    for f in failures:
        # from the injected fault when there was one (detection latency counts), else detection
        injected = [e["t"] for e in ev if e["event"] == "fault" and e["attempt"] == f["attempt"]
                    and e["t"] <= f["t"]]
        t_fail = injected[-1] if injected else f["t"]
        after = [s for s in steps if s["attempt"] > f["attempt"] and s["t"] > f["t"]]
        if after:
            out.append(after[0]["t"] - t_fail)
    return out


def previous_step(events: Iterable[dict[str, Any]]) -> int | None:
    """The step an earlier timeline's model reached (for ``start.previous_step``)."""
    ev = list(events)
    return _final_step(ev) if ev else None


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
