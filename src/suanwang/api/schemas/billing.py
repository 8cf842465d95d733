"""Balances, usage, invoices, centers, and the admin inputs (tenants, quotas, top-ups, prices)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field

from suanwang.api.schemas.common import In, MoneyIn, MoneyOut, Out, PriceIn, QuantityOut

Label = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00]+$")]


class BalancePublic(Out):
    tenant: str
    amount: MoneyOut
    held: MoneyOut
    available: MoneyOut
    currency: str


class UsagePublic(Out):
    id: int
    job_id: int
    attempt_id: int
    center: str
    accelerator: str
    devices: int
    device_seconds: QuantityOut
    node_seconds: QuantityOut
    energy_kwh: QuantityOut
    software: list[str]
    started_at: datetime
    ended_at: datetime


class UsagesPublic(Out):
    data: list[UsagePublic]
    count: int
    device_hours: QuantityOut
    energy_kwh: QuantityOut


class InvoiceLinePublic(Out):
    id: int
    job_id: int | None
    attempt_id: int | None
    kind: str
    description: str
    quantity: QuantityOut
    unit: str
    unit_price: MoneyOut
    amount: MoneyOut
    price_item_id: int | None
    at: datetime


class InvoicePublic(Out):
    tenant: str
    period: str
    currency: str
    lines: list[InvoiceLinePublic]
    total: MoneyOut


class CenterPublic(Out):
    name: str
    kind: str
    city: str
    backend: str
    pue: float
    pools: list[dict[str, Any]]
    capacity: dict[str, Any]
    capacity_at: datetime | None


class CentersPublic(Out):
    data: list[CenterPublic]
    count: int


class TenantCreate(In):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")]
    balance: MoneyIn = Decimal(0)  # a Decimal: defaults are not validated
    is_admin: bool = False
    max_devices: Annotated[int, Field(ge=0, le=1_000_000)] = 0


class TenantPublic(Out):
    id: int
    name: str
    is_admin: bool
    created_at: datetime


class TenantCreated(Out):
    tenant: TenantPublic
    token: str


class TenantsPublic(Out):
    data: list[TenantPublic]
    count: int


class QuotaUpdate(In):
    max_devices: Annotated[int, Field(ge=0, le=1_000_000)]
    max_running_jobs: Annotated[int, Field(ge=0, le=1_000_000)] = 0


class QuotaPublic(Out):
    tenant_id: int
    max_devices: int
    max_running_jobs: int


class TopUpCreate(In):
    amount: Annotated[MoneyIn, Field(gt=0)]
    key: Label
    note: Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*$")] = ""


class LedgerPublic(Out):
    id: int
    kind: str
    amount: MoneyOut
    job_id: int | None
    balance_after: MoneyOut
    held_after: MoneyOut
    at: datetime


class PriceCreate(In):
    kind: Literal["device_hour", "node_hour", "energy_kwh", "software_hour", "lease_hour",
                  "transfer_gb"]
    center: Label
    resource: Label
    price: PriceIn
    valid_from: datetime
    note: Annotated[str, Field(max_length=200, pattern=r"^[^\x00]*$")] = ""


class PricePublic(Out):
    id: int
    kind: str
    center: str
    resource: str
    unit: str
    price: MoneyOut
    valid_from: datetime
    note: str


class PricesPublic(Out):
    data: list[PricePublic]
    count: int
