"""Invoices: one per tenant per calendar month (UTC), lines appended, total kept in step."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from suanwang.core.errors import ConfigError
from suanwang.store.base import utcnow
from suanwang.store.billing.rounding import amount as line_amount
from suanwang.store.models import Invoice, InvoiceLine
from suanwang.store.models.billing import LINE_KINDS

PERIOD_PATTERN = r"^(19[7-9]\d|[2-9]\d{3})-(0[1-9]|1[0-2])$"  # 1970-01 .. 9999-12
PERIOD = re.compile(PERIOD_PATTERN)


def period_of(at: datetime) -> str:
    return f"{at.year:04d}-{at.month:02d}"


def check_period(period: str) -> str:
    if not PERIOD.match(period):
        raise ConfigError(f"must be YYYY-MM, 1970-01 or later (got {period!r})", field="period")
    return period


def invoice_for(session: Session, tenant_id: int, period: str, currency: str = "CNY"
                ) -> Invoice:
    """The tenant's invoice for ``period``, created empty if missing."""
    inv = session.execute(select(Invoice).where(Invoice.tenant_id == tenant_id,
                                                Invoice.period == period)).scalar_one_or_none()
    if inv is None:
        inv = Invoice(tenant_id=tenant_id, period=period, currency=currency, total=Decimal(0))
        session.add(inv)
        session.flush()
    return inv


def append_line(session: Session, *, tenant_id: int, kind: str, description: str,
                quantity: Decimal, unit: str, unit_price: Decimal, at: datetime, key: str,
                job_id: int | None = None, attempt_id: int | None = None,
                price_item_id: int | None = None) -> InvoiceLine:
    """Append one line (amount = quantity x unit_price, rounded) to the invoice of ``at``'s
    month; idempotent on ``key``. ``kind``: resource | energy | software | lease."""
    if kind not in LINE_KINDS:
        raise ValueError(f"line kind {kind!r} not in {LINE_KINDS}")
    old = session.execute(select(InvoiceLine).where(InvoiceLine.idempotency_key == key)
                          ).scalar_one_or_none()
    if old is not None:
        return old
    inv = invoice_for(session, tenant_id, period_of(at))
    amt = line_amount(quantity, unit_price)
    line = InvoiceLine(invoice_id=inv.id, tenant_id=tenant_id, job_id=job_id,
                       attempt_id=attempt_id, kind=kind, description=description[:300],
                       quantity=quantity, unit=unit, unit_price=unit_price, amount=amt,
                       price_item_id=price_item_id, idempotency_key=key, at=at)
    session.add(line)
    inv.total = inv.total + amt
    inv.updated_at = utcnow()
    session.flush()
    return line


def get_invoice(session: Session, tenant_id: int, period: str
                ) -> tuple[Invoice | None, list[InvoiceLine]]:
    check_period(period)
    inv = session.execute(select(Invoice).where(Invoice.tenant_id == tenant_id,
                                                Invoice.period == period)).scalar_one_or_none()
    if inv is None:
        return None, []
    lines = list(session.execute(select(InvoiceLine).where(InvoiceLine.invoice_id == inv.id)
                                 .order_by(InvoiceLine.id)).scalars())
    return inv, lines


def list_invoices(session: Session, tenant_id: int) -> list[Invoice]:
    return list(session.execute(select(Invoice).where(Invoice.tenant_id == tenant_id)
                                .order_by(Invoice.period.desc())).scalars())
