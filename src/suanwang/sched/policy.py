"""The one interface every scheduling policy implements (simulator and live control loop alike).

A driver (``suanwang.sim.engine`` with its virtual clock, or the control loop with wall-clock
time) calls ``decide(state, queue, now_s)`` whenever something changed (a job arrived, ended,
failed), applies the returned :class:`~suanwang.sched.decisions.Preempt` decisions first, then
the :class:`~suanwang.sched.decisions.Start` decisions, in order. A policy must not mutate its
arguments, read a clock, do I/O or draw random numbers: the same inputs give the same decisions.
"""

from __future__ import annotations

from typing import Protocol

from suanwang.sched.decisions import Decision
from suanwang.sched.state import ClusterState, Queue


class Policy(Protocol):
    """``name`` identifies it in results; ``preempts`` says it may return Preempt decisions (only
    ever for running jobs of LOWER priority than a queued job, which lets a driver skip calls
    when no queued job fits and no such preemption is possible). A policy that may also preempt
    running jobs of a queued job's OWN class (``suanwang``'s overdue guard) says so with a true
    ``preempts_same_class`` attribute (read with ``getattr``, default False); drivers then ask
    it whenever something runs on a pooled state, even if no queued gang fits."""

    name: str
    preempts: bool

    def decide(self, state: ClusterState, queue: Queue, now_s: float) -> list[Decision]: ...
