"""Simulated failures: exponential inter-failure times at the reliability model's job rate.

Checkpoint interval: every run uses the reliability model's failure-aware interval for its gang
on its pool (:func:`suanwang.reliability.interval.checkpoint_interval_s`, Daly's optimum for the
job MTBF = 1 / the rate below and the workload's checkpoint stall), whether or not failures
are drawn: one interval everywhere (plan, sim, runtime), never a fixed constant.

A job of N devices on a pool fails at rate ``k · (N / M_device + ⌈N/d⌉ / M_node)``
(:func:`suanwang.reliability.rates.job_failure_rate_per_s`, per-device and per-node MTBFs from the
catalog's failure rates, cited in ../shared/data/failure_stats.md), with k the center's and
pool's failure-rate multiplier. Draws come from one seeded ``numpy`` generator.
"""

from __future__ import annotations

import numpy as np

from suanwang.catalog.failure_rates import get_failure_rate
from suanwang.reliability.interval import checkpoint_interval_s
from suanwang.reliability.rates import job_failure_rate_per_s
from suanwang.sim.cluster import SimCluster


class FailureModel:
    """Draws a job's time to its next failure on a pool; deterministic for a given seed."""

    def __init__(self, cluster: SimCluster, *, seed: int = 0) -> None:
        self._rng = np.random.default_rng(seed)
        self._pools = cluster.pools
        self._rates = [get_failure_rate(p.accelerator) for p in cluster.pools]
        self._mult = cluster.failure_multipliers or [1.0] * len(cluster.pools)
        self._cache: dict[tuple[int, int], float] = {}
        self._intervals: dict[tuple[int, int, float], float] = {}

    def rate_per_s(self, pool: int, devices: int) -> float:
        key = (pool, devices)
        r = self._cache.get(key)
        if r is None:
            fr = self._rates[pool]
            r = job_failure_rate_per_s(device_mtbf_s=fr.device_mtbf_s,
                                       node_mtbf_s=fr.node_mtbf_s, devices=devices,
                                       devices_per_node=self._pools[pool].devices_per_node,
                                       multiplier=self._mult[pool])
            self._cache[key] = r
        return r

    def checkpoint_interval_s(self, pool: int, devices: int, stall_s: float) -> float:
        """Failure-aware checkpoint interval (s of compute) of a ``devices`` gang on ``pool``
        whose checkpoints stall ``stall_s`` seconds: Daly's optimum for the job MTBF
        1 / :meth:`rate_per_s` (J. T. Daly, FGCS 2006; :mod:`suanwang.reliability.interval`).
        Gangs of 0 devices (CPU-only trace jobs) are charged as one device."""
        key = (pool, devices, stall_s)
        tau = self._intervals.get(key)
        if tau is None:
            tau = checkpoint_interval_s(stall_s=stall_s,
                                        job_mtbf_s=1.0 / self.rate_per_s(pool, max(devices, 1)))
            self._intervals[key] = tau
        return tau

    def time_to_failure_s(self, pool: int, devices: int) -> float:
        return float(self._rng.exponential(1.0 / self.rate_per_s(pool, devices)))
