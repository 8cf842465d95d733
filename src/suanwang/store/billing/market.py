"""Billing of marketplace products, data transfers and lease-covered usage at job settlement,
and the providers' monthly statements.

:func:`settle_products` runs inside ``settle`` (after the resource and energy lines, before the
charge is summed) and appends, per usage record (attempt) of the job:

* **software** line per attached product (software, base model, datasets) at the version valid
  when the attempt started: ``use`` -> 1 per job; ``node_hour`` -> node_seconds / 3600;
  ``device_hour`` -> device_seconds / 3600; ``gb`` -> size_bytes / 10^9 per job. Each line is
  credited to the product's provider (``product_charges``);
* **transfer** line when a model/dataset is used away from its home center: size_bytes / 10^9 GB
  x the ``transfer_gb`` price into that center, once per (job, product, center);
* **lease** credit line (negative quantity) for the part of the usage inside one of the
  tenant's active leases on the same center and accelerator: the metered device-hours x the
  fraction of the attempt's interval inside the lease x min(1, lease devices / devices), at the
  device-hour price of the resource line, so usage inside a lease is not billed twice (the lease
  was billed whole when created, ``store.leases``). Energy stays billed.

Every line has an idempotency key, so a second settle changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from suanwang.store import market
from suanwang.store.billing.invoices import append_line, check_period
from suanwang.store.billing.prices import price_segments
from suanwang.store.billing.rounding import quantity
from suanwang.store.models import Job, Lease, Product, ProductCharge, UsageRecord

UNIT_NAMES = {"use": "use", "node_hour": "node-hour", "device_hour": "device-hour", "gb": "GB"}


def _product_qty(p: Product, rec: UsageRecord, first: bool) -> Decimal | None:
    if p.price_unit == "node_hour":
        return quantity(rec.node_seconds / 3600)
    if p.price_unit == "device_hour":
        return quantity(rec.device_seconds / 3600)
    if not first:  # per-use and per-GB fees are charged once per job
        return None
    return Decimal(1) if p.price_unit == "use" else quantity(Decimal(p.size_bytes) / 10**9)


def _product_lines(session: Session, job: Job, rec: UsageRecord, first: bool) -> None:
    for _field, name in market.attached_names(job.spec):
        p = market.version_at(session, name, rec.started_at)
        if p is None:
            continue
        qty = _product_qty(p, rec, first)
        if qty is not None:
            key = f"job:{job.id}:attempt:{rec.attempt_id}:product:{p.name}:{p.version}"
            line = append_line(session, tenant_id=job.tenant_id, kind="software",
                               description=f"job {job.id} {job.name}: {p.kind} {p.name} "
                               f"v{p.version} per {UNIT_NAMES[p.price_unit]}",
                               quantity=qty, unit=UNIT_NAMES[p.price_unit], unit_price=p.price,
                               at=rec.ended_at, job_id=job.id, attempt_id=rec.attempt_id,
                               key=key)
            _credit(session, line, p, job, qty)
        if p.kind != "software" and p.home_center and p.home_center != rec.center:
            gb = quantity(Decimal(p.size_bytes) / 10**9)
            append_line(session, tenant_id=job.tenant_id, kind="transfer",
                        description=f"job {job.id} {job.name}: {p.name} {p.home_center} -> "
                        f"{rec.center} over the WAN", quantity=gb, unit="GB",
                        unit_price=market.transfer_price(session, rec.center, rec.started_at),
                        at=rec.ended_at, job_id=job.id, attempt_id=rec.attempt_id,
                        key=f"job:{job.id}:transfer:{p.name}:{rec.center}")


def _credit(session: Session, line, p: Product, job: Job, qty: Decimal) -> None:
    if session.execute(select(ProductCharge.id).where(ProductCharge.line_id == line.id)).first():
        return
    session.add(ProductCharge(line_id=line.id, product_id=p.id, provider_id=p.provider_id,
                              buyer_id=job.tenant_id, job_id=job.id, kind=p.kind,
                              quantity=qty, amount=line.amount, at=line.at))


def _lease_credits(session: Session, job: Job, rec: UsageRecord) -> None:
    leases = session.execute(select(Lease).where(
        Lease.tenant_id == job.tenant_id, Lease.center == rec.center,
        Lease.accelerator == rec.accelerator, Lease.state == "active",
        Lease.start < rec.ended_at, Lease.end > rec.started_at)).scalars()
    span = (rec.ended_at - rec.started_at).total_seconds()
    for lease in leases:
        start, end = max(lease.start, rec.started_at), min(lease.end, rec.ended_at)
        inside = (end - start).total_seconds() / span if span > 0 else 1.0
        share = min(Decimal(1), Decimal(lease.devices) / max(rec.devices, 1))
        hours = rec.device_seconds / 3600 * Decimal(repr(inside)) * share
        for seg in price_segments(session, kind="device_hour", center=rec.center,
                                  resource=rec.accelerator, start=start, end=end):
            if seg.item is None:
                continue
            append_line(session, tenant_id=job.tenant_id, kind="lease",
                        description=f"job {job.id} {job.name}: {rec.accelerator} usage inside "
                        f"lease {lease.id} (already billed)",
                        quantity=-quantity(hours * seg.fraction), unit="device-hour",
                        unit_price=seg.item.price, at=rec.ended_at, job_id=job.id,
                        attempt_id=rec.attempt_id, price_item_id=seg.item.id,
                        key=f"job:{job.id}:attempt:{rec.attempt_id}:lease:{lease.id}:"
                        f"{seg.item.id}")


def settle_products(session: Session, job: Job, records: list[UsageRecord]) -> None:
    """Append the job's product, transfer and lease-credit lines (module doc)."""
    for i, rec in enumerate(records):
        _product_lines(session, job, rec, first=i == 0)
        _lease_credits(session, job, rec)


def provider_statement(session: Session, provider_id: int, period: str) -> dict:
    """What the provider's products earned in ``period`` (YYYY-MM, UTC, by invoice line time):
    ``{"period", "products": [{"name", "version", "kind", "lines", "quantity", "amount"}],
    "total"}``; amounts are exactly the buyers' invoice line amounts."""
    start, end = month_bounds(period)
    rows = session.execute(
        select(Product.name, Product.version, Product.kind, ProductCharge.quantity,
               ProductCharge.amount)
        .join(Product, Product.id == ProductCharge.product_id)
        .where(ProductCharge.provider_id == provider_id, ProductCharge.at >= start,
               ProductCharge.at < end)).all()
    agg: dict[tuple, dict] = {}
    for name, version, kind, qty, amount in rows:
        a = agg.setdefault((name, version), {"name": name, "version": version, "kind": kind,
                                             "lines": 0, "quantity": Decimal(0),
                                             "amount": Decimal(0)})
        a["lines"] += 1
        a["quantity"] += qty
        a["amount"] += amount
    products = sorted(agg.values(), key=lambda a: (a["name"], a["version"]))
    return {"period": period, "products": products,
            "total": sum((a["amount"] for a in products), Decimal(0))}


def month_bounds(period: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of ``period`` (YYYY-MM), UTC."""
    y, m = int(check_period(period)[:4]), int(period[5:])
    return datetime(y, m, 1, tzinfo=UTC), datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=UTC)
