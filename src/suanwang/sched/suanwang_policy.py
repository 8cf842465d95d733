"""``suanwang``: the default policy — smallest predicted job first with aging, EASY backfilling.

1. Higher ``priority`` classes first; a blocked job may preempt running jobs of a LOWER class,
   checkpoint-aware (:mod:`suanwang.sched.priority`).
2. Within a class, smallest predicted remaining device-time (run time x devices) first: Helios
   QSSF (Hu et al., SC'21 §5) and Smith's rule for mean completion time. Predictions come from
   the state's estimator (per-user history for traces, the planner for training jobs), never
   the true duration.
3. Aging by response ratio (HRRN, Brinch Hansen 1971): the key is divided by
   ``1 + wait / (aging_factor x predicted run time)``, so a job's key halves after it waited
   ``aging_factor`` times its own predicted length. Soft aging: it never turns every old job
   into a FIFO class (which in overload makes everyone wait the bound).
4. Predictions are used only once they have proven themselves: if the estimator's skill score
   (:attr:`UserHistoryEstimator.skill`) is below ``min_skill``, jobs without a planner
   prediction go in arrival order (plain EASY backfilling), so uninformative histories cannot
   make things worse than backfill.
5. Jobs start in that order where they fit (placement: fastest/cheapest pool, WAN-aware); the
   first that does not fit gets the EASY reservation and later jobs backfill around it
   (:func:`suanwang.sched.priority.preemptive_backfill`, shared with ``priority``).
6. Opt-in bounded wait (``starvation_factor`` k > 0; off by default): a job that waited more
   than k x the queue's mean predicted run time goes first (oldest first), so it holds the
   reservation. Measured on Helios it cost more mean JCT than it saved in tail (docs).
"""

from __future__ import annotations

from dataclasses import dataclass

from suanwang.sched.decisions import Decision
from suanwang.sched.priority import preemptive_backfill
from suanwang.sched.state import ClusterState, JobView, Queue


@dataclass(frozen=True, slots=True)
class SuanwangPolicy:
    """Shortest predicted device-time first with response-ratio aging, EASY backfilling,
    checkpoint-aware preemption of lower priority classes; arrival order when predictions have
    not proven themselves (``min_skill``)."""

    name: str = "suanwang"
    aging_factor: float = 10.0
    min_skill: float = 0.25
    cost_weight_s: float = 0.0
    preempts: bool = True
    min_run_s: float = 600.0
    starvation_factor: float = 0.0

    def order(self, state: ClusterState, queue: Queue, now_s: float) -> list[JobView]:
        """The queue in the order this policy considers it (see the module docstring)."""
        trust_history = getattr(state.estimator, "skill", 0.0) >= self.min_skill
        est = state.estimate_s
        k = self.aging_factor
        keyed = []
        total_e = 0.0
        for job in queue:
            if trust_history or job.estimate_s is not None:
                e = est(job)
                total_e += e
                wait = max(now_s - job.submit_s, 0.0)
                key = e * max(job.num_devices, 1) * e / (e + wait / k)
                keyed.append([-job.priority, 0, key, job.job_id, job])
            else:
                keyed.append([-job.priority, 1, job.submit_s, job.job_id, job])
        if self.starvation_factor > 0 and keyed:
            bound = self.starvation_factor * total_e / len(keyed)
            for item in keyed:
                if item[1] == 0 and now_s - item[4].submit_s > bound:
                    item[1], item[2] = -1, item[4].submit_s  # overdue: oldest first
        keyed.sort(key=lambda item: item[:4])
        return [item[4] for item in keyed]

    def decide(self, state: ClusterState, queue: Queue, now_s: float) -> list[Decision]:
        return preemptive_backfill(state, self.order(state, queue, now_s), now_s,
                                   min_run_s=self.min_run_s, cost_weight_s=self.cost_weight_s,
                                   preempts=self.preempts)
