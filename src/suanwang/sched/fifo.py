"""First-in first-out: start jobs in submission order; the first that does not fit blocks all.

The baseline every scheduler paper compares against (and what a queue without backfill does).
"""

from __future__ import annotations

from dataclasses import dataclass

from suanwang.sched.decisions import Decision, Start
from suanwang.sched.placement import choose_pool
from suanwang.sched.state import ClusterState, Queue, node_fits, take_nodes


@dataclass(frozen=True, slots=True)
class Fifo:
    """Strict FIFO with gang starts; placement picks the best pool that fits the head."""

    name: str = "fifo"
    cost_weight_s: float = 0.0
    preempts: bool = False

    def decide(self, state: ClusterState, queue: Queue, now_s: float) -> list[Decision]:
        free = list(state.free)
        total = sum(free)
        nodes = [list(c) for c in state.node_free] if state.node_free is not None else None
        pools = state.pools
        out: list[Decision] = []
        for job in queue:
            n = job.num_devices
            if n > total:
                break
            fit = free if nodes is None else [
                f if f >= n and node_fits(nodes[i], n, pools[i].devices_per_node) else -1
                for i, f in enumerate(free)]
            pool = choose_pool(state, job, fit, cost_weight_s=self.cost_weight_s)
            if pool is None:
                break
            free[pool] -= n
            total -= n
            if nodes is not None:
                take_nodes(nodes[pool], n, pools[pool].devices_per_node)
            out.append(Start(job.job_id, pool, n))
        return out
