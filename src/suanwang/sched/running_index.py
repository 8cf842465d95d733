"""Running jobs per pool in the order a reservation needs them: by expected end, kept between
policy calls from the driver's feed (:attr:`ClusterState.running_log`).

:meth:`ClusterState.expected_end_s` is ``predicted`` (start + predicted run) while ``now <
predicted``, else ``now + max(now - start, 1)``. So per pool the index keeps two sorted lists:
jobs still within their prediction, by predicted end (``ahead``), and jobs past it
(``overrun``), by start descending — which is their expected-end order at any later ``now``.
Jobs move from ``ahead`` to ``overrun`` as ``now`` passes their predicted end (each once), ended
jobs are dropped lazily. A reservation then walks the two lists merged and stops once enough
devices are counted, instead of scanning and sorting every running job on every call.

The result equals :meth:`BackfillPass._running_ends` (the scan) exactly; a different epoch (the
estimator's version: predictions of jobs without a planner estimate change when it learns) or a
missing/foreign feed rebuilds the index from ``state.running``.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterator
from typing import Any

from suanwang.sched.state import ClusterState, RunningView


class RunningIndex:
    """Per-pool expected-end order of the running jobs (memo of one policy object).

    Entries are ``(key, devices, seq, run)``: key = predicted end (``ahead``) or -start
    (``overrun``); ``seq`` makes entries unique, so runs are never compared; an entry is live
    while ``live[job_id] is run``."""

    __slots__ = ("ahead", "epoch", "front", "live", "log_id", "log_pos", "now_s", "overrun",
                 "seq")

    def __init__(self) -> None:
        self.epoch: Any = None
        self.log_id = -1
        self.log_pos = 0
        self.now_s = -float("inf")
        self.seq = 0
        self.live: dict[int, RunningView] = {}
        self.ahead: dict[int, list[tuple]] = {}
        self.front: dict[int, int] = {}  # per pool: leading entries of ``ahead`` already moved
        self.overrun: dict[int, list[tuple]] = {}

    def sync(self, state: ClusterState, now_s: float, epoch: Any) -> None:
        """Bring the index up to date with ``state.running`` at ``now_s``."""
        log = state.running_log
        if (log is None or id(log) != self.log_id or epoch != self.epoch
                or len(log) < self.log_pos or now_s < self.now_s):
            self._rebuild(state, epoch)
        else:
            for pos in range(self.log_pos, len(log)):
                jid, run = log[pos]
                if run is None:
                    self.live.pop(jid, None)
                else:
                    self.live[jid] = run
                    self._add(state, run)
            self.log_pos = len(log)
            size = sum(len(v) for v in self.ahead.values()) + sum(
                len(v) for v in self.overrun.values())
            if size > 3 * len(self.live) + 64:
                self._rebuild(state, epoch)
        self.now_s = now_s
        live = self.live
        for pool, items in self.ahead.items():
            k = self.front.get(pool, 0)
            while k < len(items) and items[k][0] <= now_s:
                run = items[k][3]
                if live.get(run.job.job_id) is run:
                    self._push_overrun(pool, run, items[k][1])
                k += 1
            self.front[pool] = k

    def _push_overrun(self, pool: int, run: RunningView, n: int) -> None:
        self.seq += 1
        insort(self.overrun.setdefault(pool, []), (-run.start_s, n, self.seq, run))

    def _rebuild(self, state: ClusterState, epoch: Any) -> None:
        log = state.running_log
        self.epoch = epoch
        self.log_id = id(log) if log is not None else -1
        self.log_pos = len(log) if log is not None else 0
        self.now_s = -float("inf")
        self.live = dict(state.running)
        self.ahead, self.front, self.overrun = {}, {}, {}
        for run in self.live.values():
            self.seq += 1
            self.ahead.setdefault(run.pool, []).append(
                (state.predicted_end_s(run), run.job.num_devices, self.seq, run))
        for items in self.ahead.values():
            items.sort()

    def _add(self, state: ClusterState, run: RunningView) -> None:
        end = state.predicted_end_s(run)
        if end <= self.now_s:  # already past its prediction
            self._push_overrun(run.pool, run, run.job.num_devices)
            return
        self.seq += 1
        insort(self.ahead.setdefault(run.pool, []), (end, run.job.num_devices, self.seq, run),
               lo=self.front.get(run.pool, 0))

    def ends(self, pool: int, now_s: float, taken: set[int]) -> Iterator[tuple[float, int]]:
        """(expected end, devices) of the running jobs on ``pool``, ascending as the scan
        sorts them, skipping ended jobs and those in ``taken`` (preempted in this pass)."""
        live = self.live
        ahead = self.ahead.get(pool, ())
        over = self.overrun.get(pool, ())
        k = self.front.get(pool, 0)
        j = 0
        na, no = len(ahead), len(over)
        while True:
            k = _next_live(ahead, k, live, taken)
            j = _next_live(over, j, live, taken)
            if k < na:
                a = (ahead[k][0], ahead[k][1])
                if j < no:
                    o = (now_s + max(now_s + over[j][0], 1.0), over[j][1])
                    if o < a:
                        yield o
                        j += 1
                        continue
                yield a
                k += 1
            elif j < no:
                yield (now_s + max(now_s + over[j][0], 1.0), over[j][1])
                j += 1
            else:
                return


def _next_live(items: list, i: int, live: dict, taken: set[int]) -> int:
    """The first index >= ``i`` of ``items`` (``(key, devices, seq, run)`` entries) whose run
    is still running and not preempted in this pass; ``len(items)`` if none."""
    n = len(items)
    while i < n:
        run = items[i][3]
        jid = run.job.job_id
        if live.get(jid) is run and jid not in taken:
            return i
        i += 1
    return i
