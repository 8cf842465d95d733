"""/usage, /invoices, /balance: the tenant's metered usage and money."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request

from suanwang.api.deps import CurrentPrincipal, ReadSession, context
from suanwang.api.schemas.billing import (
    BalancePublic,
    InvoiceLinePublic,
    InvoicePublic,
    UsagePublic,
    UsagesPublic,
)
from suanwang.store.billing.invoices import PERIOD_PATTERN

router = APIRouter(tags=["billing"], responses={401: {"description": "missing or invalid token"}})
Period = Annotated[str, Query(pattern=PERIOD_PATTERN, description="YYYY-MM (UTC)")]


def _month(period: str) -> tuple[datetime, datetime]:
    y, m = int(period[:4]), int(period[5:])
    start = datetime(y, m, 1, tzinfo=UTC)
    end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=UTC)
    return start, end


@router.get("/usage", response_model=UsagesPublic)
def usage(who: CurrentPrincipal, session: ReadSession, period: Period | None = None,
          limit: Annotated[int, Query(ge=1, le=10000)] = 1000) -> UsagesPublic:
    """Usage records (one per attempt), newest first; ``period`` filters by end month."""
    from suanwang.store.usage import usage_for_tenant

    start, end = _month(period) if period else (None, None)
    rows = usage_for_tenant(session, who.tenant_id, start=start, end=end, limit=limit)
    return UsagesPublic(data=[UsagePublic.model_validate(r) for r in rows], count=len(rows),
                        device_hours=sum((r.device_seconds for r in rows), Decimal(0)) / 3600,
                        energy_kwh=sum((r.energy_kwh for r in rows), Decimal(0)))


@router.get("/invoices", response_model=InvoicePublic)
def invoice(who: CurrentPrincipal, request: Request, session: ReadSession,
            period: Period | None = None) -> InvoicePublic:
    """The tenant's invoice for ``period`` (default: this month): lines and total. A month
    without usage has no lines and total 0."""
    from suanwang.store.billing.invoices import get_invoice, period_of

    period = period or period_of(datetime.now(UTC))
    inv, lines = get_invoice(session, who.tenant_id, period)
    return InvoicePublic(tenant=who.name, period=period,
                         currency=context(request).federation.currency,
                         lines=[InvoiceLinePublic.model_validate(li) for li in lines],
                         total=inv.total if inv else Decimal(0))


@router.get("/balance", response_model=BalancePublic)
def balance(who: CurrentPrincipal, request: Request, session: ReadSession) -> BalancePublic:
    """Prepaid balance: ``amount`` (cash), ``held`` (open holds), ``available``."""
    from suanwang.store.billing import balance_of

    b = balance_of(session, who.tenant_id)
    return BalancePublic(tenant=who.name, amount=b.amount, held=b.held, available=b.available,
                         currency=context(request).federation.currency)
