"""Marketplace products, provider statements and leases as the API takes and shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from suanwang.api.schemas.common import In, MoneyOut, Out, PriceIn, QuantityOut
from suanwang.core.jobspec import NAME_PATTERN

ProductName = Annotated[str, Field(pattern=NAME_PATTERN, description="1-63 chars: letters, "
                                   "digits, . _ -; jobs attach the product by this name")]
CenterName = Annotated[str, Field(min_length=1, max_length=64)]
Kind = Literal["software", "model", "dataset"]
Unit = Literal["use", "node_hour", "device_hour", "gb"]


class ProductUpdate(In):
    """Fields of a new version (omitted = as in the previous version)."""

    title: Annotated[str, Field(max_length=200)] | None = None
    release: Annotated[str, Field(max_length=64)] | None = None
    description: Annotated[str, Field(max_length=2000)] | None = None
    centers: Annotated[list[CenterName], Field(max_length=256)] | None = None
    home_center: CenterName | None = None
    size_bytes: Annotated[int, Field(ge=0, le=10**16)] | None = None
    price_unit: Unit | None = None
    price: PriceIn | None = None


class ProductCreate(ProductUpdate):
    """A new product: ``kind`` software needs ``centers`` (where it is installed); model and
    dataset need ``home_center`` and ``size_bytes``. ``price`` per ``price_unit``."""

    name: ProductName
    kind: Kind
    price_unit: Unit
    price: PriceIn


class ProductPublic(Out):
    id: int
    name: str
    version: int
    kind: str
    provider_id: int
    title: str
    release: str
    description: str
    centers: list[str]
    home_center: str | None
    size_bytes: int
    price_unit: str
    price: MoneyOut
    valid_from: datetime


class ProductsPublic(Out):
    data: list[ProductPublic]
    count: int


class ProductDetail(Out):
    product: ProductPublic
    versions: list[ProductPublic]


class StatementLine(Out):
    name: str
    version: int
    kind: str
    lines: int
    quantity: QuantityOut
    amount: MoneyOut


class StatementPublic(Out):
    provider: str
    period: str
    currency: str
    products: list[StatementLine]
    total: MoneyOut


class LeaseCreate(In):
    """``devices`` (whole nodes) of ``accelerator`` at ``center`` over [start, end) (ISO 8601
    with a time zone)."""

    center: CenterName
    accelerator: Annotated[str, Field(min_length=1, max_length=64)]
    devices: Annotated[int, Field(ge=1, le=1_000_000)]
    start: datetime
    end: datetime


class LeasePublic(Out):
    id: int
    tenant_id: int
    center: str
    accelerator: str
    devices: int
    start: datetime
    end: datetime
    state: str
    unit_price: MoneyOut
    discount: QuantityOut
    amount: MoneyOut
    reservation: str | None
    created_at: datetime
    cancelled_at: datetime | None


class LeasesPublic(Out):
    data: list[LeasePublic]
    count: int


class LeaseConflictBody(Out):
    detail: str
    earliest_start: datetime | None


