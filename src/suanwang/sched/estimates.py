"""Run-time estimates for the scheduler: honest online predictors, never a job's true duration.

* :class:`UserHistoryEstimator` (trace jobs): the mean run time of the user's completed jobs of
  the same gang size, else of any size, else the geometric mean of every completion so far, else
  ``default_s``. A completion is known only when the driver reports it through :meth:`observe`
  (after the job ends). Users resubmit similar jobs, so their history predicts the next one
  (Helios QSSF, Hu et al., SC'21 §5; Tsafrir et al., "Backfilling using system-generated
  predictions rather than user runtime estimates", TPDS 2007). The mean (not the median) is
  deliberate: it ranks users with heavy-tailed histories behind users whose jobs are reliably
  short, which is what shortest-first ordering needs.
* :class:`suanwang.sched.state.FixedEstimator` (training jobs): the planner's prediction carried
  on the job (``JobView.estimate_s``).

The driver (simulator or control loop) owns the estimator and feeds it; policies only read it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from suanwang.sched.state import JobView


@dataclass(slots=True, kw_only=True)
class UserHistoryEstimator:
    """Running per-user (and per user and gang size) mean of completed run times (speed-1.0 s).

    ``version`` counts the completions observed: predictions, skill and baseline change only
    when it does (policies may memoize on it)."""

    default_s: float = 3600.0
    _key_sum: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    _user_sum: dict[str, list[float]] = field(default_factory=dict)
    _mean_key: dict[tuple[str, int], float] = field(default_factory=dict)
    _mean_user: dict[str, float] = field(default_factory=dict)
    _log_sum: float = 0.0
    _sum: float = 0.0
    _count: int = 0
    _err_model: float = 0.0
    _err_naive: float = 0.0
    min_samples: int = 50
    version: int = 0

    @property
    def skill(self) -> float:
        """How much better than a know-nothing predictor this one has proven, in [0, 1].

        Forecast skill score 1 - E|log(pred/actual)| / E|log(naive/actual)|, where naive is the
        mean of all completions so far (the same statistic without per-user knowledge),
        measured on each completion just before it is recorded. 0 until ``min_samples``
        completions: an unproven predictor is not trusted.
        """
        if self._count < self.min_samples or self._err_naive <= 0:
            return 0.0
        return min(max(1.0 - self._err_model / self._err_naive, 0.0), 1.0)

    def observe(self, job: JobView, runtime_s: float) -> None:
        """Record a completed job's total run time (on a speed-1.0 device)."""
        runtime_s = max(float(runtime_s), 1.0)
        if self._count:
            log_rt = math.log(runtime_s)
            self._err_model += abs(math.log(self.predict_s(job)) - log_rt)
            self._err_naive += abs(math.log(self._sum / self._count) - log_rt)
        for sums, means, k in ((self._key_sum, self._mean_key, (job.user, job.num_devices)),
                               (self._user_sum, self._mean_user, job.user)):
            acc = sums.get(k)
            if acc is None:
                acc = sums[k] = [0.0, 0]
            acc[0] += runtime_s
            acc[1] += 1
            means[k] = acc[0] / acc[1]
        self._log_sum += math.log(runtime_s)
        self._sum += runtime_s
        self._count += 1
        self.version += 1

    def baseline_s(self) -> float:
        """The know-nothing prediction: geometric mean of every completion so far (else
        ``default_s``); what policies fall back to in proportion to ``1 - skill``."""
        return math.exp(self._log_sum / self._count) if self._count else self.default_s

    def predict_s(self, job: JobView) -> float:
        est = self._mean_key.get((job.user, job.num_devices))
        if est is not None:
            return est
        est = self._mean_user.get(job.user)
        if est is not None:
            return est
        if self._count:
            return math.exp(self._log_sum / self._count)
        return self.default_s
