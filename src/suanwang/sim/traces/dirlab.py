"""DIR-LAB Gen-Parallel-Workloads CSV (JSSPP'24), e.g. the Helios 15k cut.

Columns: u_id, user, gpu_num, cpu_num, node_num, interval (s since the previous submission),
run_time (s), wall_time (requested limit; 0 = none), new_status. Jobs with ``gpu_num`` 0 are
CPU-only jobs of the GPU cluster; they are kept (they need no devices, start when the policy
lets them). Source: Hu et al., SC'21 (HeliosData, CC BY 4.0).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from suanwang.core.errors import ConfigError
from suanwang.sim.traces.rows import csv_rows, number
from suanwang.sim.workload import Workload

REQUIRED = ("user", "gpu_num", "interval", "run_time")


def load_dirlab(path: str | Path) -> Workload:
    file = str(path)
    submit, runtime, devices, users, req = [], [], [], [], []
    user_ids: dict[str, int] = {}
    t = 0.0
    for line, row in csv_rows(path, REQUIRED):
        t += number(row["interval"], file=file, line=line, field="interval")
        submit.append(t)
        runtime.append(max(number(row["run_time"], file=file, line=line, field="run_time"), 0.0))
        devices.append(int(number(row["gpu_num"], file=file, line=line, field="gpu_num",
                                  integer=True)))
        user = row["user"].strip()
        if not user:
            raise ConfigError("empty user", file=file, line=line, field="user")
        users.append(user_ids.setdefault(user, len(user_ids)))
        wall = row.get("wall_time") or "0"
        req.append(number(wall, file=file, line=line, field="wall_time"))
    if not submit:
        raise ConfigError("no jobs in the trace (only a header?)", file=file)
    requested = np.asarray(req, dtype=float)
    return Workload(
        name=Path(path).name, submit_s=np.asarray(submit, dtype=float),
        runtime_s=np.asarray(runtime, dtype=float),
        num_devices=np.asarray(devices, dtype=np.int64),
        user=np.asarray(users, dtype=np.int64), users=list(user_ids),
        requested_s=requested if requested.any() else None)
