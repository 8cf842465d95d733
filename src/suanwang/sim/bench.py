"""``suanwang bench sim``: how fast the simulator replays a large federation.

Two cases (each reports jobs/s, events/s and the mean and peak queue length, so it is clear
which one was measured):

* **idle queue** (default; target 1,000,000 jobs over 100,000 GPUs in <= 60 s): the demo
  federation's accelerator pools scaled to the size, synthetic LLM jobs
  (:func:`suanwang.sim.traces.synthetic.synthetic_llm`) at 0.9 offered load *counted in
  reference-device (A100) seconds* — on the faster pools the real load is lower, so the queue
  stays almost empty and every policy call is cheap.
* **contended** (``contended=True``; target 100,000 jobs over 10,000 GPUs in <= 60 s): the same
  pools, offered load >= 1.1 of the *speed-weighted* capacity (sum of devices x speed), so the
  queue grows; node-aware placement, failures drawn from the reliability model, the
  ``suanwang`` policy by default. This is where a simulator is needed.
"""

from __future__ import annotations

import time

from suanwang.core.errors import ConfigError
from suanwang.sched.registry import get_policy
from suanwang.sim.cluster import SimCluster, load_cluster, scaled_accelerator_pools
from suanwang.sim.engine import SimOptions, simulate
from suanwang.sim.traces.synthetic import synthetic_llm
from suanwang.sim.workload import Workload

TARGET_WALL_S = 60.0


def bench_case(*, jobs: int, gpus: int, load: float, seed: int, contended: bool,
               sched_interval_s: float = 0.0) -> tuple[Workload, SimCluster, SimOptions]:
    """The workload, cluster and options of one bench case (see the module docstring); the
    options are built (and so checked) first, before the workload is generated."""
    opts = SimOptions(seed=seed, node_aware=contended, failures=contended,
                      sched_interval_s=sched_interval_s)
    cluster = scaled_accelerator_pools(load_cluster(None), gpus)
    capacity = (sum(p.devices * p.speed for p in cluster.pools) if contended
                else cluster.devices)
    workload = synthetic_llm(jobs, max(int(capacity), 1), load=load, seed=seed,
                             max_size=max(p.devices for p in cluster.pools))
    return workload, cluster, opts


def bench_sim(*, jobs: int = 1_000_000, gpus: int = 100_000, policy: str = "suanwang",
              load: float = 0.9, seed: int = 0, sched_interval_s: float = 0.0,
              contended: bool = False, progress=None) -> dict:
    """Run one case; returns the JSON fields (``case``, ``jobs``, ``gpus``, ``wall_s``,
    ``jobs_per_s``, ``events_per_s``, ``mean_queue_len``, ``peak_queue_len``, ...).

    Raises ConfigError (field ``load``) when ``contended`` and ``load`` < 1.1.
    """
    if contended and load < 1.1:
        raise ConfigError(f"the contended case needs offered load >= 1.1 (got {load:g})",
                          field="load")
    t0 = time.perf_counter()
    c0 = time.process_time()
    workload, cluster, opts = bench_case(jobs=jobs, gpus=gpus, load=load, seed=seed,
                                         contended=contended, sched_interval_s=sched_interval_s)
    gen_s = time.perf_counter() - t0
    opts.progress = progress
    opts.progress_every = 50_000
    result = simulate(workload, cluster, get_policy(policy), opts)
    wall_s = time.perf_counter() - t0
    cpu_s = time.process_time() - c0
    sim_s = result.wall_s
    return {
        "case": "contended" if contended else "idle-queue", "jobs": jobs,
        "gpus": cluster.devices, "policy": policy, "load": load,
        "load_basis": "speed-weighted devices" if contended else "reference-device seconds",
        "node_aware": contended, "failures": contended,
        "sched_interval_s": sched_interval_s, "wall_s": wall_s, "cpu_s": cpu_s,
        "simulate_s": sim_s, "generate_s": gen_s, "events": result.events,
        "jobs_per_s": jobs / sim_s if sim_s else 0.0,
        "events_per_s": result.events / sim_s if sim_s else 0.0,
        "mean_queue_len": result.mean_queue_len, "peak_queue_len": result.peak_queue_len,
        "finished": result.finished, "rejected": result.rejected,
        "mean_jct_s": result.mean_jct_s, "p99_wait_s": result.p99_wait_s,
        "utilization": result.utilization, "failures_drawn": result.failures,
        "target_wall_s": TARGET_WALL_S, "meets_target": wall_s <= TARGET_WALL_S,
    }
