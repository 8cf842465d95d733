"""Fair share across tenants: the tenant furthest below its share goes next (Slurm's fair-share
factor, reduced to its core: devices held now / share weight, lowest first).

Each time a tenant's job starts, that tenant's held count rises and the next pick is re-ranked,
so with every tenant backlogged the devices held converge to the shares (the max-min fair
allocation for one resource). Within a tenant jobs go in submission order; EASY backfilling
keeps the first blocked job's reservation.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from suanwang.sched.backfill import BackfillPass
from suanwang.sched.decisions import Decision
from suanwang.sched.state import ClusterState, JobView, Queue


@dataclass(frozen=True, slots=True)
class FairShare:
    """Lowest (devices held / share) tenant first; EASY backfilling."""

    name: str = "fairshare"
    cost_weight_s: float = 0.0
    preempts: bool = False

    def decide(self, state: ClusterState, queue: Queue, now_s: float) -> list[Decision]:
        per_tenant: dict[str, list[JobView]] = {}
        for job in queue:
            per_tenant.setdefault(job.tenant, []).append(job)
        shares = state.shares
        held = {t: state.tenant_devices.get(t, 0) for t in per_tenant}
        heap = [(held[t] / shares.get(t, 1.0), jobs[0].submit_s, t, 0)
                for t, jobs in per_tenant.items()]
        heapq.heapify(heap)
        bf = BackfillPass(state, now_s, cost_weight_s=self.cost_weight_s)
        while heap:
            _, _, tenant, k = heapq.heappop(heap)
            jobs = per_tenant[tenant]
            job = jobs[k]
            if not (job.num_devices > bf.total_free and bf.reservations) and bf.consider(job):
                held[tenant] += job.num_devices
            if k + 1 < len(jobs):
                heapq.heappush(heap, (held[tenant] / shares.get(tenant, 1.0),
                                      jobs[k + 1].submit_s, tenant, k + 1))
        return bf.decisions
