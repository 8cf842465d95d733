"""/leases: dedicated capacity for a time window (advance reservations), billed whole.

POST answers 201 with the lease, 409 ``{"detail", "earliest_start"}`` when the window does not
fit the pool's capacity (other leases, running jobs' predicted ends), 402 when the balance does
not cover the lease, 422 naming the field for a bad center/accelerator/devices/window."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from fastapi.responses import JSONResponse

from suanwang.api.deps import ReadSession, Scope, WriteSession
from suanwang.api.schemas.market import (
    LeaseConflictBody,
    LeaseCreate,
    LeasePublic,
    LeasesPublic,
)

router = APIRouter(prefix="/leases", tags=["leases"],
                   responses={401: {"description": "missing or invalid token"}})
LeaseId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=LeasePublic,
             responses={409: {"model": LeaseConflictBody,
                              "description": "not free for the whole window"},
                        402: {"description": "balance does not cover the lease"}})
def create(body: LeaseCreate, tenant: Scope, session: WriteSession):
    """Admit, bill and record a lease (docs/marketplace.md)."""
    from suanwang.core.errors import ConfigError
    from suanwang.store.billing.ledger import InsufficientBalance
    from suanwang.store.leases import LeaseConflict, create_lease

    for f in ("start", "end"):
        if getattr(body, f).tzinfo is None:
            raise ConfigError("needs a time zone (e.g. 2026-12-01T00:00:00Z)", field=f)
    try:
        lease = create_lease(session, tenant, center=body.center, accelerator=body.accelerator,
                             devices=body.devices, start=body.start, end=body.end)
    except LeaseConflict as exc:
        doc = LeaseConflictBody(detail=str(exc), earliest_start=exc.earliest_start)
        return JSONResponse(doc.model_dump(mode="json"), status_code=409)
    except InsufficientBalance as exc:
        return JSONResponse({"detail": str(exc)}, status_code=402)
    session.commit()
    return LeasePublic.model_validate(lease)


@router.get("", response_model=LeasesPublic)
def list_(tenant: Scope, session: ReadSession) -> LeasesPublic:
    """The caller's leases, newest first."""
    from suanwang.store.leases import list_leases

    rows = list_leases(session, tenant)
    return LeasesPublic(data=[LeasePublic.model_validate(r) for r in rows], count=len(rows))


@router.get("/{lease_id}", response_model=LeasePublic,
            responses={404: {"description": "no such lease"}})
def show(lease_id: LeaseId, tenant: Scope, session: ReadSession) -> LeasePublic:
    from suanwang.store.leases import get_lease

    return LeasePublic.model_validate(get_lease(session, tenant, lease_id))


@router.post("/{lease_id}/cancel", response_model=LeasePublic,
             responses={404: {"description": "no such lease"}})
def cancel(lease_id: LeaseId, tenant: Scope, session: WriteSession) -> LeasePublic:
    """Cancel: before the start with a full refund, after it the lease ends now (no refund)."""
    from suanwang.store.leases import cancel_lease

    lease = cancel_lease(session, tenant, lease_id)
    session.commit()
    return LeasePublic.model_validate(lease)
