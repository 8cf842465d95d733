"""Priority classes with checkpoint-aware preemption.

Jobs go by (priority desc, submission). A job that cannot start may preempt running jobs of
LOWER priority on one pool. Victims are chosen to waste the least: the cost of stopping a job is
the work it would lose (:func:`suanwang.sched.state.preempted_s`: one final checkpoint save for
a job that checkpoints on the signal, else its work since its last periodic checkpoint, so such
a job that just checkpointed is cheap to stop) plus its restart cost, times its devices; jobs
already restarted fewer times go first,
so the same job is not preempted again and again; victims not needed are dropped again. The
pool needing the cheapest set of victims wins; a job that has run less than ``min_run_s`` is
never a victim (no thrashing). A preempted job returns to the queue at its original submission
position and later resumes from its checkpoint, paying its restart cost. Without a feasible
preemption the job gets an EASY reservation as in :mod:`suanwang.sched.backfill`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from suanwang.sched.backfill import BackfillPass
from suanwang.sched.decisions import Decision, Preempt
from suanwang.sched.placement import slowest_usable_speed
from suanwang.sched.state import (
    ClusterState,
    JobView,
    Queue,
    RunningView,
    allowed,
    node_fits,
    preempted_s,
    shift_node,
)


def preemption_cost_device_s(state: ClusterState, run: RunningView, now_s: float) -> float:
    """Device-seconds wasted by stopping ``run`` now: computed work it does not keep (the same
    definition the simulator uses: :func:`suanwang.sched.state.preempted_s`, its final
    checkpoint's save time for a job that checkpoints on the signal, else its work since the
    last periodic checkpoint; time after the run's staging/restart overhead) plus the restart
    it will pay."""
    job = run.job
    held = max(now_s - run.start_s, 0.0)
    worked, saved = preempted_s(job, held, state.overhead_s(job, run.pool))
    return (worked - saved + job.restart_cost_s) * job.num_devices


def _node_victims(per_node: list[int] | None, cands: list[tuple[int, int, float, int, int]],
                  need: int, per: int, running) -> list[tuple[int, int, float, int, int]] | None:
    """The victims (taken greedily from ``cands``, then the unneeded dropped, costliest first)
    whose nodes, freed, let a gang of ``need`` fit (:func:`node_fits`) on a pool whose nodes
    have ``per_node`` free devices; None if none do. Candidates without ``nodes`` are skipped."""
    if per_node is None:
        return None
    free = list(per_node)
    counts = [0] * (per + 1)
    for f in free:
        counts[f] += 1

    def move(jid: int, sign: int) -> None:
        for node, take in running[jid].nodes:
            shift_node(counts, free, node, sign * take)

    chosen = []
    for cand in cands:
        if not running[cand[3]].nodes:
            continue
        move(cand[3], 1)
        chosen.append(cand)
        if node_fits(counts, need, per):
            break
    else:
        return None
    for cand in sorted(chosen, key=lambda c: (-c[2], c[3])):
        move(cand[3], -1)
        if node_fits(counts, need, per):
            chosen.remove(cand)
        else:
            move(cand[3], 1)
    return chosen


def choose_victims(state: ClusterState, job: JobView, free: list[int], now_s: float, *,
                   taken: set[int], min_run_s: float, same_class: bool = False,
                   fresh_only: bool = False, graceful_only: bool = False,
                   node_view: Callable[[int], list[int] | None] | None = None,
                   ) -> tuple[int, list[int]] | None:
    """The (pool, victim ids) freeing room for ``job`` at least cost, or None.

    Victims are preemptible running jobs of a lower class (``same_class``: of the job's own
    class or lower) that ran at least ``min_run_s`` (``fresh_only``: and were never interrupted
    before, ``restarts == 0``; ``graceful_only``: and checkpoint on the preemption signal,
    ``preempt_save_s`` set, so stopping them loses one save). Per pool, candidates are taken
    greedily (lowest priority, fewest restarts, cheapest first) until the gang fits; then
    victims that are not needed are dropped again, costliest first, so no job is stopped
    without need. Only pools the placement rule
    could start ``job`` on are tried (speed > 0 and at least
    :func:`~suanwang.sched.placement.slowest_usable_speed`, as ``choose_pool``).
    ``node_view`` (node-aware states): a pool's free devices per node, or None where
    preempting cannot be planned; the gang must then fit by nodes
    (:func:`~suanwang.sched.state.node_fits`) on what the victims' ``RunningView.nodes`` free.
    """
    best = None
    need = job.num_devices
    top = job.priority + 1 if same_class else job.priority
    by_pool: dict[int, list[tuple[int, int, float, int, int]]] = {}
    for jid, run in state.running.items():
        v = run.job
        if (jid in taken or not v.preemptible or v.priority >= top
                or now_s - run.start_s < min_run_s or (fresh_only and v.restarts)
                or (graceful_only and v.preempt_save_s is None)):
            continue
        by_pool.setdefault(run.pool, []).append(
            (v.priority, v.restarts, preemption_cost_device_s(state, run, now_s), jid,
             v.num_devices))
    slowest_ok = slowest_usable_speed(state, job) if by_pool else 0.0
    for pool_idx, cands in sorted(by_pool.items()):
        pool = state.pools[pool_idx]
        speed = state.speed(job, pool_idx)
        if (pool.devices < need or not allowed(job, pool) or speed <= 0
                or speed < slowest_ok):
            continue
        cands.sort()
        if node_view is not None:
            picked = _node_victims(node_view(pool_idx), cands, need, pool.devices_per_node,
                                   state.running)
            if picked is not None:
                cost = sum(c[2] for c in picked)
                if best is None or cost < best[0]:
                    best = (cost, pool_idx, [c[3] for c in picked])
            continue
        have, chosen = free[pool_idx], []
        for cand in cands:
            if have >= need:
                break
            have += cand[4]
            chosen.append(cand)
        if have < need:
            continue
        for cand in sorted(chosen, key=lambda c: (-c[2], c[3])):
            if have - cand[4] >= need:
                have -= cand[4]
                chosen.remove(cand)
        cost = sum(c[2] for c in chosen)
        if best is None or cost < best[0]:
            best = (cost, pool_idx, [c[3] for c in chosen])
    return None if best is None else (best[1], best[2])


def lowest_running_priority(state: ClusterState) -> int | None:
    """The lowest priority among running preemptible jobs (None if there are none)."""
    if state.running_priorities is not None:
        return min(state.running_priorities, default=None)
    return min((r.job.priority for r in state.running.values() if r.job.preemptible),
               default=None)


def try_preempt(bf: BackfillPass, job: JobView, *, min_run_s: float,
                out: list[Decision], same_class: bool = False, fresh_only: bool = False,
                graceful_only: bool = False, nodes: bool = False) -> bool:
    """Preempt lower-priority jobs to start ``job`` now, if some pool allows; True if started.
    ``same_class``, ``fresh_only`` and ``graceful_only`` widen/narrow the victims
    (:func:`choose_victims`).
    ``nodes``: on a node-aware state, plan by nodes where the pass knows them exactly
    (:meth:`BackfillPass.node_view`: the state has ``node_devices`` and the pool has no start
    in this pass yet); without it, node-aware states are not handled.

    Appends the Preempt decisions to ``out``; the victims' devices count as free in the pass
    and they are excluded from later reservations (``bf.taken``); the start is recorded with
    its predicted end (``bf.started``), so a later reservation in the same pass is right. A
    preemption that would delay a reservation made earlier in the pass is not made.
    Where it returns False the job waits for its reservation.
    """
    node_view = None
    if bf.state.node_free is not None:
        if not nodes or bf.state.node_devices is None:
            return False
        node_view = bf.node_view
    plan = choose_victims(bf.state, job, bf.free, bf.now_s, taken=bf.taken,
                          min_run_s=min_run_s, same_class=same_class, fresh_only=fresh_only,
                          graceful_only=graceful_only, node_view=node_view)
    if plan is None:
        return False
    pool, victims = plan
    state, now_s = bf.state, bf.now_s
    est_s = state.estimate_s(job)
    end_s = now_s + state.run_s(job, pool, est_s)
    extras = []
    for res in bf.reservations:
        if res[0] != pool:
            continue
        # Victims expected to run past the shadow time give their devices back to it; the
        # new job takes its devices from it if it runs past the shadow time.
        gain = sum(state.running[jid].job.num_devices for jid in victims
                   if state.expected_end_s(state.running[jid], now_s) > res[1])
        extra = res[2] + gain - (job.num_devices if end_s > res[1] else 0)
        if extra < 0:
            return False  # would delay a reservation made earlier in this pass
        extras.append((res, extra))
    for res, extra in extras:
        res[2] = extra
    for jid in victims:
        out.append(Preempt(jid))
        bf.release(state.running[jid].job, pool, state.running[jid].nodes)
    bf.start(job, pool, est_s)
    return True


def preemptive_backfill(state: ClusterState, ordered: Iterable[JobView], now_s: float, *,
                        min_run_s: float, cost_weight_s: float = 0.0,
                        preempts: bool = True) -> list[Decision]:
    """The pass shared by ``priority`` and ``suanwang``: jobs in the given order start where
    they fit (EASY backfilling around the first that does not); a blocked job may first preempt
    lower-priority running jobs. Returns the Preempts, then the Starts."""
    bf = BackfillPass(state, now_s, cost_weight_s=cost_weight_s)
    return backfill_in_order(bf, ordered, min_run_s=min_run_s, preempts=preempts)


def backfill_in_order(bf: BackfillPass, ordered: Iterable[JobView], *, min_run_s: float,
                      preempts: bool = True) -> list[Decision]:
    """:func:`preemptive_backfill` on a pass the caller made (and may inspect while ``ordered``
    is consumed, e.g. to skip what cannot start)."""
    state = bf.state
    preempted: list[Decision] = []
    lowest: int | None = None
    lowest_known = False
    for job in ordered:
        if job.num_devices > bf.total_free and bf.reservations:
            continue
        if bf.consider(job, reserve=False):
            continue
        if preempts:
            if not lowest_known:
                lowest, lowest_known = lowest_running_priority(state), True  # O(running)
            if lowest is not None and lowest < job.priority and try_preempt(
                    bf, job, min_run_s=min_run_s, out=preempted):
                continue
        bf.reserve(job)
    return preempted + bf.decisions


@dataclass(frozen=True, slots=True)
class PriorityPreemptive:
    """Priority order, EASY backfilling, checkpoint-aware preemption of lower classes."""

    name: str = "priority"
    preempts: bool = True
    min_run_s: float = 600.0

    def decide(self, state: ClusterState, queue: Queue, now_s: float) -> list[Decision]:
        order = sorted(queue, key=lambda j: (-j.priority, j.submit_s, j.job_id))
        return preemptive_backfill(state, order, now_s, min_run_s=self.min_run_s)
