"""Lower bounds on what any scheduling policy can achieve on a workload (no simulation).

:func:`no_wait_mean_jct_s`: every job's JCT is at least its run time on the fastest pool that
can ever host it (no wait, no staging, no failure): JCT_j >= runtime_j / max_p speed(j, p) over
pools p with enough devices, an allowed accelerator and speed > 0 — the same speed definition the
simulator charges (:meth:`suanwang.sched.state.ClusterState.speed`). Its mean is a lower bound on
the mean JCT of every policy. If it is above ``r`` x EASY backfill's mean JCT, no policy can
reach a mean JCT of ``r`` x EASY's on that workload (e.g. a lightly loaded cluster where EASY
already starts nearly every job at once).
"""

from __future__ import annotations

import math

from suanwang.sched.state import ClusterState, JobView, allowed
from suanwang.sim.cluster import SimCluster
from suanwang.sim.workload import Workload


def no_wait_mean_jct_s(workload: Workload, cluster: SimCluster) -> float:
    """Mean over the jobs some pool can host of runtime / best speed (seconds); NaN when no
    job fits anywhere. Constraints naming only accelerator types the cluster lacks are dropped,
    as the simulator drops them."""
    throughput = None
    if workload.model is not None:
        from suanwang.plan.throughput import tokens_per_s

        throughput = tokens_per_s
    state = ClusterState(pools=cluster.pools, free=[p.devices for p in cluster.pools],
                         running={}, throughput=throughput)
    types = frozenset(p.accelerator for p in cluster.pools)
    n = len(workload)
    cons = workload.constraint.tolist() if workload.constraint is not None else [-1] * n
    models = workload.model.tolist() if workload.model is not None else [-1] * n
    devices = workload.num_devices.tolist()
    best: dict[tuple[int, int, int], float] = {}
    total, count = 0.0, 0
    for i, runtime in enumerate(workload.runtime_s.tolist()):
        key = (devices[i], cons[i], models[i])
        speed = best.get(key)
        if speed is None:
            accs = workload.constraints[cons[i]] if cons[i] >= 0 else None
            if accs is not None and not accs & types:
                accs = None
            job = JobView(job_id=i, user="", tenant="", num_devices=devices[i], submit_s=0.0,
                          accelerators=accs,
                          model=workload.models[models[i]] if models[i] >= 0 else None)
            speed = best[key] = max(
                (state.speed(job, p) for p, pool in enumerate(cluster.pools)
                 if pool.devices >= job.num_devices and allowed(job, pool)), default=0.0)
        if speed > 0:
            total += runtime / speed
            count += 1
    return total / count if count else math.nan
