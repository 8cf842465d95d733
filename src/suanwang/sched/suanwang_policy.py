"""``suanwang``: the default policy — shortest predicted device-time first, and a protected
EASY reservation for any job that has waited longer than a patience bound, so short jobs win on
the mean and no job waits without bound.

1. Higher ``priority`` classes first; a blocked job may preempt running jobs of a LOWER class,
   checkpoint-aware (:mod:`suanwang.sched.priority`).
2. **Shortest first.** Within a class, jobs are ordered by predicted remaining device-time
   ``e x n`` (run time x devices): Helios QSSF (Hu et al., SC'21 §5) and Smith's rule (weighted
   shortest processing time) for mean completion time; they start where they fit. The first
   that does not fit gets the EASY reservation and later ones backfill around it
   (:class:`~suanwang.sched.backfill.BackfillPass`). Response-ratio aging (Brinch Hansen 1971):
   the key is divided by ``1 + wait / (aging_factor x e)``, so it halves after a job waited
   ``aging_factor`` times its own predicted length.
3. **The anchor (no starvation).** Aging alone never lifts a large job over a stream of small
   ones (its device-time key is hundreds of times larger). So once the longest-waiting job
   (highest class first) has waited ``patience_s``, it is considered before everyone else: it
   starts if it fits, else it holds the one EASY reservation (shadow time on the pool where it
   can start soonest), and no other job may start if, by its prediction, it would delay that
   reservation (Lifka 1995; Mu'alem & Feitelson, TPDS 2001). Jobs become the anchor oldest
   first, so a job waits at most ``patience_s`` + the waits of the anchors before it + its own
   drain (the bound tested in ``tests/unit/sched/test_starvation.py``). This is the age factor
   of Slurm's multifactor priority saturating at ``PriorityMaxAge`` (default 7 days), made a
   hard reservation instead of a weight.
4. **Predictions gated by measured skill.** Below ``min_skill`` (the estimator's forecast skill,
   :attr:`UserHistoryEstimator.skill`), jobs without a planner prediction go in arrival order
   (plain EASY). Above it, the prediction is blended geometrically with the know-nothing
   baseline (geometric mean of completed runs) by the skill ``s``:
   ``log e = s log(pred) + (1 - s) log(baseline)``, so a half-skilled predictor moves the order
   half way. Planner predictions carried on the job (``JobView.estimate_s``) are used as is.
5. Placement: fastest/cheapest pool that fits, WAN-aware (:func:`choose_pool`).

Parameters and why they have these values: docs/scheduling.md ("the suanwang rule").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from suanwang.sched.decisions import Decision
from suanwang.sched.priority import preemptive_backfill
from suanwang.sched.state import ClusterState, JobView, Queue

DAY_S = 86400.0


def blended_estimate(state: ClusterState, job: JobView, skill: float,
                     baseline_s: float | None) -> float:
    """Remaining run time (speed-1.0 s) used for ORDERING: :meth:`ClusterState.estimate_s`,
    pulled geometrically towards ``baseline_s`` by ``1 - skill`` for jobs without a planner
    prediction (formula in the module docstring)."""
    e = state.estimate_s(job)
    if job.estimate_s is not None or baseline_s is None or skill >= 1.0:
        return e
    base = max(baseline_s - job.done_s, 1.0)
    return math.exp(skill * math.log(e) + (1.0 - skill) * math.log(base))


@dataclass(frozen=True, slots=True)
class SuanwangPolicy:
    """Shortest predicted device-time first (skill-gated predictions, response-ratio aging),
    a protected EASY reservation for the longest-waiting job once it waited ``patience_s``,
    checkpoint-aware preemption of lower priority classes (rule and sources: module docstring).
    """

    name: str = "suanwang"
    aging_factor: float = 10.0
    patience_s: float = 6 * DAY_S
    min_skill: float = 0.25
    cost_weight_s: float = 0.0
    preempts: bool = True
    min_run_s: float = 600.0

    def order(self, state: ClusterState, queue: Queue, now_s: float) -> list[JobView]:
        """The queue in the order this policy considers it (see the module docstring)."""
        est = state.estimator
        skill = min(max(float(getattr(est, "skill", 1.0)), 0.0), 1.0)
        trusted = skill >= self.min_skill
        baseline = getattr(est, "baseline_s", None)
        base_s = baseline() if callable(baseline) and trusted else None
        k = self.aging_factor
        keyed = []
        anchor = None
        for job in queue:
            wait = max(now_s - job.submit_s, 0.0)
            if trusted or job.estimate_s is not None:
                e = blended_estimate(state, job, skill, base_s)
                item = (-job.priority, 0, e * (job.num_devices or 1) * e / (e + wait / k),
                        job.job_id, job)
            else:
                item = (-job.priority, 1, job.submit_s, job.job_id, job)
            keyed.append(item)
            if wait >= self.patience_s and (anchor is None or (
                    -job.priority, job.submit_s, job.job_id) < anchor[0]):
                anchor = ((-job.priority, job.submit_s, job.job_id), job)
        keyed.sort(key=lambda item: item[:4])
        if anchor is None:
            return [item[4] for item in keyed]
        head = anchor[1]
        return [head, *(item[4] for item in keyed if item[4] is not head)]

    def decide(self, state: ClusterState, queue: Queue, now_s: float) -> list[Decision]:
        return preemptive_backfill(state, self.order(state, queue, now_s), now_s,
                                   min_run_s=self.min_run_s, cost_weight_s=self.cost_weight_s,
                                   preempts=self.preempts)
