"""Standard Workload Format (Parallel Workloads Archive; Chapin et al., JSSPP'99).

18 whitespace-separated fields per line, ``;`` starts a header comment. Used here: 1 job id,
2 submit time, 4 run time, 5 allocated processors (else 8 requested processors), 9 requested
time (the user's wall-time limit: an honest upper bound the scheduler may use), 12 user id,
13 group id (tenant). Jobs with run time <= 0 or no processors (cancelled before start) are
skipped, as the archive's notes advise. One processor = one device.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from suanwang.core.errors import ConfigError
from suanwang.sim.traces.rows import number, open_text
from suanwang.sim.workload import Workload

FIELDS = 18


def load_swf(path: str | Path) -> Workload:
    file = str(path)
    submit, runtime, devices, req, user, group = [], [], [], [], [], []
    users: dict[str, int] = {}
    groups: dict[str, int] = {}
    skipped = 0
    with open_text(path) as f:
        for line_no, line in enumerate(f, start=1):
            text = line.strip()
            if not text or text.startswith(";"):
                continue
            parts = text.split()
            if len(parts) < FIELDS:
                raise ConfigError(f"expected {FIELDS} whitespace-separated fields, got "
                                  f"{len(parts)}", file=file, line=line_no)

            def num(k: int, name: str, integer: bool = False, parts=parts,
                    line_no=line_no) -> float:
                return number(parts[k], file=file, line=line_no, field=name, minimum=-1.0,
                              integer=integer)

            t = num(1, "submit_time")
            run = num(3, "run_time")
            procs = int(num(4, "allocated_processors", integer=True))
            if procs <= 0:
                procs = int(num(7, "requested_processors", integer=True))
            if run <= 0 or procs <= 0 or t < 0:
                skipped += 1
                continue
            submit.append(t)
            runtime.append(run)
            devices.append(procs)
            req.append(max(num(8, "requested_time"), 0.0))
            user.append(users.setdefault(parts[11], len(users)))
            group.append(groups.setdefault(parts[12], len(groups)))
    if not submit:
        raise ConfigError("no runnable jobs in the trace", file=file)
    requested = np.asarray(req, dtype=float)
    return Workload(
        name=Path(path).name, submit_s=np.asarray(submit, dtype=float),
        runtime_s=np.asarray(runtime, dtype=float), num_devices=np.asarray(devices, np.int64),
        user=np.asarray(user, dtype=np.int64), users=list(users),
        tenant=np.asarray(group, dtype=np.int64), tenants=list(groups),
        requested_s=requested if requested.any() else None,
        notes=[f"{skipped} jobs with no run time or processors skipped"])
