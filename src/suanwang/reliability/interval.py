"""Checkpoint interval: Young (1974), Daly (2006), the async constraint, and a numeric optimum.

Notation: δ = blocking checkpoint stall, M = job MTBF, T_p = background persist time of an async
save, τ = compute time between checkpoints.
"""

from __future__ import annotations

import math

from suanwang.core.errors import ConfigError
from suanwang.reliability import inputs, renewal

METHODS = ("young", "daly", "optimal")


def young_interval_s(*, stall_s: float, job_mtbf_s: float) -> float:
    """Young's first-order optimum τ = √(2 δ M) (J. W. Young, CACM 17(9), 1974)."""
    d = inputs.positive(stall_s, "stall_s")
    m = inputs.positive(job_mtbf_s, "job_mtbf_s")
    return math.sqrt(2.0 * d * m)


def daly_interval_s(*, stall_s: float, job_mtbf_s: float) -> float:
    """Daly's higher-order optimum (J. T. Daly, FGCS 22(3), 2006, eq. 37):

    τ = √(2δM) · [1 + ⅓·√(δ/2M) + (1/9)·(δ/2M)] − δ for δ < 2M, else τ = M.

    Reproduces Daly's examples (R = 10 min, δ = 5 min): M = 24 h → 116.7 min, 6 h → 56.7 min,
    15 min → 9.14 min. The restart time does not enter the optimum.
    """
    d = inputs.positive(stall_s, "stall_s")
    m = inputs.positive(job_mtbf_s, "job_mtbf_s")
    if d >= 2.0 * m:
        return m
    x = d / (2.0 * m)
    return math.sqrt(2.0 * d * m) * (1.0 + math.sqrt(x) / 3.0 + x / 9.0) - d


def optimal_interval_s(*, stall_s: float, job_mtbf_s: float, persist_s: float = 0.0,
                       restart_s: float = 0.0) -> float:
    """τ ≥ T_p minimising the exact steady-state expected time per unit of work
    (:func:`renewal.segment_costs` ``steady_s / τ``), by golden-section search in log τ.

    Used to check how close Daly's closed form is; the planner uses Daly by default.
    """
    d = inputs.positive(stall_s, "stall_s")
    m = inputs.positive(job_mtbf_s, "job_mtbf_s")
    tp = inputs.non_negative(persist_s, "persist_s")
    r = inputs.non_negative(restart_s, "restart_s")

    def cost(log_tau: float) -> float:
        tau = math.exp(log_tau)
        return renewal.segment_costs(interval_s=tau, mtbf_s=m, stall_s=d, persist_s=tp,
                                     restart_s=r).steady_s / tau

    lo = math.log(max(tp, 1e-3 * min(d, m), 1e-9))
    hi = math.log(max(4.0 * m, tp * 1.0001))
    g = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    c1, c2 = b - g * (b - a), a + g * (b - a)
    f1, f2 = cost(c1), cost(c2)
    for _ in range(200):
        if b - a < 1e-10:
            break
        if f1 < f2:
            b, c2, f2 = c2, c1, f1
            c1 = b - g * (b - a)
            f1 = cost(c1)
        else:
            a, c1, f1 = c1, c2, f2
            c2 = a + g * (b - a)
            f2 = cost(c2)
    return math.exp((a + b) / 2.0)


def checkpoint_interval_s(*, stall_s: float, job_mtbf_s: float, persist_s: float = 0.0,
                          restart_s: float = 0.0, method: str = "daly") -> float:
    """The interval to use: ``method``'s optimum, at least the persist time T_p.

    With async saves the next checkpoint cannot start before the previous one is persisted
    (one staging buffer), so τ = max(τ_method, T_p) (failure_stats.md §3, note 6).
    """
    if method not in METHODS:
        raise ConfigError(f"unknown interval method '{method}'; use one of {', '.join(METHODS)}",
                          field="method")
    tp = inputs.non_negative(persist_s, "persist_s")
    if method == "young":
        tau = young_interval_s(stall_s=stall_s, job_mtbf_s=job_mtbf_s)
    elif method == "daly":
        tau = daly_interval_s(stall_s=stall_s, job_mtbf_s=job_mtbf_s)
    else:
        return optimal_interval_s(stall_s=stall_s, job_mtbf_s=job_mtbf_s, persist_s=tp,
                                  restart_s=restart_s)
    return max(tau, tp)
