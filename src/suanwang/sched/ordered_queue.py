"""A memoized, incrementally updated priority order of the queue, grouped by gang size.

A policy whose order is a pure function of (job, an epoch) — the epoch being everything else the
keys depend on (the aging instant, the estimator's version) — can keep the order between calls
and apply only the driver's queue changes (:attr:`ClusterState.queue_log`) instead of
re-sorting a long queue on every event. The result is by construction the order a fresh sort
gives: same items, same tuple comparison; a different epoch or a missing/foreign log triggers a
full rebuild from the queue. Jobs are kept in one sorted list per gang size, so a pass can skip a
whole size that cannot start (:meth:`OrderedQueue.merged`), and a heap of the never-interrupted
jobs' submission times gives the longest-waiting ones in O(log n) each
(:meth:`OrderedQueue.by_submission`).

Items are tuples ``(*sort_key, job_id, id(job), job)``: ``job_id`` makes live items unique and
``id(job)`` separates a re-queued job from its stale entry, so the job itself is never compared.
Removed jobs are dropped lazily (an item is live while ``live[job_id] is job``); the lists are
compacted when stale items outnumber half the live ones.
"""

from __future__ import annotations

import heapq
from bisect import insort
from collections.abc import Callable, Iterator
from typing import Any

from suanwang.sched.state import JobView, Queue

Item = tuple
"""``(*sort_key, job_id, id(job), job)``."""


def _special(job: JobView) -> bool:
    """Whether the job's usable pools differ from a generic job's of its size (a model gives
    job-specific speeds, an accelerator constraint its own fastest pool)."""
    return job.model is not None or job.accelerators is not None


KINDS = ("all", "graceful", "graceful_planned", "lossy_planned")


def kinds_of(job: JobView) -> tuple[str, ...]:
    """The heaps a never-interrupted job is in: all; checkpoints on a preemption signal
    (``preempt_save_s`` set); that and a planner prediction; a planner prediction without
    it (the overdue guard's candidate sets, :class:`~suanwang.sched.suanwang_policy.
    SuanwangPolicy`)."""
    planned = job.estimate_s is not None
    if job.preempt_save_s is not None:
        return ("all", "graceful", "graceful_planned") if planned else ("all", "graceful")
    return ("all", "lossy_planned") if planned else ("all",)


class OrderedQueue:
    """The memo (one per policy object). Not thread-safe; a policy called from several threads
    should hold one per thread."""

    __slots__ = ("epoch", "groups", "heaps", "live", "log_id", "log_pos", "special", "stale")

    def __init__(self) -> None:
        self.epoch: Any = None
        self.log_id = -1
        self.log_pos = 0
        self.live: dict[int, JobView] = {}
        self.groups: dict[int, list[Item]] = {}
        # never-interrupted jobs by submission, one heap per kind (see KINDS)
        self.heaps: dict[str, list[tuple[float, int, int, JobView]]] = {k: [] for k in KINDS}
        self.special: dict[int, int] = {}  # per size: live jobs with a model or a constraint
        self.stale = 0

    def sync(self, queue: Queue, log, epoch: Any, item: Callable[[JobView], Item]) -> None:
        """Bring the memo up to date with ``queue`` (and ``log`` when given) at ``epoch``."""
        if log is None or id(log) != self.log_id or epoch != self.epoch or \
                len(log) < self.log_pos or len(log) - self.log_pos > 2 * len(queue) + 64:
            self._rebuild(queue, log, epoch, item)
            return
        live, groups, heaps = self.live, self.groups, self.heaps
        for pos in range(self.log_pos, len(log)):
            jid, job = log[pos]
            old = live.pop(jid, None)
            if old is not None:
                self.stale += 1
                if _special(old):
                    self.special[old.num_devices] -= 1
            if job is not None:
                live[jid] = job
                if _special(job):
                    self.special[job.num_devices] = self.special.get(job.num_devices, 0) + 1
                insort(groups.setdefault(job.num_devices, []), item(job))
                if not job.restarts:
                    entry = (job.submit_s, jid, id(job), job)
                    for kind in kinds_of(job):
                        heapq.heappush(heaps[kind], entry)
        self.log_pos = len(log)
        if self.stale > (len(live) >> 1) + 32:
            self._compact()

    def _rebuild(self, queue: Queue, log, epoch: Any, item: Callable[[JobView], Item]) -> None:
        self.epoch = epoch
        self.log_id = id(log) if log is not None else -1
        self.log_pos = len(log) if log is not None else 0
        self.live = {job.job_id: job for job in queue}
        groups: dict[int, list[Item]] = {}
        for job in self.live.values():
            groups.setdefault(job.num_devices, []).append(item(job))
        for items in groups.values():
            items.sort()
        self.groups = groups
        self.heaps = {k: [] for k in KINDS}
        for j in self.live.values():
            if not j.restarts:
                for kind in kinds_of(j):
                    self.heaps[kind].append((j.submit_s, j.job_id, id(j), j))
        for h in self.heaps.values():
            heapq.heapify(h)
        self.stale = 0
        self.special = {}
        for j in self.live.values():
            if _special(j):
                self.special[j.num_devices] = self.special.get(j.num_devices, 0) + 1

    def _compact(self) -> None:
        live = self.live
        self.groups = {n: kept for n, items in self.groups.items()
                       if (kept := [it for it in items if live.get(it[-3]) is it[-1]])}
        for kind, h in self.heaps.items():
            kept = [o for o in h if live.get(o[1]) is o[3]]
            heapq.heapify(kept)
            self.heaps[kind] = kept
        self.stale = 0

    def by_submission(self, kind: str = "all") -> Iterator[JobView]:
        """Live jobs never interrupted (``restarts == 0``) of one kind (:data:`KINDS`: all of
        them, the anchor's candidates; or a subset the overdue guard walks) in submission
        order (ties: lowest id), lazily: a walk of the heap that costs O(log k) per job
        taken, so a caller that stops early pays for what it read, not for the queue."""
        oldest, live = self.heaps[kind], self.live
        frontier = [(oldest[0], 0)] if oldest else []
        size = len(oldest)
        while frontier:
            o, i = heapq.heappop(frontier)
            for c in (2 * i + 1, 2 * i + 2):
                if c < size:
                    heapq.heappush(frontier, (oldest[c], c))
            if live.get(o[1]) is o[3]:
                yield o[3]

    def merged(self, skip_size: Callable[[int], bool]) -> Iterator[JobView]:
        """Live jobs in order (a k-way merge of the size groups). Before each job of size n the
        merge asks ``skip_size(n)``; True drops the rest of that size from this iteration (the
        caller knows no job of that size can start for the rest of its pass)."""
        live = self.live
        heap = []
        for n, items in self.groups.items():
            if items:
                heap.append((items[0], n, 0))
        heapq.heapify(heap)
        groups = self.groups
        while heap:
            it, n, k = heap[0]
            job = it[-1]
            if live.get(it[-3]) is job and skip_size(n):
                heapq.heappop(heap)
                continue
            items = groups[n]
            if k + 1 < len(items):
                heapq.heapreplace(heap, (items[k + 1], n, k + 1))
            else:
                heapq.heappop(heap)
            if live.get(it[-3]) is job:
                yield job
