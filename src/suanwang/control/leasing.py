"""Leases in the control loop: the schedule phase decides through
:func:`suanwang.sched.leases.decide_with_leases` with the leases in force now (holders first,
reserved capacity, borrowing by preemptible jobs, reclaim by preemption; docs/marketplace.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from suanwang.control.finish import ts
from suanwang.sched.leases import LeaseView, decide_with_leases
from suanwang.sched.state import ClusterState, JobView
from suanwang.store import dispatch as q
from suanwang.store.leases import active_leases

if TYPE_CHECKING:
    from suanwang.control.reconcile import Controller


def lease_views(ctl: Controller, now: float) -> list[LeaseView]:
    """Leases in force at ``now`` on pools this controller schedules."""
    with ctl.read() as s:
        rows = active_leases(s, ts(now))
        if not rows:
            return []
        names = q.tenant_names(s)
    return [LeaseView(lease_id=r.id, pool=ctl.pool_index[f"{r.center}/{r.accelerator}"],
                      tenant=names.get(r.tenant_id, str(r.tenant_id)), devices=r.devices)
            for r in rows if f"{r.center}/{r.accelerator}" in ctl.pool_index]


def decide(ctl: Controller, state: ClusterState, queue: list[JobView], now: float) -> list:
    """The policy's decisions for this tick with the leases honoured."""
    return decide_with_leases(ctl.policy, state, queue, now, lease_views(ctl, now))
