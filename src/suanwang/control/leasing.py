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


def _slurm(ctl: Controller, center: str):
    if ctl.centers.effective.get(center) != "slurm":
        return None
    return ctl.centers.backends.get(center)


def sync_reservations(ctl: Controller) -> int:
    """Mirror leases on Slurm centers as Slurm reservations: create one for each lease not yet
    ended without one, delete those of cancelled leases. The lease's ``detail["slurm"]``
    records it. Returns the number of changes; a failing center is logged and retried next
    tick."""
    from suanwang.backends import slurm_reservation as res
    from suanwang.store.models import Lease

    slurm = [c for c, kind in ctl.centers.effective.items() if kind == "slurm"]
    if not slurm:
        return 0
    now = ctl.clock()
    with ctl.read() as s:
        rows = [(r.id, r.center, r.accelerator, r.devices, r.start, r.end, r.state,
                 r.reservation, dict(r.detail or {}))
                for r in s.query(Lease).filter(Lease.center.in_(slurm))
                if (r.detail or {}).get("slurm") != "deleted"]
    done: dict[int, str] = {}
    for lid, center, acc, devices, start, end, state, name, detail in rows:
        backend = _slurm(ctl, center)
        if backend is None or not name:
            continue
        try:
            if state == "active" and end.timestamp() > now and "slurm" not in detail:
                dpn = ctl.fed.center(center).pool(acc).devices_per_node
                res.create(backend, name, start=start, end=end, nodes=devices // dpn,
                           now=ts(now))
                done[lid] = "created"
            elif state == "cancelled" and detail.get("slurm") == "created":
                res.delete(backend, name)
                done[lid] = "deleted"
        except Exception:  # one unreachable cluster must not stop the tick
            import logging

            logging.getLogger("suanwang.control").exception("reservation %s on %s", name,
                                                             center)
    if done:
        with ctl.write() as s:
            for lid, what in done.items():
                lz = s.get(Lease, lid)
                lz.detail = {**(lz.detail or {}), "slurm": what}
            s.commit()
    return len(done)


def reservation_for(ctl: Controller, tenant_id: int, center: str, accelerator: str,
                    devices: int) -> str:
    """The Slurm reservation a holder's attempt of ``devices`` runs in ('' when none)."""
    if _slurm(ctl, center) is None:
        return ""
    with ctl.read() as s:
        for lz in active_leases(s, ts(ctl.clock())):
            if (lz.tenant_id == tenant_id and lz.center == center
                    and lz.accelerator == accelerator and devices <= lz.devices
                    and (lz.detail or {}).get("slurm") == "created"):
                return lz.reservation or ""
    return ""
