"""Monte-Carlo check of the analytic goodput model, event by event, vectorised over runs.

Simulates exactly the model of :mod:`renewal` (failures during compute, stalls, persists and
restarts; rollback to the last *durable* checkpoint; an async save durable ``persist_s`` after
its stall; the run ends when the last checkpoint is durable), but by tracking each run's clock,
progress and in-flight save rather than through the renewal algebra, so agreement is a real test
of that algebra. Randomness comes only from the ``rng`` argument.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from suanwang.core.errors import ConfigError
from suanwang.reliability import inputs

_COMPUTE, _STALL, _FINAL, _RESTART, _DONE = 0, 1, 2, 3, 4


@dataclass(frozen=True, kw_only=True)
class MonteCarloResult:
    """Sample statistics over ``runs`` simulated runs of ``segments`` × ``interval_s`` compute."""

    runs: int
    segments: int
    compute_time_s: float
    mean_time_s: float
    stderr_time_s: float
    ettr: float
    mean_failures: float
    mean_interruptions: float

    def to_dict(self) -> dict:
        return asdict(self)


def simulate(*, rng: np.random.Generator, segments: int, interval_s: float, job_mtbf_s: float,
             stall_s: float, persist_s: float = 0.0, restart_s: float, runs: int = 2000,
             max_events: int = 10_000_000) -> MonteCarloResult:
    """Simulate ``runs`` independent runs; ETTR = compute / mean wall time (the analytic
    definition: W / E[T], not the mean of per-run ratios)."""
    if segments < 1 or runs < 1:
        raise ConfigError("must be >= 1", field="segments" if segments < 1 else "runs")
    tau = inputs.positive(interval_s, "interval_s")
    m = inputs.positive(job_mtbf_s, "job_mtbf_s")
    d = inputs.non_negative(stall_s, "stall_s")
    tp = inputs.non_negative(persist_s, "persist_s")
    r = inputs.non_negative(restart_s, "restart_s")
    if segments > 1 and tau < tp:
        raise ConfigError("interval must be >= persist time", field="interval_s")

    inf = np.inf
    t = np.zeros(runs)
    mode = np.full(runs, _COMPUTE)
    seg = np.zeros(runs, dtype=np.int64)  # segment being computed (= checkpoints taken)
    prog = np.zeros(runs)  # compute done in the current segment
    durable = np.zeros(runs, dtype=np.int64)
    pend_at = np.full(runs, inf)  # wall time the in-flight save becomes durable
    pend_seg = np.zeros(runs, dtype=np.int64)
    phase_end = np.full(runs, inf)  # end of the current stall or restart
    fail_t = rng.exponential(m, runs)
    failures = np.zeros(runs, dtype=np.int64)
    interruptions = np.zeros(runs, dtype=np.int64)

    for _ in range(max_events):
        live = mode != _DONE
        if not live.any():
            break
        comp = mode == _COMPUTE
        ce = np.where(comp, t + (tau - prog), inf)  # compute end
        pe = np.where(comp | (mode == _FINAL), pend_at, inf)  # persist end
        det = np.minimum(np.minimum(ce, pe), np.where((mode == _STALL) | (mode == _RESTART),
                                                      phase_end, inf))
        det = np.where(live, det, inf)
        fail = live & (fail_t < det)
        ev = live & ~fail

        # failures: roll back to the last durable checkpoint and (re)start the restart
        failures += fail
        interruptions += fail & (mode != _RESTART)
        t = np.where(fail, fail_t, t)
        mode = np.where(fail, _RESTART, mode)
        phase_end = np.where(fail, t + r, phase_end)
        seg = np.where(fail, durable, seg)
        prog = np.where(fail, 0.0, prog)
        pend_at = np.where(fail, inf, pend_at)
        nf = int(fail.sum())
        if nf:
            fail_t[fail] = t[fail] + rng.exponential(m, nf)

        # deterministic events at time det
        persist_done = ev & (pe <= det)
        compute_done = ev & comp & (ce <= det)
        stall_done = ev & (mode == _STALL)
        restart_done = ev & (mode == _RESTART)
        prog = np.where(ev & comp, prog + (det - t), prog)
        t = np.where(ev, det, t)
        durable = np.where(persist_done, pend_seg, durable)
        pend_at = np.where(persist_done, inf, pend_at)
        mode = np.where(persist_done & (mode == _FINAL), _DONE, mode)
        mode = np.where(compute_done, _STALL, mode)
        phase_end = np.where(compute_done, t + d, phase_end)
        prog = np.where(compute_done, 0.0, prog)
        # a stall ends: the save is durable now (sync) or after tp (async)
        seg = np.where(stall_done, seg + 1, seg)
        if tp > 0:
            pend_seg = np.where(stall_done, seg, pend_seg)
            pend_at = np.where(stall_done, t + tp, pend_at)
            last = _FINAL
        else:
            durable = np.where(stall_done, seg, durable)
            last = _DONE
        mode = np.where(stall_done, np.where(seg >= segments, last, _COMPUTE), mode)
        mode = np.where(restart_done, _COMPUTE, mode)
    else:
        raise AssertionError("Monte-Carlo did not finish within max_events")

    w = segments * tau
    mean = float(t.mean())
    return MonteCarloResult(
        runs=runs, segments=segments, compute_time_s=w, mean_time_s=mean,
        stderr_time_s=float(t.std(ddof=1) / np.sqrt(runs)) if runs > 1 else 0.0,
        ettr=w / mean, mean_failures=float(failures.mean()),
        mean_interruptions=float(interruptions.mean()),
    )
