"""Job failure rate and MTBF from per-device and per-node rates (catalog data with sources).

A job holding N devices on n nodes fails at rate λ = k · (N / M_device + n / M_node), failures of
independent units adding (failure_stats.md §3 item 4: M_job ≈ M_unit / N; Meta fits job MTTF
inversely proportional to GPU count). k is the failure-rate multiplier of the center times that
of the pool (``Center.failure_rate_multiplier``, ``NodePool.failure_rate_multiplier``).
"""

from __future__ import annotations

import math

from suanwang.catalog.failure_rates import FailureRate, get_failure_rate
from suanwang.core.errors import ConfigError
from suanwang.core.federation import Center
from suanwang.core.hardware import NodePool
from suanwang.reliability import inputs


def job_failure_rate_per_s(*, device_mtbf_s: float, node_mtbf_s: float, devices: int,
                           devices_per_node: int, multiplier: float = 1.0) -> float:
    """Failures per second of a job: ``k · (N / M_device + ⌈N / d⌉ / M_node)``."""
    md = inputs.positive(device_mtbf_s, "device_mtbf_s")
    mn = float(node_mtbf_s)
    if not mn > 0:
        raise ConfigError(f"must be > 0 (got {node_mtbf_s!r})", field="node_mtbf_s")
    if devices < 1:
        raise ConfigError(f"must be >= 1 (got {devices})", field="devices")
    if devices_per_node < 1:
        raise ConfigError(f"must be >= 1 (got {devices_per_node})", field="devices_per_node")
    k = inputs.positive(multiplier, "failure_rate_multiplier")
    nodes = math.ceil(devices / devices_per_node)
    return k * (devices / md + nodes / mn)


def job_mtbf_from_rate(rate: FailureRate, *, devices: int, devices_per_node: int,
                       multiplier: float = 1.0) -> float:
    """Job MTBF in seconds for a catalog :class:`FailureRate`."""
    return 1.0 / job_failure_rate_per_s(device_mtbf_s=rate.device_mtbf_s,
                                        node_mtbf_s=rate.node_mtbf_s, devices=devices,
                                        devices_per_node=devices_per_node, multiplier=multiplier)


def job_mtbf_s(accelerator_name: str, devices: int, devices_per_node: int,
               multiplier: float = 1.0) -> float:
    """Job MTBF in seconds of ``devices`` accelerators of ``accelerator_name`` in nodes of
    ``devices_per_node``, rates from ``catalog/data/failure_rates.yaml`` (default class for
    accelerators it does not name). Llama-3-like: H100-SXM, 16,384 devices, 8 per node → 3.09 h.
    """
    return job_mtbf_from_rate(get_failure_rate(accelerator_name), devices=devices,
                              devices_per_node=devices_per_node, multiplier=multiplier)


def multiplier_for(center: Center, pool: NodePool | None = None) -> float:
    """Combined failure-rate multiplier of a center and (optionally) one of its pools."""
    k = center.failure_rate_multiplier * (pool.failure_rate_multiplier if pool else 1.0)
    return inputs.positive(k, "failure_rate_multiplier")
