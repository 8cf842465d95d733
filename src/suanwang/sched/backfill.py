"""EASY backfilling (Lifka 1995; Slurm's sched/backfill with one reservation).

Jobs are considered in a priority order. Each one that fits starts. The first that does not fit
gets a reservation: the pool and time (the "shadow time") at which enough running jobs are
expected to have ended, and the devices left over then ("extra"). Later jobs may start now only
if they cannot delay it: they run on another pool, or are predicted to end before the shadow
time, or fit in the extra devices. Predictions are estimates (:meth:`ClusterState.estimate_s`),
never true run times; a late-running job can still delay the reservation, as in Slurm.

:class:`BackfillPass` is the reusable engine (fair share, priority and ``suanwang`` drive it with
their own order); :class:`EasyBackfill` is the policy with first-come-first-served order.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass

from suanwang.sched.decisions import Decision, Start
from suanwang.sched.placement import MAX_SLOWDOWN, choose_pool
from suanwang.sched.running_index import RunningIndex
from suanwang.sched.state import (
    ClusterState,
    JobView,
    Queue,
    allowed,
    node_fits,
    shift_node,
    take_nodes,
)


class BackfillPass:
    """One scheduling pass: local copy of free devices, the reservations made so far, starts.

    ``max_reservations`` is 1 for EASY; more makes it closer to conservative backfill.
    ``taken`` holds running jobs this pass has preempted (their devices are already counted as
    free, so a reservation must not count them again); ``started`` the runs this pass started
    (pool, predicted end, devices), so a later reservation knows when they free their devices.
    With a node-aware state (``state.node_free``), fit is checked per node on a local copy.
    """

    __slots__ = ("_ends", "cost_weight_s", "decisions", "free", "index", "max_reservations",
                 "node_dev", "nodes", "now_s", "reservations", "started", "state", "taken",
                 "total_free", "touched")

    def __init__(self, state: ClusterState, now_s: float, *, max_reservations: int = 1,
                 cost_weight_s: float = 0.0, running_index: RunningIndex | None = None) -> None:
        self.state = state
        self.now_s = now_s
        self.free = list(state.free)
        self.total_free = sum(self.free)
        self.nodes = ([list(c) for c in state.node_free] if state.node_free is not None
                      else None)
        self.max_reservations = max_reservations
        self.cost_weight_s = cost_weight_s
        self.reservations: list[list] = []  # [pool, shadow_s, extra_devices, job_id]
        self.decisions: list[Decision] = []
        self.started: list[tuple[int, float, int]] = []  # (pool, expected end, devices)
        self.taken: set[int] = set()
        self.touched: set[int] = set()  # node-aware: pools this pass started a job on
        self.node_dev: dict[int, list[int]] = {}  # node-aware: per-node free after releases
        self._ends: dict[int, list[tuple[float, int]]] | None = None
        self.index = running_index  # synced by the caller to (state, now_s), or None: scan

    def consider(self, job: JobView, *, reserve: bool = True) -> bool:
        """Start ``job`` if it fits without delaying a reservation; else maybe reserve for it.

        Returns True when the job was started.
        """
        n = job.num_devices
        if n > self.total_free and not (reserve and len(self.reservations)
                                        < self.max_reservations):
            return False
        est_s = self.state.estimate_s(job)
        pool = self._pool_for(job, est_s) if n <= self.total_free else None
        if pool is not None:
            self.start(job, pool, est_s)
            return True
        if reserve:
            self.reserve(job)
        return False

    def start(self, job: JobView, pool: int, est_s: float | None = None) -> None:
        """Record the start of ``job`` on ``pool`` (devices, nodes, predicted end)."""
        n = job.num_devices
        self.free[pool] -= n
        self.total_free -= n
        if self.nodes is not None:
            take_nodes(self.nodes[pool], n, self.state.pools[pool].devices_per_node)
            self.touched.add(pool)
        self.decisions.append(Start(job.job_id, pool, n))
        self.started.append((pool, self.now_s + self.state.run_s(job, pool, est_s), n))

    def release(self, job: JobView, pool: int,
                nodes: tuple[tuple[int, int], ...] = ()) -> None:
        """Count a preempted running job's devices as free in this pass; on a node-aware pass
        also its ``nodes`` (``RunningView.nodes``; the pool must be one this pass has not
        started a job on, so the per-node view is exact: :meth:`node_view`)."""
        self.taken.add(job.job_id)
        self._ends = None
        self.free[pool] += job.num_devices
        self.total_free += job.num_devices
        if self.nodes is not None and nodes:
            per = self.node_dev.setdefault(pool, list(self.state.node_devices[pool]))
            counts = self.nodes[pool]
            for node, take in nodes:
                shift_node(counts, per, node, take)

    def node_view(self, pool: int) -> list[int] | None:
        """Node-aware passes: free devices per node of ``pool`` as this pass sees them, or None
        when that is not known exactly (the state has no ``node_devices``, or this pass already
        started a job there: which node it took is the driver's choice)."""
        if self.state.node_devices is None or pool in self.touched:
            return None
        return self.node_dev.get(pool) or list(self.state.node_devices[pool])

    def _pool_for(self, job: JobView, est_s: float) -> int | None:
        free = self.free
        n = job.num_devices
        if self.nodes is not None:
            pools = self.state.pools
            free = [f if f >= n and node_fits(self.nodes[i], n, pools[i].devices_per_node)
                    else -1 for i, f in enumerate(free)]
        if not self.reservations:
            return choose_pool(self.state, job, free, cost_weight_s=self.cost_weight_s,
                               est_s=est_s)
        # Mask pools where starting now would break a reservation.
        masked = list(free)
        state = self.state
        for i in range(len(masked)):
            if masked[i] < n:
                continue
            for res in self.reservations:
                if res[0] != i:
                    continue
                if self.now_s + state.run_s(job, i, est_s) > res[1] and n > res[2]:
                    masked[i] = -1
                    break
        pool = choose_pool(state, job, masked, cost_weight_s=self.cost_weight_s, est_s=est_s)
        if pool is not None:
            end_s = self.now_s + state.run_s(job, pool, est_s)
            for res in self.reservations:
                if res[0] == pool and end_s > res[1]:
                    res[2] -= n
        return pool

    def _running_ends(self) -> dict[int, list[tuple[float, int]]]:
        """Per pool, the running jobs' (expected end, devices) ascending; one scan of the
        running jobs per pass (again only after a preemption changed ``taken``)."""
        if self._ends is None:
            ends: dict[int, list[tuple[float, int]]] = {}
            expected_end, now_s, taken = self.state.expected_end_s, self.now_s, self.taken
            for jid, r in self.state.running.items():
                if jid not in taken:
                    ends.setdefault(r.pool, []).append((expected_end(r, now_s),
                                                        r.job.num_devices))
            for v in ends.values():
                v.sort()
            self._ends = ends
        return self._ends

    def reserve(self, job: JobView) -> None:
        """Reserve the pool where ``job`` is expected to be able to start soonest (if the pass
        still has a reservation to give).

        The shadow time counts devices (per pool): with node-aware capacity it is a lower
        bound on when the gang can start, since freed devices may sit on different nodes.
        """
        if len(self.reservations) >= self.max_reservations:
            return
        state, n = self.state, job.num_devices
        speeds = [state.speed(job, i) if p.devices >= n and allowed(job, p) else 0.0
                  for i, p in enumerate(state.pools)]
        slowest_ok = max(speeds, default=0.0) / MAX_SLOWDOWN
        eligible = [s > 0 and s >= slowest_ok for s in speeds]
        if not any(eligible):
            return
        started: dict[int, list[tuple[float, int]]] = {}
        for p, end_s, size in self.started:
            started.setdefault(p, []).append((end_s, size))
        ends: dict[int, Iterable[tuple[float, int]]] = {}
        if self.index is not None:
            for i, ok in enumerate(eligible):
                if ok:
                    ends[i] = self.index.ends(i, self.now_s, self.taken)
                    if i in started:
                        ends[i] = heapq.merge(ends[i], sorted(started[i]))
        else:
            running_ends = self._running_ends()
            for i, ok in enumerate(eligible):
                if ok:
                    ends[i] = (sorted(running_ends.get(i, []) + started[i]) if i in started
                               else running_ends.get(i, []))
        best = None
        for i, sizes in ends.items():
            avail = self.free[i]
            shadow = None
            for end_s, size in sizes:
                avail += size
                if avail >= n:
                    shadow = end_s
                    break
            if shadow is None:
                continue
            if best is None or shadow < best[1]:
                best = [i, shadow, avail - n, job.job_id]
        if best is not None:
            self.reservations.append(best)


@dataclass(frozen=True, slots=True)
class EasyBackfill:
    """First-come-first-served order with EASY backfilling on estimated run times."""

    name: str = "backfill"
    window: int = 100_000
    preempts: bool = False

    def decide(self, state: ClusterState, queue: Queue, now_s: float) -> list[Decision]:
        bf = BackfillPass(state, now_s)
        for k, job in enumerate(queue):
            if k >= self.window:
                break
            if job.num_devices > bf.total_free and bf.reservations:
                continue  # cheap skip: cannot start, reservation already made
            bf.consider(job)
        return bf.decisions
