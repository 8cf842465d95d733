"""``GET /api/v1/federation``: the federation's name, currency and WAN links.

``/centers`` lists the centers (with live capacity from the store); the links between them are
static facts of the federation file the server runs with, given here as
``{name, currency, links: [{a, b, bits_per_s, latency_s}]}`` (bits per second, seconds).
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from suanwang.api.deps import Scope, context

router = APIRouter(tags=["centers"], responses={401: {"description": "missing or invalid token"}})


@router.get("/federation")
def federation_info(request: Request, _tenant: Scope) -> dict:
    """Name, currency and WAN links of the server's federation."""
    fed = context(request).federation
    return {"name": fed.name, "currency": fed.currency,
            "links": [link.to_dict() for link in fed.links]}
