"""Leases (advance reservations): admission against capacity, billing, cancellation.

A lease holds ``devices`` (whole nodes) of one pool (center, accelerator) for [start, end).

**Admission** (:func:`create_lease`), under a lock on the center's row (``SELECT ... FOR
UPDATE`` on PostgreSQL; SQLite write transactions are already exclusive): the pool's devices
minus, over the whole window, (a) every other lease of the pool and (b) every live attempt on
the pool from now to its predicted end (dispatch time + the controller's ``predicted_run_s``;
no prediction = until further notice) must leave room for the lease
(:func:`suanwang.plan.leases.fits`). Otherwise :class:`LeaseConflict` carries the earliest start
that fits (:func:`suanwang.plan.leases.earliest_start`), which the API answers as 409.

**Billing**: at creation the whole lease is charged, whether used or not: devices x ceil(hours)
device-hours at the ``lease_hour`` price of the pool (else its ``device_hour`` price) minus the
term discount of :data:`TERM_DISCOUNTS`; one ``lease`` invoice line, one ledger charge. Usage
inside the lease is credited back at settlement (``store.billing.market``). Cancelling before
the start refunds the lease (a negative line and a refund top-up); cancelling a started lease
ends it now and refunds nothing.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from suanwang.core.errors import ConfigError, NotFoundError, SuanwangError
from suanwang.plan.leases import Busy, earliest_start, fits
from suanwang.store.base import utcnow
from suanwang.store.billing import ledger
from suanwang.store.billing.invoices import append_line
from suanwang.store.billing.prices import price_at
from suanwang.store.models import Attempt, CenterRow, Lease

# (minimum lease length in hours, discount): the longest matching term applies.
TERM_DISCOUNTS: tuple[tuple[int, Decimal], ...] = (
    (30 * 24, Decimal("0.20")), (7 * 24, Decimal("0.10")), (24, Decimal("0.05")), (0, Decimal(0)))
START_SLACK = timedelta(minutes=5)  # a lease may start this far in the past (clock skew)


class LeaseConflict(SuanwangError):
    """The window does not fit; ``earliest_start`` is the first start that does (None: never)."""

    def __init__(self, message: str, earliest: datetime | None) -> None:
        super().__init__(message)
        self.earliest_start = earliest


def discount_for(hours: int) -> Decimal:
    """The term discount (fraction) for a lease of ``hours`` hours."""
    return next(d for h, d in TERM_DISCOUNTS if hours >= h)


def _pool(session: Session, center: str, accelerator: str) -> tuple[CenterRow, dict]:
    row = session.execute(select(CenterRow).where(CenterRow.name == center)
                          .with_for_update()).scalar_one_or_none()
    if row is None:
        raise ConfigError(f"unknown center {center!r}", field="center")
    for p in row.pools:
        if p["accelerator"] == accelerator:
            return row, p
    raise ConfigError(f"center {center!r} has no {accelerator!r} pool; it has "
                      f"{', '.join(p['accelerator'] for p in row.pools)}", field="accelerator")


def busy_intervals(session: Session, center: str, accelerator: str, now: datetime,
                   exclude_lease: int | None = None) -> list[Busy]:
    """Other leases and live attempts on the pool, as epoch-second intervals."""
    out = [Busy(lz.start.timestamp(), lz.end.timestamp(), lz.devices)
           for lz in session.execute(select(Lease).where(
               Lease.center == center, Lease.accelerator == accelerator,
               Lease.end > now)).scalars()
           if lz.id != exclude_lease and lz.end > lz.start]
    for a in session.execute(select(Attempt).where(
            Attempt.center == center, Attempt.accelerator == accelerator,
            Attempt.ended_at.is_(None))).scalars():
        detail = a.detail or {}
        began = float(detail.get("dispatched_at") or a.created_at.timestamp())
        run = detail.get("predicted_run_s")
        end = began + float(run) if run else math.inf
        if end > now.timestamp():
            out.append(Busy(now.timestamp(), end, a.devices))
    return out


def _price(session: Session, center: str, accelerator: str, at: datetime):
    for kind in ("lease_hour", "device_hour"):
        item = price_at(session, kind=kind, center=center, resource=accelerator, at=at)
        if item is not None:
            return item
    raise ConfigError(f"no lease_hour or device_hour price for {center}/{accelerator}",
                      field="accelerator")


def _check_window(row_pool: dict, devices: int, start: datetime, end: datetime,
                  now: datetime) -> None:
    dpn = int(row_pool["devices_per_node"])
    if devices <= 0 or devices % dpn:
        raise ConfigError(f"must be a positive multiple of {dpn} (whole nodes)", field="devices")
    if devices > int(row_pool["devices"]):
        raise ConfigError(f"the pool has {row_pool['devices']} devices", field="devices")
    if end <= start:
        raise ConfigError("must be after start", field="end")
    if start < now - START_SLACK:
        raise ConfigError("must not be in the past", field="start")


def create_lease(session: Session, tenant_id: int, *, center: str, accelerator: str,
                 devices: int, start: datetime, end: datetime, now: datetime | None = None
                 ) -> Lease:
    """Admit, bill and insert a lease (module doc). Raises ConfigError naming the field,
    LeaseConflict (with ``earliest_start``) or ledger.InsufficientBalance."""
    now = now or utcnow()
    _row, pool = _pool(session, center, accelerator)
    _check_window(pool, devices, start, end, now)
    busy = busy_intervals(session, center, accelerator, now)
    t0, t1 = start.timestamp(), end.timestamp()
    if not fits(int(pool["devices"]), busy, t0, t1, devices):
        t = earliest_start(int(pool["devices"]), busy, t0, t1 - t0, devices)
        when = datetime.fromtimestamp(t, start.tzinfo) if t is not None else None
        raise LeaseConflict(f"{devices} x {accelerator} at {center} are not free for the whole "
                            f"window; earliest start that fits: "
                            f"{when.isoformat() if when else 'none'}", when)
    hours = math.ceil((t1 - t0) / 3600 - 1e-9)
    item = _price(session, center, accelerator, start)
    disc = discount_for(hours)
    unit = (item.price * (1 - disc)).quantize(Decimal("0.000001"))
    qty = Decimal(devices * hours)
    amount = (qty * unit).quantize(Decimal("0.0001"))
    if ledger.balance_of(session, tenant_id).available < amount:
        raise ledger.InsufficientBalance(f"the lease costs {amount}; available balance is "
                                         f"{ledger.balance_of(session, tenant_id).available}")
    lease = Lease(tenant_id=tenant_id, center=center, accelerator=accelerator, devices=devices,
                  start=start, end=end, state="active", unit_price=unit, discount=disc,
                  amount=amount, detail={"hours": hours, "list_price": str(item.price),
                                         "price_item": item.id}, created_at=now)
    session.add(lease)
    session.flush()
    lease.reservation = f"suanwang-lease-{lease.id}"
    append_line(session, tenant_id=tenant_id, kind="lease",
                description=f"lease {lease.id}: {devices} x {accelerator} at {center}, "
                f"{hours} h from {start.isoformat()} ({disc * 100:.0f}% term discount)",
                quantity=qty, unit="device-hour", unit_price=unit, at=now,
                price_item_id=item.id, key=f"lease:{lease.id}")
    if amount > 0:
        ledger.charge(session, tenant_id, amount, key=f"lease:{lease.id}",
                      detail={"lease": lease.id})
    return lease


def cancel_lease(session: Session, tenant_id: int, lease_id: int, now: datetime | None = None
                 ) -> Lease:
    """Cancel the tenant's lease: before its start with a full refund, after it with none (the
    lease ends now). Idempotent on an already cancelled lease."""
    now = now or utcnow()
    lease = get_lease(session, tenant_id, lease_id)
    if lease.state == "cancelled":
        return lease
    lease.detail = {**lease.detail, "booked_end": lease.end.isoformat()}
    lease.state, lease.cancelled_at = "cancelled", now
    if now < lease.start:
        lease.end = lease.start  # frees the whole window
        hours = Decimal(lease.detail.get("hours", 0))
        append_line(session, tenant_id=tenant_id, kind="lease",
                    description=f"lease {lease.id} cancelled before its start: refund",
                    quantity=-(lease.devices * hours), unit="device-hour",
                    unit_price=lease.unit_price, at=now, key=f"lease:{lease.id}:refund")
        if lease.amount > 0:
            ledger.top_up(session, tenant_id, lease.amount, key=f"lease-refund:{lease.id}",
                          note=f"refund of lease {lease.id}")
    else:
        lease.end = min(lease.end, now)
    session.flush()
    return lease


def get_lease(session: Session, tenant_id: int | None, lease_id: int) -> Lease:
    lease = session.get(Lease, lease_id)
    if lease is None or (tenant_id is not None and lease.tenant_id != tenant_id):
        raise NotFoundError(f"no lease {lease_id}")
    return lease


def list_leases(session: Session, tenant_id: int | None = None) -> list[Lease]:
    stmt = select(Lease).order_by(Lease.id.desc())
    if tenant_id is not None:
        stmt = stmt.where(Lease.tenant_id == tenant_id)
    return list(session.execute(stmt).scalars())


def active_leases(session: Session, at: datetime) -> list[Lease]:
    """Leases in force at ``at`` (the controller reserves their capacity)."""
    return list(session.execute(select(Lease).where(Lease.state == "active",
                                                    Lease.start <= at, Lease.end > at)
                                ).scalars())
