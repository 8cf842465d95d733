"""Expected effective training time (ETTR), lost work, failures and time to train.

ETTR = useful compute time / expected wall-clock time (the definition of Llama 3 §3.3.4 and
Meta HPCA'25). Expected times come from the exact renewal model of :mod:`renewal` (Daly 2006's
segment expression, extended to async saves), not from the first-order waste
δ/τ + (τ/2 + R)/M, so they stay right when the MTBF is short; :mod:`montecarlo` checks them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from suanwang.core.errors import ConfigError
from suanwang.reliability import inputs, interval, renewal


@dataclass(frozen=True, kw_only=True)
class GoodputEstimate:
    """Expected outcome of a checkpointed run. Times in seconds.

    ``time_to_train_s`` = ``compute_time_s + checkpoint_s + restart_s_total + lost_work_s_total``.
    ``expected_failures`` counts every failure (including those during restarts):
    λ · E[T] exactly (Wald). ``expected_interruptions`` counts failures that interrupted work;
    ``expected_lost_work_s`` is the wall time redone per interruption (compute and stalls since
    the last durable checkpoint).
    """

    compute_time_s: float
    job_mtbf_s: float
    stall_s: float
    persist_s: float
    restart_s: float
    interval_s: float
    segments: int
    young_interval_s: float
    daly_interval_s: float
    time_to_train_s: float
    ettr: float
    expected_failures: float
    expected_interruptions: float
    expected_lost_work_s: float
    checkpoint_s_total: float
    restart_s_total: float
    lost_work_s_total: float

    @property
    def waste_fractions(self) -> dict[str, float]:
        """Shares of wall time: checkpoint stalls, restarts, lost work (sum = 1 − ETTR)."""
        t = self.time_to_train_s
        return {"checkpoint": self.checkpoint_s_total / t, "restart": self.restart_s_total / t,
                "lost_work": self.lost_work_s_total / t}

    def to_dict(self) -> dict:
        return {**asdict(self), "waste_fractions": self.waste_fractions}


def _validate(job_mtbf_s: float, stall_s: float, persist_s: float, restart_s: float):
    m = inputs.positive(job_mtbf_s, "job_mtbf_s")
    d = inputs.positive(stall_s, "stall_s")
    tp = inputs.non_negative(persist_s, "persist_s")
    r = inputs.non_negative(restart_s, "restart_s")
    inputs.stall_below_mtbf(d, m)
    return m, d, tp, r


def assess(*, compute_time_s: float, job_mtbf_s: float, stall_s: float, persist_s: float = 0.0,
           restart_s: float, interval_s: float | None = None,
           method: str = "daly") -> GoodputEstimate:
    """Expected time to train ``compute_time_s`` of failure-free compute.

    ``stall_s`` is the blocking time per checkpoint (sync: the whole write; async: staging only);
    ``persist_s`` the background time until an async save is durable (0 for sync). The interval
    is ``interval_s`` when given, else :func:`interval.checkpoint_interval_s` (``method``), and
    is then stretched so the work splits into whole segments (τ = W / ⌊W / τ_target⌋ ≥ τ_target).
    """
    w = inputs.positive(compute_time_s, "compute_time_s")
    m, d, tp, r = _validate(job_mtbf_s, stall_s, persist_s, restart_s)
    target = _interval(interval_s, (m, d, tp, r), method)
    n = max(1, math.floor(w / target))
    tau = w / n
    if n > 1:
        _check_persist(tau, tp)
    c = renewal.segment_costs(interval_s=tau, mtbf_s=m, stall_s=d, persist_s=tp, restart_s=r)
    return _estimate(compute_s=w, inputs_=(m, d, tp, r), tau=tau, segments=n,
                     total=c.first_s + (n - 1) * c.steady_s,
                     interruptions=c.first_interruptions + (n - 1) * c.steady_interruptions,
                     ckpt=n * d + tp, restart_each_s=c.restart_each_s)


def _interval(interval_s: float | None, inputs_: tuple[float, float, float, float],
              method: str) -> float:
    """The interval the user gave (validated), else the one ``method`` chooses."""
    if interval_s is not None:
        return inputs.positive(interval_s, "interval_s")
    m, d, tp, r = inputs_
    return interval.checkpoint_interval_s(stall_s=d, job_mtbf_s=m, persist_s=tp, restart_s=r,
                                          method=method)


def _check_persist(tau: float, persist_s: float) -> None:
    if tau < persist_s:
        raise ConfigError(f"interval {tau:g} s is shorter than the persist time {persist_s:g} s;"
                          " an async save must finish before the next one starts: use an "
                          "interval >= the persist time", field="interval_s")


def _estimate(*, compute_s: float, inputs_: tuple[float, float, float, float], tau: float,
              segments: int, total: float, interruptions: float, ckpt: float,
              restart_each_s: float) -> GoodputEstimate:
    """Assemble a GoodputEstimate; lost work is what remains of the wall time after compute,
    checkpoint stalls and restarts."""
    m, d, tp, r = inputs_
    rst = interruptions * restart_each_s
    lost = total - compute_s - ckpt - rst
    return GoodputEstimate(
        compute_time_s=compute_s, job_mtbf_s=m, stall_s=d, persist_s=tp, restart_s=r,
        interval_s=tau, segments=segments,
        young_interval_s=interval.young_interval_s(stall_s=d, job_mtbf_s=m),
        daly_interval_s=interval.daly_interval_s(stall_s=d, job_mtbf_s=m),
        time_to_train_s=total, ettr=compute_s / total, expected_failures=total / m,
        expected_interruptions=interruptions,
        expected_lost_work_s=lost / interruptions if interruptions > 0 else 0.0,
        checkpoint_s_total=ckpt, restart_s_total=rst, lost_work_s_total=lost,
    )


def steady_state(*, job_mtbf_s: float, stall_s: float, persist_s: float = 0.0,
                 restart_s: float, interval_s: float | None = None,
                 method: str = "daly") -> GoodputEstimate:
    """Long-run rates of an endless run (no start/end effects), as a GoodputEstimate per
    checkpoint: ``compute_time_s`` = τ, ``time_to_train_s`` = E_B, ``segments`` = 1.

    ETTR = τ / E_B; per-failure figures as in :func:`assess`.
    """
    m, d, tp, r = _validate(job_mtbf_s, stall_s, persist_s, restart_s)
    tau = _interval(interval_s, (m, d, tp, r), method)
    if interval_s is not None:
        _check_persist(tau, tp)
    c = renewal.segment_costs(interval_s=tau, mtbf_s=m, stall_s=d, persist_s=tp, restart_s=r)
    return _estimate(compute_s=tau, inputs_=(m, d, tp, r), tau=tau, segments=1,
                     total=c.steady_s, interruptions=c.steady_interruptions, ckpt=d,
                     restart_each_s=c.restart_each_s)


def _bisect_max(f, lo: float, hi: float, target: float) -> float | None:
    """Largest x in [lo, hi] with f(x) >= target for decreasing f (log-scale bisection)."""
    if f(lo) < target:
        return None
    if f(hi) >= target:
        return hi
    a, b = math.log(lo), math.log(hi)
    for _ in range(100):
        mid = (a + b) / 2.0
        if f(math.exp(mid)) >= target:
            a = mid
        else:
            b = mid
    return math.exp(a)


def max_restart_s(*, target_ettr: float, job_mtbf_s: float, stall_s: float,
                  persist_s: float = 0.0, method: str = "daly") -> float | None:
    """Longest restart time R that still gives steady-state ETTR ≥ ``target_ettr``
    (None when even R → 0 cannot reach it)."""
    def ettr(r: float) -> float:
        return steady_state(job_mtbf_s=job_mtbf_s, stall_s=stall_s, persist_s=persist_s,
                            restart_s=r, method=method).ettr

    m = inputs.positive(job_mtbf_s, "job_mtbf_s")
    return _bisect_max(ettr, 1e-6, 10.0 * m, target_ettr)


def max_stall_s(*, target_ettr: float, job_mtbf_s: float, restart_s: float,
                persist_s: float = 0.0, method: str = "daly") -> float | None:
    """Longest blocking stall δ that still gives steady-state ETTR ≥ ``target_ettr``, the
    interval re-chosen for each δ (None when even δ → 0 cannot reach it)."""
    def ettr(d: float) -> float:
        return steady_state(job_mtbf_s=job_mtbf_s, stall_s=d, persist_s=persist_s,
                            restart_s=restart_s, method=method).ettr

    m = inputs.positive(job_mtbf_s, "job_mtbf_s")
    return _bisect_max(ettr, 1e-6, 0.999 * m, target_ettr)
