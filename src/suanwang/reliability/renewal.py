"""Exact expected wall time of checkpointed work under exponential failures (renewal model).

The model (shared by :mod:`goodput` and :mod:`montecarlo`, which simulates exactly this):

* Failures form a Poisson process of rate 1/M in wall-clock time (M = job MTBF). They can strike
  at any moment: during compute, during a blocking checkpoint stall, during the background
  persist of an async checkpoint, and during a restart.
* Work is cut into segments of ``interval_s`` (τ) compute, each followed by a blocking stall δ.
  A sync checkpoint is durable when its stall ends. An async checkpoint is durable ``persist_s``
  (T_p) after its stall ends; compute continues meanwhile (τ ≥ T_p, so one save is in flight).
* A failure rolls the job back to its last *durable* checkpoint and costs a restart R (detect +
  reschedule + init + load); a failure during the restart starts the restart over.
* The run ends when the checkpoint of its last segment is durable.

Expected time to get L failure-free seconds when every failure costs a restart R that itself may
fail (Daly 2006, FGCS 22(3), eq. for the expected wall time of one segment):

    A(L) = M · e^{R/M} · (e^{L/M} − 1)

Sync: every segment needs L = τ + δ, so E[T] = n · A(τ + δ) for n segments.
Async: right after a restart (or at the start) a segment needs L_A = τ + δ + T_p failure-free
(its save must become durable). Once a save is durable, the next one needs only L_B = τ + δ more
(T_p of its compute already ran during the previous persist); a failure in that window sends the
job through a restart back to the L_A case. Per durable checkpoint, from the steady state:

    E_B = M(1 − e^{−L_B/M}) + (1 − e^{−L_B/M}) · [M(e^{R/M} − 1) + A(L_A)]

and E[T] = A(L_A) + (n − 1) · E_B. With T_p = 0 both reduce to Daly's A(τ + δ).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from suanwang.core.errors import ConfigError

_MAX_EXPONENT = 600.0  # e^600 ~ 1e260: beyond this the job practically never finishes


def _exp_checked(x: float, what: str) -> None:
    if x > _MAX_EXPONENT:
        raise ConfigError(
            f"{what} is {x:.0f}x the job MTBF: the job would practically never finish; "
            "checkpoint more often, cut the stall or restart time, or use fewer devices",
            field="job_mtbf_s",
        )


def attempt_time_s(length_s: float, mtbf_s: float, restart_s: float) -> float:
    """Expected wall time to complete ``length_s`` failure-free seconds (Daly 2006):
    ``M e^{R/M} (e^{L/M} − 1)``, failures possible during the restarts too."""
    _exp_checked(length_s / mtbf_s, "segment length")
    _exp_checked(restart_s / mtbf_s, "restart time")
    return mtbf_s * math.exp(restart_s / mtbf_s) * math.expm1(length_s / mtbf_s)


def restart_time_s(mtbf_s: float, restart_s: float) -> float:
    """Expected time from a failure until a restart of ``restart_s`` completes, restarts
    repeating when a failure hits them: ``M (e^{R/M} − 1)``."""
    _exp_checked(restart_s / mtbf_s, "restart time")
    return mtbf_s * math.expm1(restart_s / mtbf_s)


@dataclass(frozen=True, kw_only=True)
class SegmentCosts:
    """Expected cost of one durable checkpoint, in the two states of the renewal chain.

    ``first_*``: starting right after a restart (or at job start), length L_A = τ + δ + T_p.
    ``steady_*``: starting when the previous checkpoint just became durable, L_B = τ + δ.
    ``*_s`` is expected wall time, ``*_interruptions`` the expected failures that interrupt work
    (failures during restarts excluded; those are inside the restart term).
    """

    first_s: float
    steady_s: float
    first_interruptions: float
    steady_interruptions: float
    restart_each_s: float


def segment_costs(*, interval_s: float, mtbf_s: float, stall_s: float, persist_s: float,
                  restart_s: float) -> SegmentCosts:
    """Exact per-checkpoint expected costs of the model in this module's docstring."""
    lam = 1.0 / mtbf_s
    len_a = interval_s + stall_s + persist_s
    len_b = interval_s + stall_s
    _exp_checked(len_a * lam, "segment length (interval + stall + persist)")
    first = attempt_time_s(len_a, mtbf_s, restart_s)
    rst = restart_time_s(mtbf_s, restart_s)
    p_fail_b = -math.expm1(-len_b * lam)
    steady = mtbf_s * p_fail_b + p_fail_b * (rst + first)
    first_int = math.expm1(len_a * lam)
    steady_int = p_fail_b * math.exp(len_a * lam)
    return SegmentCosts(first_s=first, steady_s=steady, first_interruptions=first_int,
                        steady_interruptions=steady_int, restart_each_s=rst)


def expected_time_s(*, segments: int, interval_s: float, mtbf_s: float, stall_s: float,
                    persist_s: float, restart_s: float) -> float:
    """Expected wall time of ``segments`` checkpointed segments: ``A(L_A) + (n − 1) E_B``."""
    c = segment_costs(interval_s=interval_s, mtbf_s=mtbf_s, stall_s=stall_s,
                      persist_s=persist_s, restart_s=restart_s)
    return c.first_s + (segments - 1) * c.steady_s
