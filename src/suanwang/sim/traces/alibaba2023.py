"""Alibaba PAI GPU cluster trace 2023 (Weng et al., ATC'23; alibaba/clusterdata gpu-v2023).

Pods: name, cpu_milli, memory_mib, num_gpu, gpu_milli (share of one GPU, 1000 = whole),
gpu_spec (allowed GPU models, ``|``-separated; empty = any), qos, pod_phase, creation_time,
deletion_time, scheduled_time (seconds). Mapping to jobs:

* submit = creation_time; run time = deletion_time - scheduled_time (pods still Running at the
  end of the trace are censored there); never-scheduled (Pending) pods are skipped.
* devices = num_gpu; a GPU-sharing pod (gpu_milli < 1000) takes one whole device here (we
  schedule whole devices), which over-states its demand.
* the GPU-type constraint becomes the job's allowed accelerators; the trace has no users, so
  the QoS class stands in for user and tenant (for the history estimator and fair share).

Nodes (``alibaba2023_gpu_nodes.csv``: sn, cpu_milli, memory_mib, gpu, model) load as one pool
per (model, GPUs per node); their models are not in the catalog, so every pool has speed 1.0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from suanwang.core.errors import ConfigError
from suanwang.sched.state import PoolView
from suanwang.sim.cluster import SimCluster
from suanwang.sim.traces.rows import csv_rows, number
from suanwang.sim.workload import Workload

REQUIRED = ("name", "num_gpu", "gpu_milli", "gpu_spec", "qos", "creation_time",
            "deletion_time", "scheduled_time")


def load_alibaba2023(path: str | Path) -> Workload:
    file = str(path)
    submit, runtime, devices, user = [], [], [], []
    cons_idx: list[int] = []
    constraints: dict[frozenset[str], int] = {}
    users: dict[str, int] = {}
    skipped = shared = 0
    for line, row in csv_rows(path, REQUIRED):
        created = number(row["creation_time"], file=file, line=line, field="creation_time")
        sched_raw = row["scheduled_time"].strip()
        if not sched_raw:
            skipped += 1
            continue
        scheduled = number(sched_raw, file=file, line=line, field="scheduled_time")
        deleted = number(row["deletion_time"], file=file, line=line, field="deletion_time")
        if deleted < scheduled:
            raise ConfigError(f"deletion_time {deleted:g} is before scheduled_time "
                              f"{scheduled:g}", file=file, line=line, field="deletion_time")
        n = int(number(row["num_gpu"], file=file, line=line, field="num_gpu", integer=True))
        milli = number(row["gpu_milli"], file=file, line=line, field="gpu_milli")
        if n == 1 and 0 < milli < 1000:
            shared += 1
        submit.append(created)
        runtime.append(max(deleted - scheduled, 1.0))
        devices.append(n)
        qos = row["qos"].strip() or "default"
        user.append(users.setdefault(qos, len(users)))
        spec = frozenset(s.strip() for s in row["gpu_spec"].split("|") if s.strip())
        cons_idx.append(constraints.setdefault(spec, len(constraints)) if spec else -1)
    if not submit:
        raise ConfigError("no scheduled pods in the trace", file=file)
    u = np.asarray(user, dtype=np.int64)
    return Workload(
        name=Path(path).name, submit_s=np.asarray(submit, dtype=float),
        runtime_s=np.asarray(runtime, dtype=float), num_devices=np.asarray(devices, np.int64),
        user=u, users=list(users), tenant=u, tenants=list(users),
        constraint=np.asarray(cons_idx, dtype=np.int64), constraints=list(constraints),
        notes=[f"{skipped} never-scheduled pods skipped",
               f"{shared} GPU-sharing pods rounded up to one whole device"])


def load_alibaba_nodes(path: str | Path) -> SimCluster:
    """The trace's GPU nodes as pools, one per (GPU model, GPUs per node)."""
    file = str(path)
    counts: dict[tuple[str, int], int] = {}
    for line, row in csv_rows(path, ("gpu", "model")):
        gpus = int(number(row["gpu"], file=file, line=line, field="gpu", integer=True))
        model = row["model"].strip()
        if not model:
            raise ConfigError("empty GPU model", file=file, line=line, field="model")
        if gpus > 0:
            counts[(model, gpus)] = counts.get((model, gpus), 0) + 1
    if not counts:
        raise ConfigError("no GPU nodes in the file", file=file)
    pools = [PoolView(name=f"alibaba/{m}x{g}", center="alibaba", accelerator=m,
                      devices=nodes * g, devices_per_node=g)
             for (m, g), nodes in sorted(counts.items())]
    return SimCluster(name=Path(path).name, pools=pools)
