"""Priority classes with checkpoint-aware preemption.

Jobs go by (priority desc, submission). A job that cannot start may preempt running jobs of
LOWER priority on one pool. Victims are chosen to waste the least: the cost of stopping a job is
the work it would lose since its last checkpoint plus its restart cost, times its devices
(a job that just checkpointed is cheap to stop); jobs already restarted fewer times go first,
so the same job is not preempted again and again. The pool needing the cheapest set of victims
wins; a job that has run less than ``min_run_s`` is never a victim (no thrashing). A preempted
job returns to the queue at its original submission position and later resumes from its
checkpoint, paying its restart cost. Without a feasible preemption the job gets an EASY
reservation as in :mod:`suanwang.sched.backfill`.
"""

from __future__ import annotations

from dataclasses import dataclass

from suanwang.sched.backfill import BackfillPass
from suanwang.sched.decisions import Decision, Preempt, Start
from suanwang.sched.state import ClusterState, JobView, Queue, RunningView, allowed


def preemption_cost_device_s(run: RunningView, now_s: float) -> float:
    """Device-seconds wasted by stopping ``run`` now: work since its last checkpoint + restart."""
    job = run.job
    elapsed = max(now_s - run.start_s, 0.0)
    c = job.checkpoint_interval_s
    lost = elapsed % c if c > 0 else elapsed
    return (lost + job.restart_cost_s) * job.num_devices


def choose_victims(state: ClusterState, job: JobView, free: list[int], now_s: float, *,
                   taken: set[int], min_run_s: float) -> tuple[int, list[int]] | None:
    """The (pool, victim ids) freeing room for ``job`` at least cost, or None."""
    best = None
    by_pool: dict[int, list[tuple[int, float, int, int]]] = {}
    for jid, run in state.running.items():
        v = run.job
        if (jid in taken or not v.preemptible or v.priority >= job.priority
                or now_s - run.start_s < min_run_s):
            continue
        by_pool.setdefault(run.pool, []).append(
            (v.priority, v.restarts, preemption_cost_device_s(run, now_s), jid, v.num_devices))
    for pool_idx, cands in by_pool.items():
        pool = state.pools[pool_idx]
        if pool.devices < job.num_devices or not allowed(job, pool):
            continue
        cands.sort()
        have, cost, chosen = free[pool_idx], 0.0, []
        for _, _, c, jid, n in cands:
            if have >= job.num_devices:
                break
            have += n
            cost += c
            chosen.append(jid)
        if have >= job.num_devices and (best is None or cost < best[0]):
            best = (cost, pool_idx, chosen)
    return None if best is None else (best[1], best[2])


def lowest_running_priority(state: ClusterState) -> int | None:
    """The lowest priority among running preemptible jobs (None if there are none)."""
    return min((r.job.priority for r in state.running.values() if r.job.preemptible),
               default=None)


def try_preempt(bf: BackfillPass, job: JobView, *, taken: set[int], min_run_s: float,
                out: list[Decision]) -> bool:
    """Preempt lower-priority jobs to start ``job`` now, if some pool allows; True if started.

    Appends the Preempt decisions to ``out`` and the Start to the pass's decisions.
    """
    plan = choose_victims(bf.state, job, bf.free, bf.now_s, taken=taken, min_run_s=min_run_s)
    if plan is None:
        return False
    pool, victims = plan
    for jid in victims:
        taken.add(jid)
        out.append(Preempt(jid))
        n = bf.state.running[jid].job.num_devices
        bf.free[pool] += n
        bf.total_free += n
    bf.free[pool] -= job.num_devices
    bf.total_free -= job.num_devices
    bf.decisions.append(Start(job.job_id, pool, job.num_devices))
    return True


@dataclass(frozen=True, slots=True)
class PriorityPreemptive:
    """Priority order, EASY backfilling, checkpoint-aware preemption of lower classes."""

    name: str = "priority"
    preempts: bool = True
    min_run_s: float = 600.0

    def decide(self, state: ClusterState, queue: Queue, now_s: float) -> list[Decision]:
        order = sorted(queue, key=lambda j: (-j.priority, j.submit_s, j.job_id))
        bf = BackfillPass(state, now_s)
        preempts: list[Decision] = []
        taken: set[int] = set()
        lowest = lowest_running_priority(state)
        for job in order:
            if job.num_devices > bf.total_free and bf.reservations:
                continue
            if bf.consider(job, reserve=False):
                continue
            if lowest is not None and lowest < job.priority and try_preempt(
                    bf, job, taken=taken, min_run_s=self.min_run_s, out=preempts):
                continue
            bf.reserve(job)
        return preempts + bf.decisions
