"""/products: the marketplace. Anyone with a token browses and searches; the tenant that lists
a product is its provider and the only one who may add versions; /provider-statement shows what
the caller's products earned in a month."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status

from suanwang.api.deps import CurrentPrincipal, ReadSession, WriteSession, context
from suanwang.api.schemas.market import (
    Kind,
    ProductCreate,
    ProductDetail,
    ProductPublic,
    ProductsPublic,
    ProductUpdate,
    StatementLine,
    StatementPublic,
)
from suanwang.core.jobspec import NAME_PATTERN
from suanwang.store.billing.invoices import PERIOD_PATTERN

router = APIRouter(tags=["products"], responses={401: {"description": "missing or invalid token"}})
NameParam = Annotated[str, Path(pattern=NAME_PATTERN)]


def _centers(request: Request) -> list[str]:
    return [c.name for c in context(request).federation.centers]


@router.get("/products", response_model=ProductsPublic)
def list_products(who: CurrentPrincipal, session: ReadSession, kind: Kind | None = None,
                  q: Annotated[str | None, Query(max_length=100)] = None,
                  center: Annotated[str | None, Query(max_length=64)] = None,
                  mine: bool = False,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> ProductsPublic:
    """Latest version of every product; filter by ``kind``, text ``q`` (name, title,
    description), ``center`` (installed there or stored there), ``mine`` (the caller's)."""
    from suanwang.store.market import search

    rows = search(session, kind=kind, q=q, center=center,
                  provider_id=who.tenant_id if mine else None, limit=limit)
    return ProductsPublic(data=[ProductPublic.model_validate(p) for p in rows], count=len(rows))


@router.post("/products", status_code=status.HTTP_201_CREATED, response_model=ProductPublic)
def create_product(body: ProductCreate, who: CurrentPrincipal, request: Request,
                   session: WriteSession) -> ProductPublic:
    """List a new product (version 1); the caller becomes its provider."""
    from suanwang.store.market import create_product as create

    row = create(session, who.tenant_id, body.model_dump(), _centers(request))
    session.commit()
    return ProductPublic.model_validate(row)


@router.get("/products/{name}", response_model=ProductDetail,
            responses={404: {"description": "no such product"}})
def show_product(name: NameParam, _: CurrentPrincipal, session: ReadSession) -> ProductDetail:
    """The latest version and the full version history of one product."""
    from suanwang.core.errors import NotFoundError
    from suanwang.store.market import versions

    rows = versions(session, name)
    if not rows:
        raise NotFoundError(f"no product {name!r}")
    pub = [ProductPublic.model_validate(p) for p in rows]
    return ProductDetail(product=pub[-1], versions=pub)


@router.patch("/products/{name}", response_model=ProductPublic,
              responses={403: {"description": "not the product's provider"},
                         404: {"description": "no such product"}})
def update_product(name: NameParam, body: ProductUpdate, who: CurrentPrincipal,
                   request: Request, session: WriteSession) -> ProductPublic:
    """Add a version with the given changes (a price change is a new version; usage before
    it keeps the old price)."""
    from suanwang.store.market import add_version

    try:
        row = add_version(session, who.tenant_id, name, body.model_dump(exclude_none=True),
                          _centers(request))
    except PermissionError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    session.commit()
    return ProductPublic.model_validate(row)


@router.get("/provider-statement", response_model=StatementPublic)
def statement(who: CurrentPrincipal, request: Request, session: ReadSession,
              period: Annotated[str | None, Query(pattern=PERIOD_PATTERN)] = None
              ) -> StatementPublic:
    """What the caller's products earned in ``period`` (YYYY-MM; default this month): per
    product version, the number of invoice lines, quantity and amount, and the total."""
    from suanwang.store.billing.invoices import period_of
    from suanwang.store.billing.market import provider_statement

    period = period or period_of(datetime.now(UTC))
    doc = provider_statement(session, who.tenant_id, period)
    return StatementPublic(provider=who.name, period=period,
                           currency=context(request).federation.currency,
                           products=[StatementLine(**p) for p in doc["products"]],
                           total=doc["total"])
