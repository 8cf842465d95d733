"""/admin: tenants, quotas, top-ups and price items (admin token only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from suanwang.api.deps import Admin, ReadSession, WriteSession
from suanwang.api.schemas.billing import (
    LedgerPublic,
    PriceCreate,
    PricePublic,
    PricesPublic,
    QuotaPublic,
    QuotaUpdate,
    TenantCreate,
    TenantCreated,
    TenantPublic,
    TenantsPublic,
    TopUpCreate,
)
from suanwang.core.errors import NotFoundError

router = APIRouter(prefix="/admin", tags=["admin"],
                   responses={401: {"description": "missing or invalid token"},
                              403: {"description": "not an admin token"}})
TenantId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _tenant(session, tenant_id: int):
    from suanwang.store.models import Tenant

    t = session.get(Tenant, tenant_id)
    if t is None:
        raise NotFoundError(f"no tenant {tenant_id}")
    return t


@router.get("/tenants", response_model=TenantsPublic)
def list_tenants(_: Admin, session: ReadSession) -> TenantsPublic:
    from sqlalchemy import select

    from suanwang.store.models import Tenant

    rows = list(session.execute(select(Tenant).order_by(Tenant.id)).scalars())
    return TenantsPublic(data=[TenantPublic.model_validate(t) for t in rows], count=len(rows))


@router.post("/tenants", status_code=status.HTTP_201_CREATED, response_model=TenantCreated)
def create_tenant(body: TenantCreate, _: Admin, session: WriteSession) -> TenantCreated:
    """Create a tenant with an initial balance; the token is shown only in this response."""
    from suanwang.store.tenants import create_tenant as create

    tenant, token = create(session, body.name, balance=body.balance, is_admin=body.is_admin,
                           max_devices=body.max_devices)
    session.commit()
    return TenantCreated(tenant=TenantPublic.model_validate(tenant), token=token)


@router.put("/tenants/{tenant_id}/quota", response_model=QuotaPublic)
def set_quota(tenant_id: TenantId, body: QuotaUpdate, _: Admin, session: WriteSession
              ) -> QuotaPublic:
    from suanwang.store.base import utcnow
    from suanwang.store.models import Quota

    _tenant(session, tenant_id)
    q = session.get(Quota, tenant_id) or Quota(tenant_id=tenant_id)
    q.max_devices, q.max_running_jobs, q.updated_at = (body.max_devices, body.max_running_jobs,
                                                       utcnow())
    session.add(q)
    session.commit()
    return QuotaPublic.model_validate(q)


@router.post("/tenants/{tenant_id}/top-ups", status_code=status.HTTP_201_CREATED,
             response_model=LedgerPublic)
def top_up(tenant_id: TenantId, body: TopUpCreate, _: Admin, session: WriteSession
           ) -> LedgerPublic:
    """Add money; ``key`` makes a retried top-up harmless (same key -> same entry)."""
    from suanwang.store.billing import top_up as add

    _tenant(session, tenant_id)
    entry = add(session, tenant_id, body.amount, key=f"{tenant_id}:{body.key}", note=body.note)
    session.commit()
    return LedgerPublic.model_validate(entry)


@router.get("/prices", response_model=PricesPublic)
def list_prices(_: Admin, session: ReadSession) -> PricesPublic:
    from suanwang.store.billing.prices import current_prices

    rows = current_prices(session)
    return PricesPublic(data=[PricePublic.model_validate(p) for p in rows], count=len(rows))


@router.post("/prices", status_code=status.HTTP_201_CREATED, response_model=PricePublic)
def add_price(body: PriceCreate, _: Admin, session: WriteSession) -> PricePublic:
    """Add a price version valid from ``valid_from`` (items are immutable: never edited)."""
    from datetime import UTC

    from suanwang.store.billing.prices import add_price as add

    valid_from = body.valid_from if body.valid_from.tzinfo else body.valid_from.replace(
        tzinfo=UTC)
    item = add(session, kind=body.kind, center=body.center, resource=body.resource,
               price=body.price, valid_from=valid_from, note=body.note)
    session.commit()
    return PricePublic.model_validate(item)
