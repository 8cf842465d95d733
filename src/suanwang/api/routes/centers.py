"""/centers: the federation's centers with their pools and last reported free capacity."""

from __future__ import annotations

from fastapi import APIRouter

from suanwang.api.deps import ReadSession, Scope
from suanwang.api.schemas.billing import CenterPublic, CentersPublic

router = APIRouter(prefix="/centers", tags=["centers"],
                   responses={401: {"description": "missing or invalid token"}})


@router.get("", response_model=CentersPublic)
def list_centers(_tenant: Scope, session: ReadSession) -> CentersPublic:
    from suanwang.store.centers import list_centers as rows

    data = [CenterPublic.model_validate(c) for c in rows(session)]
    return CentersPublic(data=data, count=len(data))
