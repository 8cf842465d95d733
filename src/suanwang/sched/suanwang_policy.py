"""``suanwang``: the default policy — shortest predicted device-time first, a protected EASY
reservation for a job that has waited longer than a patience bound, and an overdue guard that
starts a planned job within a bound by preemption, so short jobs win on the mean and no job
waits for its first start without bound (a preempted job's wait to resume has no bound of its
own: it climbs the order by age).

1. Higher ``priority`` classes first; a blocked job may preempt running jobs of a LOWER class
   (pooled states only), checkpoint-aware (:mod:`suanwang.sched.priority`).
2. **Shortest first.** Within a class, jobs are ordered by predicted remaining device-time
   ``e x n`` (run time x devices): Helios QSSF (Hu et al., SC'21 §5) and Smith's rule (weighted
   shortest processing time) for mean completion time; they start where they fit. The first
   that does not fit gets the EASY reservation and later ones backfill around it
   (:class:`~suanwang.sched.backfill.BackfillPass`). Response-ratio aging (Brinch Hansen 1971):
   the key is divided by ``1 + wait / (aging_factor x e)``, so it halves after a job waited
   ``aging_factor`` times its own predicted length. Exponential age: the key is also
   multiplied by ``2 ** (-wait / age_half_life_s)``; in log space that is an additive age term
   (the linear age factor of Slurm's multifactor priority, here against log device-time), so a
   job overtakes one with a key twice as small for every ``age_half_life_s`` it waited longer,
   which lifts large jobs over short ones gradually instead of only at ``patience_s``.
3. **The anchor (no starvation).** Aging alone lifts a large job over a stream of small ones
   only after ``age_half_life_s x log2(key ratio)`` (weeks: its device-time key is hundreds of
   times larger), with no bound that holds under every load. So once the longest-waiting job
   never interrupted (earliest submission, any class) has waited ``patience_s``, it is
   considered before everyone else: it
   starts if it fits, else it holds the one EASY reservation (shadow time on the pool where it
   can start soonest), and no other job may start if, by its prediction, it would delay that
   reservation (Lifka 1995; Mu'alem & Feitelson, TPDS 2001). Jobs become the anchor oldest
   first, so a job waits at most ``patience_s`` + the waits of the anchors before it + its own
   drain (the bound tested in ``tests/unit/sched/test_starvation.py``). This is the age factor
   of Slurm's multifactor priority saturating at ``PriorityMaxAge`` (default 7 days), made a
   hard reservation instead of a weight.
4. **The overdue guard.** A never-started job whose length is predicted (a planner
   prediction, ``JobView.estimate_s``, or any job while the history estimator's skill is at
   least ``min_skill``) that has waited ``preempt_after_s``, if it checkpoints on a
   preemption signal (``JobView.preempt_save_s``; else: a planner prediction that has waited
   ``lossy_preempt_after_s``, the rule measured where victims lose work), is tried just
   before the pass
   reaches its class (after higher classes and the anchor, so they keep their reservation):
   it starts where it fits, else by checkpoint-aware preemption of never-interrupted running
   jobs of its own or a lower class (:func:`~suanwang.sched.priority.try_preempt` with
   ``same_class`` and ``fresh_only``; by nodes on node-aware states), else it takes the pass's
   reservation if none is held; ``guard_batch`` such jobs per pass, oldest first. A victim
   that checkpoints on the signal (``JobView.preempt_save_s``) loses one save and a restart.
   Not for history predictions without skill (there the order is arrival order and the
   guard's preemptions cost mean JCT; measurements in docs/scheduling.md).
5. **Predictions gated by measured skill.** Below ``min_skill`` (the estimator's forecast skill,
   :attr:`UserHistoryEstimator.skill`), jobs without a planner prediction go in arrival order
   (plain EASY). Above it, the prediction is blended geometrically with the know-nothing
   baseline (geometric mean of completed runs) by the skill ``s``:
   ``log e = s log(pred) + (1 - s) log(baseline)``, so a half-skilled predictor moves the order
   half way. Planner predictions carried on the job (``JobView.estimate_s``) are used as is.
6. Placement: fastest/cheapest pool that fits, WAN-aware (:func:`choose_pool`).

Parameters and why they have these values: docs/scheduling.md ("the suanwang rule").
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain

from suanwang.sched.backfill import BackfillPass
from suanwang.sched.decisions import Decision
from suanwang.sched.ordered_queue import OrderedQueue, kinds_of
from suanwang.sched.placement import MAX_SLOWDOWN
from suanwang.sched.priority import backfill_in_order, try_preempt
from suanwang.sched.running_index import RunningIndex
from suanwang.sched.state import ClusterState, JobView, Queue, node_fits

DAY_S = 86400.0
SHORT_QUEUE = 32
"""Queues up to this length are sorted afresh on each call (cheaper than the memo)."""


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
    """Shortest predicted device-time first (skill-gated predictions, response-ratio aging
    and exponential age with half-life ``age_half_life_s``; 0 = off),
    a protected EASY reservation for the longest-waiting job once it waited ``patience_s``,
    the overdue guard (``preempt_after_s`` seconds for jobs that checkpoint on a preemption
    signal, ``lossy_preempt_after_s`` for planned jobs that do not; ``guard_batch`` jobs per
    pass; ``preempt_after_s`` inf or ``guard_batch`` 0 = off), checkpoint-aware preemption
    of lower priority classes (rule and sources: module docstring). All times in seconds.

    ``reorder_period_s``: the aging term is evaluated at the start of the current period
    (``floor(now / period) x period``), as Slurm recomputes priorities every
    ``PriorityCalcPeriod`` (default 5 min); between those instants (and estimator updates)
    the order is kept and updated incrementally from the driver's queue feed (0 = exact now).
    """

    name: str = "suanwang"
    aging_factor: float = 10.0
    patience_s: float = 6 * DAY_S
    age_half_life_s: float = 4 * DAY_S
    min_skill: float = 0.25
    cost_weight_s: float = 0.0
    preempts: bool = True
    min_run_s: float = 600.0
    reorder_period_s: float = 300.0
    preempt_after_s: float = 0.5 * DAY_S
    lossy_preempt_after_s: float = 2 * DAY_S
    guard_batch: int = 4
    _memo: OrderedQueue = field(default_factory=OrderedQueue, compare=False, repr=False)
    _running: RunningIndex = field(default_factory=RunningIndex, compare=False, repr=False)

    def _skill(self, state: ClusterState) -> float:
        """The estimator's measured forecast skill, clipped to [0, 1] (1 if it reports none)."""
        return min(max(float(getattr(state.estimator, "skill", 1.0)), 0.0), 1.0)

    def _keyer(self, state: ClusterState, now_s: float):
        """(epoch, item function): the sort item of a job at this call's aging instant."""
        est = state.estimator
        skill = self._skill(state)
        trusted = skill >= self.min_skill
        baseline = getattr(est, "baseline_s", None)
        base_s = baseline() if callable(baseline) and trusted else None
        period = self.reorder_period_s
        t = math.floor(now_s / period) * period if period > 0 else now_s
        k = self.aging_factor
        half = self.age_half_life_s

        def item(job: JobView) -> tuple:
            if trusted or job.estimate_s is not None:
                e = blended_estimate(state, job, skill, base_s)
                wait = max(t - job.submit_s, 0.0)
                age = 2.0 ** (-wait / half) if half > 0 else 1.0
                return (-job.priority, 0, e * (job.num_devices or 1) * e / (e + wait / k) * age,
                        job.job_id, id(job), job)
            return (-job.priority, 1, job.submit_s, job.job_id, id(job), job)

        return (t, id(est), getattr(est, "version", 0), skill, base_s), item

    @property
    def preempts_same_class(self) -> bool:
        """Whether the overdue guard may preempt jobs of a queued job's own class
        (:class:`~suanwang.sched.policy.Policy`)."""
        return self.preempts and self.guard_batch > 0 and math.isfinite(self.preempt_after_s)

    def _anchor(self, job: JobView | None, now_s: float) -> JobView | None:
        return job if job is not None and now_s - job.submit_s >= self.patience_s else None

    def _guard_sets(self, trusted: bool) -> tuple[tuple[str, float], ...]:
        """The overdue guard's candidates (rule 4 of the module docstring) as (kind of
        never-started job, :data:`~suanwang.sched.ordered_queue.KINDS`, wait bound): jobs that
        checkpoint on a preemption signal (preemption is cheap where they run) and are
        predicted (any, when history predictions are ``trusted``: skill >= ``min_skill``;
        else planned) after ``preempt_after_s``; planned jobs that do not, after
        ``lossy_preempt_after_s``."""
        return (("graceful" if trusted else "graceful_planned", self.preempt_after_s),
                ("lossy_planned", self.lossy_preempt_after_s))

    def _overdue(self, job: JobView, now_s: float, trusted: bool) -> bool:
        """Whether the overdue guard tries to start ``job`` now (:meth:`_guard_sets`)."""
        kinds = kinds_of(job) if not job.restarts else ()
        return any(kind in kinds and now_s - job.submit_s >= bound
                   for kind, bound in self._guard_sets(trusted))

    def _guarding(self, state: ClusterState) -> bool:
        """The guard may act on this state (not on a node-aware one without ``node_devices``:
        there it cannot plan preemptions by nodes)."""
        return self.preempts_same_class and (
            state.node_free is None or state.node_devices is not None)

    def _fresh(self, state: ClusterState, queue: Queue, now_s: float
               ) -> tuple[JobView | None, list[JobView], list[JobView]]:
        """(anchor, the rest in order, the overdue jobs the guard tries), by a fresh sort."""
        _, item = self._keyer(state, now_s)
        keyed = sorted(item(job) for job in queue)
        first = min((j for j in queue if j.restarts == 0),
                    key=lambda j: (j.submit_s, j.job_id), default=None)
        head = self._anchor(first, now_s)
        rest = [it[-1] for it in keyed if it[-1] is not head]
        due: list[JobView] = []
        if self._guarding(state):
            trusted = self._skill(state) >= self.min_skill
            due = sorted((j for j in queue
                          if j is not head and self._overdue(j, now_s, trusted)),
                         key=lambda j: (j.submit_s, j.job_id))[:self.guard_batch]
        return head, rest, due

    def order(self, state: ClusterState, queue: Queue, now_s: float) -> list[JobView]:
        """The queue in the order this policy considers it (see the module docstring): the
        anchor (the longest-waiting job never interrupted, once it waited ``patience_s``),
        then the rest; a fresh computation (no memo), the reference the incremental path is
        tested against. The overdue guard's jobs are tried at the start of their class."""
        head, rest, _ = self._fresh(state, queue, now_s)
        return rest if head is None else [head, *rest]

    def _start_overdue(self, bf: BackfillPass, job: JobView, out: list[Decision]) -> bool:
        """Rule 4 for one overdue job: start it where it fits, else by preempting running
        jobs of its own or a lower class that were never interrupted; else, if the pass has
        no reservation yet, reserve for it. True if started or reserved (the pass then skips
        it)."""
        # before the lossy bound, only victims that checkpoint on the signal (a save lost):
        # the short bound was measured for that cost, not for losing an interval of work
        cheap = bf.now_s - job.submit_s < self.lossy_preempt_after_s
        if bf.consider(job, reserve=False) or try_preempt(
                bf, job, min_run_s=self.min_run_s, out=out, same_class=True,
                fresh_only=True, graceful_only=cheap, nodes=True):
            return True
        if not bf.reservations:
            bf.reserve(job)
            return True
        return False

    def decide(self, state: ClusterState, queue: Queue, now_s: float) -> list[Decision]:
        index = None
        if state.running_log is not None:
            index = self._running
            index.sync(state, now_s, (id(state.estimator),
                                      getattr(state.estimator, "version", 0)))
        out: list[Decision] = []
        if state.queue_log is None or len(queue) <= SHORT_QUEUE:
            # A short queue: a fresh sort is cheaper than the memo (which catches up later).
            bf = BackfillPass(state, now_s, cost_weight_s=self.cost_weight_s,
                              running_index=index)
            head, rest, due = self._fresh(state, queue, now_s)
            guard = _OverdueGuard(self, bf, due, out)
            ordered = guard.stream(rest)
            if head is not None:
                ordered = chain((head,), ordered)
            decisions = backfill_in_order(bf, ordered, min_run_s=self.min_run_s,
                                          preempts=self.preempts)
            return out + decisions
        epoch, item = self._keyer(state, now_s)
        memo = self._memo
        memo.sync(queue, state.queue_log, epoch, item)
        bf = BackfillPass(state, now_s, cost_weight_s=self.cost_weight_s, running_index=index)
        head = self._anchor(next(memo.by_submission(), None), now_s)
        due = []
        if self._guarding(state):
            # The guard's candidate sets, each a heap in submission order cut at its own
            # bound, merged: reads O(guard_batch) jobs per call.
            def due_by(kind: str, bound: float) -> Iterator[tuple[float, int, JobView]]:
                for job in memo.by_submission(kind):
                    if now_s - job.submit_s < bound:
                        return
                    yield job.submit_s, job.job_id, job

            trusted = self._skill(state) >= self.min_skill
            for _, _, job in heapq.merge(*(due_by(kind, bound)
                                           for kind, bound in self._guard_sets(trusted))):
                if len(due) >= self.guard_batch:
                    break
                if job is not head:
                    due.append(job)
        guard = _OverdueGuard(self, bf, due, out)
        # Whole sizes may be skipped once the reservation is made, if the pass cannot gain
        # devices later (it gains them only by preempting, never on node-aware states).
        prunable = state.node_free is not None or not self.preempts
        pools = state.pools

        fit_cache: dict[int, bool] = {}
        seen = [-1]

        def skip_size(n: int) -> bool:
            if not (prunable and bf.reservations) or guard.pending:
                return False  # (the guard may still gain devices by preempting)
            if n > bf.total_free:
                return True
            if seen[0] != len(bf.decisions):  # free devices changed: recheck fits
                fit_cache.clear()
                seen[0] = len(bf.decisions)
            fits = fit_cache.get(n)
            if fits is None:
                # Generic jobs of this size use only pools within MAX_SLOWDOWN of the fastest
                # (choose_pool); a size with a model/constrained job is checked on all pools.
                special = bool(memo.special.get(n))
                slowest = state.fastest_speed(n) / MAX_SLOWDOWN
                nodes = bf.nodes
                fits = fit_cache[n] = any(
                    f >= n and (special or 0 < slowest <= pools[i].speed) and (
                        nodes is None or node_fits(nodes[i], n, pools[i].devices_per_node))
                    for i, f in enumerate(bf.free))
            return not fits

        ordered = guard.stream(j for j in memo.merged(skip_size) if j is not head)
        if head is not None:
            ordered = chain((head,), ordered)
        decisions = backfill_in_order(bf, ordered, min_run_s=self.min_run_s,
                                      preempts=self.preempts)
        return out + decisions


