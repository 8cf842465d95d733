"""First-in first-out: start jobs in submission order; the first that does not fit blocks all.

The baseline every scheduler paper compares against (and what a queue without backfill does).
"""

from __future__ import annotations

from dataclasses import dataclass

from suanwang.sched.decisions import Decision, Start
from suanwang.sched.placement import choose_pool
from suanwang.sched.state import ClusterState, Queue


@dataclass(frozen=True, slots=True)
class Fifo:
    """Strict FIFO with gang starts; placement picks the best pool that fits the head."""

    name: str = "fifo"
    cost_weight_s: float = 0.0
    preempts: bool = False

    def decide(self, state: ClusterState, queue: Queue, now_s: float) -> list[Decision]:
        free = list(state.free)
        total = sum(free)
        out: list[Decision] = []
        for job in queue:
            n = job.num_devices
            if n > total:
                break
            pool = choose_pool(state, job, free, cost_weight_s=self.cost_weight_s)
            if pool is None:
                break
            free[pool] -= n
            total -= n
            out.append(Start(job.job_id, pool, n))
        return out
