"""Compute time: FLOPs at an achievable fraction of peak that grows with the operation's size.

A block of ``F`` FLOPs costs ``(F + F_half) / (peak * e_max)`` seconds, i.e. it runs at
``e_max * F / (F + F_half)`` of peak: a saturating curve (as in roofline-with-overhead models, e.g.
Calculon's per-op efficiency tables, Isaev et al. SC'23) whose two parameters per accelerator are
calibrated on measured runs (``catalog/data/efficiency.yaml``). Memory-bound element-wise work
is charged at ``hbm_fraction`` of HBM bandwidth. All functions accept floats or numpy arrays.
"""

from __future__ import annotations

from suanwang.core.efficiency import EfficiencyProfile


def gemm_efficiency(flops, prof: EfficiencyProfile):
    """Fraction of dense peak reached by a matmul block of ``flops`` FLOPs on one device."""
    return prof.gemm_max_fraction * flops / (flops + prof.gemm_half_flops)


def gemm_time_s(flops, peak_flops_per_s: float, prof: EfficiencyProfile):
    """Seconds for one matmul block of ``flops`` FLOPs (per device)."""
    return (flops + prof.gemm_half_flops) / (peak_flops_per_s * prof.gemm_max_fraction)


def elementwise_time_s(tokens, hidden_per_device, hbm_bytes_per_s: float,
                       prof: EfficiencyProfile):
    """Seconds of memory-bound element-wise work of one layer's forward for ``tokens`` tokens
    whose hidden vectors are ``hidden_per_device`` wide on this device."""
    traffic = tokens * hidden_per_device * prof.elementwise_bytes_per_token_hidden
    return traffic / (hbm_bytes_per_s * prof.hbm_fraction)
