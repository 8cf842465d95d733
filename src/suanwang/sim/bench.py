"""``suanwang bench sim``: replay synthetic LLM jobs over a large federation, report speed.

Target: 1,000,000 jobs over a 100,000-GPU federation in <= 60 s on 2 cores. The federation is
the demo federation's accelerator pools scaled to the requested size; the workload is
:func:`suanwang.sim.traces.synthetic.synthetic_llm` at 90% offered load.
"""

from __future__ import annotations

import time

from suanwang.sched.registry import get_policy
from suanwang.sim.cluster import load_cluster, scaled_accelerator_pools
from suanwang.sim.engine import SimOptions, simulate
from suanwang.sim.traces.synthetic import synthetic_llm


def bench_sim(*, jobs: int = 1_000_000, gpus: int = 100_000, policy: str = "fifo",
              load: float = 0.9, seed: int = 0, sched_interval_s: float = 0.0,
              progress=None) -> dict:
    """Run the benchmark; returns the JSON fields (``jobs``, ``gpus``, ``wall_s``, ...)."""
    t0 = time.perf_counter()
    c0 = time.process_time()
    cluster = scaled_accelerator_pools(load_cluster(None), gpus)
    workload = synthetic_llm(jobs, cluster.devices, load=load, seed=seed,
                             max_size=max(p.devices for p in cluster.pools))
    gen_s = time.perf_counter() - t0
    result = simulate(workload, cluster, get_policy(policy),
                      SimOptions(seed=seed, progress=progress, progress_every=50_000,
                                 sched_interval_s=sched_interval_s))
    wall_s = time.perf_counter() - t0
    cpu_s = time.process_time() - c0
    return {
        "jobs": jobs, "gpus": cluster.devices, "policy": policy, "load": load,
        "sched_interval_s": sched_interval_s, "wall_s": wall_s, "cpu_s": cpu_s,
        "simulate_s": result.wall_s, "generate_s": gen_s, "events": result.events,
        "events_per_s": result.events / result.wall_s if result.wall_s else 0.0,
        "finished": result.finished, "rejected": result.rejected, "mean_jct_s": result.mean_jct_s,
        "utilization": result.utilization, "target_wall_s": 60.0,
        "meets_target": wall_s <= 60.0,
    }
