"""Scheduling around leases (advance reservations), for the controller and the simulator.

A lease gives tenant T ``devices`` of pool P for a window. While it is in force, around any
policy's ``decide(state, queue, now)``:

1. **holders first**: the queued jobs of lease holders (that may run on a leased pool) are
   decided first, on all free devices;
2. **reserved capacity**: the other tenants' non-preemptible jobs see each leased pool's free
   devices minus the lease's unused part (lease devices - devices the holder runs there), so
   they never take capacity the holder may claim;
3. **borrowing**: the other tenants' preemptible jobs may use the unused leased devices;
4. **reclaim**: a holder job still queued, whose gang fits in its lease's unused part but not in
   the pool's free devices, gets borrowers of that pool preempted (latest started first, the
   least work lost) until it fits. Preemption goes through the policy's usual path
   (:class:`~suanwang.sched.decisions.Preempt`: the job checkpoints and is requeued), so the
   holder's job starts on the next pass after the borrowers stopped: within one controller
   tick + the borrowers' stop (checkpoint) time.

Other tenants' jobs never preempt a holder's job running in its leased pool (the policy sees
it as not preemptible in their passes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from suanwang.sched.decisions import Decision, Preempt, Start
from suanwang.sched.state import ClusterState, JobView, allowed


@dataclass(frozen=True)
class LeaseView:
    """A lease in force: ``devices`` of pool index ``pool`` for ``tenant``."""

    lease_id: int
    pool: int
    tenant: str
    devices: int


def _holder_use(state: ClusterState, lease: LeaseView) -> int:
    return sum(rv.job.num_devices for rv in state.running.values()
               if rv.pool == lease.pool and rv.job.tenant == lease.tenant)


def unused(state: ClusterState, leases: Sequence[LeaseView]) -> list[int]:
    """Per pool: leased devices the holders are not using now."""
    out = [0] * len(state.pools)
    for lz in leases:
        out[lz.pool] += max(0, lz.devices - _holder_use(state, lz))
    return out


def _is_holder(job: JobView, state: ClusterState, leases: Sequence[LeaseView]) -> bool:
    return any(lz.tenant == job.tenant and allowed(job, state.pools[lz.pool]) for lz in leases)


def _take(free: list[int], decisions: list[Decision]) -> None:
    for d in decisions:
        if isinstance(d, Start):
            free[d.pool] = max(0, free[d.pool] - d.num_devices)


def _reclaim(state: ClusterState, free: list[int], waiting: list[JobView],
             leases: Sequence[LeaseView], room: list[int]) -> list[Preempt]:
    out: list[Preempt] = []
    taken: set[int] = set()
    holders = {(lz.pool, lz.tenant) for lz in leases}
    for job in waiting:
        for lz in leases:
            if lz.tenant != job.tenant or not allowed(job, state.pools[lz.pool]):
                continue
            need = job.num_devices - free[lz.pool]
            if need <= 0 or job.num_devices > room[lz.pool]:
                continue
            borrowers = sorted((rv for jid, rv in state.running.items()
                                if rv.pool == lz.pool and jid not in taken
                                and rv.job.preemptible
                                and (lz.pool, rv.job.tenant) not in holders),
                               key=lambda rv: -rv.start_s)
            chosen, got = [], 0
            for rv in borrowers:
                if got >= need:
                    break
                chosen.append(rv.job.job_id)
                got += rv.job.num_devices
            if got >= need:
                taken.update(chosen)
                out += [Preempt(j) for j in chosen]
                room[lz.pool] -= job.num_devices
                break
    return out


def _view(state: ClusterState, free: Sequence[int], gone: set[int],
          protected: frozenset[int] = frozenset()) -> ClusterState:
    """The state one pass sees: its free devices, without jobs an earlier pass preempted (so
    no two passes stop the same job or count its devices twice), and with ``protected`` jobs
    (holders inside their lease) not preemptible."""
    running = state.running
    if gone or protected:
        running = {k: (replace(v, job=replace(v.job, preemptible=False)) if k in protected
                       else v) for k, v in running.items() if k not in gone}
    return replace(state, free=list(free), running=running, queue_log=None)


def _pass(policy, view: ClusterState, free: list[int], gone: set[int], queue: list[JobView],
          now: float) -> list[Decision]:
    """One policy call on ``queue`` over ``view``; its starts are taken from ``free`` (devices
    it freed by preempting stay counted as used until the next decision instant)."""
    got = list(policy.decide(view, queue, now))
    _take(free, got)
    gone.update(d.job_id for d in got if isinstance(d, Preempt))
    return got


def decide_with_leases(policy, state: ClusterState, queue: Sequence[JobView], now: float,
                       leases: Sequence[LeaseView]) -> list[Decision]:
    """The policy's decisions with the leases honoured (module doc)."""
    if not leases:
        return list(policy.decide(state, queue, now))
    free = list(state.free)
    gone: set[int] = set()
    protected = frozenset(jid for jid, rv in state.running.items()
                          if any(lz.pool == rv.pool and lz.tenant == rv.job.tenant
                                 for lz in leases))
    holder_q = [j for j in queue if _is_holder(j, state, leases)]
    others = [j for j in queue if not _is_holder(j, state, leases)]
    room = unused(state, leases)
    out: list[Decision] = []
    if holder_q:
        got = _pass(policy, _view(state, free, gone), free, gone, holder_q, now)
        for d in got:
            if isinstance(d, Start):
                room[d.pool] = max(0, room[d.pool] - d.num_devices)
        out += got
        started = {d.job_id for d in got if isinstance(d, Start)}
        reclaim = _reclaim(_view(state, free, gone), free,
                           [j for j in holder_q if j.job_id not in started], leases, room)
        gone.update(d.job_id for d in reclaim)
        out += reclaim
    fixed = [j for j in others if not j.preemptible]
    if fixed:
        seen = [max(0, f - r) for f, r in zip(free, room, strict=True)]
        out += _pass(policy, _view(state, seen, gone, protected), free, gone, fixed, now)
    borrowers = [j for j in others if j.preemptible]
    if borrowers:
        out += _pass(policy, _view(state, free, gone, protected), free, gone, borrowers, now)
    return out
