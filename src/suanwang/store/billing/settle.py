"""Settlement of a finished job: price its usage, append invoice lines, charge, release the hold.

For each usage record (one per attempt), at the price items valid while it ran (split at price
changes, ``prices.price_segments``):

* resource: device_seconds / 3600 device-hours x the (center, accelerator) device-hour price;
* energy: energy_kwh x the center's energy price;
* software: node_seconds / 3600 node-hours x each product's node-hour price.

Quantities round down to 6 dp and each line's amount half-up to 4 dp (``rounding``). The job's
charge is the sum of its line amounts. Idempotent per job: every line and ledger entry carries a
unique key derived from (job, attempt, kind, price item), so a retried settle changes nothing.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from suanwang.store import usage as usage_repo
from suanwang.store.billing import ledger
from suanwang.store.billing.invoices import append_line
from suanwang.store.billing.market import settle_products
from suanwang.store.billing.prices import ANY, UNITS, price_segments
from suanwang.store.billing.rounding import quantity
from suanwang.store.models import InvoiceLine, Job, UsageRecord


def settle(session: Session, job_id: int) -> Decimal:
    """Release the job's hold and charge its actual usage; returns the total charged.

    Call when the job reached a terminal state (after its usage records were appended).
    """
    job = session.get(Job, job_id)
    if job is None:
        raise ValueError(f"no job {job_id}")
    records = usage_repo.usage_for_job(session, job_id)
    for rec in records:
        _price_usage(session, job, rec)
    settle_products(session, job, records)  # marketplace, transfers, lease credits (#13)
    total = sum(session.execute(select(InvoiceLine.amount)
                                .where(InvoiceLine.job_id == job_id)).scalars(), Decimal(0))
    ledger.release_hold(session, job_id)
    if total > 0:
        ledger.charge(session, job.tenant_id, total, key=f"job:{job_id}", job_id=job_id,
                      detail={"job": job.name})
    return total.quantize(Decimal("0.0001"))


def _price_usage(session: Session, job: Job, rec: UsageRecord) -> None:
    hours = rec.device_seconds / 3600
    node_hours = rec.node_seconds / 3600
    parts = [("resource", "device_hour", rec.center, rec.accelerator, hours,
              f"{rec.accelerator} on {rec.center}")]
    parts.append(("energy", "energy_kwh", rec.center, ANY, rec.energy_kwh,
                  f"energy at {rec.center}"))
    parts += [("software", "software_hour", ANY, product, node_hours, f"software {product}")
              for product in rec.software]
    for line_kind, price_kind, center, resource, qty, what in parts:
        segments = price_segments(session, kind=price_kind, center=center, resource=resource,
                                  start=rec.started_at, end=rec.ended_at)
        for seg in segments:
            if seg.item is None and line_kind == "software":
                continue  # a product without a price is free (the marketplace sets prices)
            unit_price = seg.item.price if seg.item is not None else Decimal(0)
            note = "" if seg.item is not None else " (no price item)"
            append_line(session, tenant_id=job.tenant_id, kind=line_kind,
                        description=f"job {job.id} {job.name}: {what}{note}",
                        quantity=quantity(qty * seg.fraction), unit=UNITS[price_kind],
                        unit_price=unit_price, at=rec.ended_at, job_id=job.id,
                        attempt_id=rec.attempt_id,
                        price_item_id=seg.item.id if seg.item is not None else None,
                        key=f"job:{job.id}:attempt:{rec.attempt_id}:{line_kind}:{resource}:"
                        f"{seg.item.id if seg.item is not None else 0}")
