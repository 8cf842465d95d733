"""Simulated failures: exponential inter-failure times at the reliability model's job rate.

A job of N devices on a pool fails at rate ``k · (N / M_device + ⌈N/d⌉ / M_node)``
(:func:`suanwang.reliability.rates.job_failure_rate_per_s`, per-device and per-node MTBFs from the
catalog's failure rates, cited in ../shared/data/failure_stats.md), with k the center's and
pool's failure-rate multiplier. Draws come from one seeded ``numpy`` generator.
"""

from __future__ import annotations

import numpy as np

from suanwang.catalog.failure_rates import get_failure_rate
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

    def time_to_failure_s(self, pool: int, devices: int) -> float:
        return float(self._rng.exponential(1.0 / self.rate_per_s(pool, devices)))