class _OverdueGuard:
    """One pass's overdue guard (rule 4): the overdue jobs of a class are tried just before the
    pass reaches that class's first job in its order (so higher classes, and the anchor, come
    first and keep their reservation), oldest first within a class; the jobs it started or
    reserved for are then skipped. ``out`` collects its Preempt decisions."""

    __slots__ = ("bf", "due", "handled", "k", "out", "policy")

    def __init__(self, policy: SuanwangPolicy, bf: BackfillPass, due: list[JobView],
                 out: list[Decision]) -> None:
        self.policy, self.bf, self.out = policy, bf, out
        self.due = sorted(due, key=lambda j: (-j.priority, j.submit_s, j.job_id))
        self.k = 0
        self.handled: set[int] = set()

    @property
    def pending(self) -> bool:
        """Overdue jobs not tried yet (the pass may still gain devices by preempting)."""
        return self.k < len(self.due)

    def _run_to(self, priority: float) -> None:
        due = self.due
        while self.k < len(due) and due[self.k].priority >= priority:
            job = due[self.k]
            self.k += 1
            if self.policy._start_overdue(self.bf, job, self.out):
                self.handled.add(job.job_id)

    def stream(self, jobs: Iterable[JobView]) -> Iterator[JobView]:
        """``jobs`` (in the pass's order, classes descending) with the guard run before each
        class and the jobs it handled left out."""
        for job in jobs:
            if self.k < len(self.due):
                self._run_to(job.priority)
            if job.job_id not in self.handled:
                yield job
        self._run_to(-math.inf)
