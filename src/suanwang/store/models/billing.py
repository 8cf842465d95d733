"""Price items (immutable versions), the ledger (top-ups, holds, charges) and invoices."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from suanwang.store.base import Base, DecimalText, Money, UTCDateTime, utcnow

PRICE_KINDS = ("device_hour", "node_hour", "energy_kwh", "software_hour", "lease_hour",
               "transfer_gb")
LEDGER_KINDS = ("topup", "hold", "release", "charge", "adjustment")
LINE_KINDS = ("resource", "energy", "software", "lease", "transfer")


class PriceItem(Base):
    """A price valid from ``valid_from`` until a later item for the same key supersedes it.
    Key: (``kind``, ``center``, ``resource``); ``resource`` is the accelerator / node type, a
    software product id, or ``*`` for a center-wide energy price. Rows are never updated."""

    __tablename__ = "price_items"
    __table_args__ = (
        UniqueConstraint("kind", "center", "resource", "valid_from",
                         name="uq_price_items_key_valid_from"),
        Index("ix_price_items_lookup", "kind", "center", "resource", "valid_from"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    center: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(32))
    price: Mapped[Decimal] = mapped_column(Money)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(String(200), default="")


class LedgerEntry(Base):
    """An append-only money movement. ``amount`` > 0; its effect depends on ``kind``: topup adds
    to the balance, charge subtracts, hold/release move money into/out of ``held``.
    ``idempotency_key`` is unique, so retrying a settlement or a top-up is harmless."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_tenant_id_at", "tenant_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), nullable=True, index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    balance_after: Mapped[Decimal] = mapped_column(Money)
    held_after: Mapped[Decimal] = mapped_column(Money)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class Invoice(Base):
    """A tenant's bill for one calendar month (``period`` = YYYY-MM, UTC); ``total`` is the sum of
    its lines, kept in step as lines are appended."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("tenant_id", "period", name="uq_invoices_tenant_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    period: Mapped[str] = mapped_column(String(7))
    currency: Mapped[str] = mapped_column(String(8), default="CNY")
    total: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InvoiceLine(Base):
    """quantity (``unit``) x ``unit_price`` = ``amount`` (rounded, docs/billing.md)."""

    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), nullable=True, index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(DecimalText)
    unit: Mapped[str] = mapped_column(String(32))
    unit_price: Mapped[Decimal] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)
    price_item_id: Mapped[int | None] = mapped_column(ForeignKey("price_items.id"),
                                                      nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
