"""Where a job should run: heterogeneity-, cost- and WAN-aware choice among pools that fit.

No performance model lives here: a job's speed on a pool is :meth:`ClusterState.speed` — the
injected ``throughput`` function (the planner's ``plan.throughput.tokens_per_s``) for jobs that
name their model, else the pool's ``speed``, which the driver also takes from the planner
(:func:`suanwang.sim.cluster.pool_speed`).
"""

from __future__ import annotations

from collections.abc import Sequence

from suanwang.sched.state import ClusterState, JobView, allowed, staging_s

__all__ = ["MAX_SLOWDOWN", "choose_pool", "slowest_usable_speed", "staging_s"]


MAX_SLOWDOWN = 4.0
"""A job never starts on a pool more than this many times slower than the fastest pool it may
use: waiting for a fast pool beats crawling on a CPU partition (assumption, see docs)."""


def slowest_usable_speed(state: ClusterState, job: JobView) -> float:
    """The lowest speed of a pool ``job`` may start on: the fastest pool that can ever host
    its gang (and that its accelerator constraint allows) divided by :data:`MAX_SLOWDOWN`."""
    n = job.num_devices
    if job.accelerators is None and (job.model is None or state.throughput is None):
        fastest = state.fastest_speed(n)
    else:
        fastest = max((state.speed(job, i) for i, p in enumerate(state.pools)
                       if p.devices >= n and allowed(job, p)), default=0.0)
    return fastest / MAX_SLOWDOWN


def choose_pool(state: ClusterState, job: JobView, free: Sequence[int], *,
                cost_weight_s: float = 0.0, est_s: float | None = None) -> int | None:
    """The pool index where ``job`` should start now, or None if none has room.

    Score (lower is better): the predicted run :meth:`ClusterState.run_s` (WAN staging,
    restart cost when resuming, remaining estimate / speed), plus ``cost_weight_s`` seconds
    per unit of predicted cost (device-hours x price). Ties go to the pool with the lower
    operator ``weight`` (Slurm's node ``Weight``: rare types kept for the jobs constrained to
    them), then to the pool left with fewer free devices (best fit, less fragmentation).
    """
    n = job.num_devices
    pools = state.pools
    if len(pools) == 1:
        ok = free[0] >= n and allowed(job, pools[0]) and state.speed(job, 0) > 0
        return 0 if ok else None
    accs = job.accelerators
    per_job = job.model is not None and state.throughput is not None
    slowest_ok = slowest_usable_speed(state, job)
    best, best_score, best_weight, best_left = None, 0.0, 0.0, 0
    for i, left in enumerate(free):
        left -= n
        if left < 0:
            continue
        pool = pools[i]
        speed = state.speed(job, i) if per_job else pool.speed
        if speed <= 0 or speed < slowest_ok or (accs is not None and pool.accelerator not in accs):
            continue
        if est_s is None:
            est_s = state.estimate_s(job)
        score = state.run_s(job, i, est_s)
        if cost_weight_s:
            score += cost_weight_s * n * score / 3600.0 * pool.price_per_device_hour
        if best is None or score < best_score - 1e-9 or (
                abs(score - best_score) <= 1e-9 and (pool.weight, left) < (best_weight, best_left)):
            best, best_score, best_weight, best_left = i, score, pool.weight, left
    return best
