"""CPU seconds each rank of a run consumed, sampled from ``/proc`` while it runs.

On a shared host other tenants' processes time-slice the ranks, so a step's wall time measures
the host's load as much as the job. The CPU time a rank consumed per step does not (apart from
cache effects): with one thread per rank and compute-bound steps it is the step time the same
job would have on a host of its own. Linux only (``/proc/<pid>/stat`` fields 14-15, utime and
stime in clock ticks; proc(5)); elsewhere nothing is sampled.
"""

from __future__ import annotations

import bisect
import json
import os
import threading
import time
from pathlib import Path

TICK_S = 1.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01


def _cpu_s(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) * TICK_S  # utime, stime (fields 14, 15)


class CpuSampler(threading.Thread):
    """Polls the run's event log for the ranks' pids (the supervisor's ``launch`` event), then
    samples their CPU seconds every ``period_s`` until :meth:`stop`."""

    def __init__(self, events_path: Path, period_s: float = 0.05) -> None:
        super().__init__(name="cpu-sampler", daemon=True)
        self.events_path, self.period_s = events_path, period_s
        self.samples: dict[int, list[tuple[float, float]]] = {}
        self._halt = threading.Event()

    def _pids(self) -> list[int]:
        if not self.events_path.exists():
            return []
        for line in self.events_path.read_text().splitlines():
            e = json.loads(line)
            if e.get("event") == "launch" and e.get("pids"):
                return list(e["pids"])
        return []

    def run(self) -> None:
        pids: list[int] = []
        while not self._halt.is_set():
            pids = pids or self._pids()
            for pid in pids:
                cpu = _cpu_s(pid)
                if cpu is not None:
                    self.samples.setdefault(pid, []).append((time.time(), cpu))
            self._halt.wait(self.period_s)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def cpu_between(self, pid: int, t0: float, t1: float) -> float:
        """CPU seconds ``pid`` consumed between wall times ``t0`` and ``t1`` (nearest samples)."""
        s = self.samples.get(pid, [])
        times = [t for t, _ in s]

        def at(t: float) -> float:
            i = min(max(bisect.bisect_left(times, t), 0), len(s) - 1)
            return s[i][1]

        return at(t1) - at(t0) if s else float("nan")

    def cpu_per_step(self, steps: list[dict], first: int) -> float:
        """Max over ranks of CPU seconds per step from step ``first`` to the last step event."""
        timed = [e for e in steps if e["step"] >= first]
        if len(timed) < 2 or not self.samples:
            return float("nan")
        t0, t1, n = timed[0]["t"], timed[-1]["t"], timed[-1]["step"] - timed[0]["step"]
        return max(self.cpu_between(pid, t0, t1) for pid in self.samples) / n
