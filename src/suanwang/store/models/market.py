"""Marketplace and leasing tables: products (versioned), what they earned, leases.

* :class:`Product`: one *version* of a product a provider lists. ``name`` identifies the product
  (jobs attach it by name); a price or content change adds a row with ``version`` + 1 and a later
  ``valid_from`` (rows are never edited, like ``price_items``). ``kind``: software (runnable only
  at ``centers``), model or dataset (``size_bytes`` stored at ``home_center``).
* :class:`ProductCharge`: the part of an invoice line a product earned, for provider statements.
* :class:`Lease`: dedicated capacity (``devices`` of ``accelerator`` at ``center``) for a tenant
  over [``start``, ``end``), billed by the hour whether used or not.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from suanwang.store.base import Base, DecimalText, Money, UTCDateTime, utcnow

PRODUCT_KINDS = ("software", "model", "dataset")
PRICE_UNITS = ("use", "node_hour", "device_hour", "gb")
LEASE_STATES = ("active", "cancelled")


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_products_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    release: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(String(2000), default="")
    centers: Mapped[list] = mapped_column(JSON, default=list)
    home_center: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    price_unit: Mapped[str] = mapped_column(String(16))
    price: Mapped[Decimal] = mapped_column(Money)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProductCharge(Base):
    """One invoice line's amount credited to a product's provider (statement source)."""

    __tablename__ = "product_charges"
    __table_args__ = (Index("ix_product_charges_provider_id_at", "provider_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("invoice_lines.id"), unique=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[Decimal] = mapped_column(DecimalText)
    amount: Mapped[Decimal] = mapped_column(Money)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Lease(Base):
    __tablename__ = "leases"
    __table_args__ = (Index("ix_leases_center_accelerator_start", "center", "accelerator",
                            "start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    center: Mapped[str] = mapped_column(String(64))
    accelerator: Mapped[str] = mapped_column(String(64))
    devices: Mapped[int] = mapped_column(Integer)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default="active")
    unit_price: Mapped[Decimal] = mapped_column(Money)
    discount: Mapped[Decimal] = mapped_column(DecimalText)
    amount: Mapped[Decimal] = mapped_column(Money)
    reservation: Mapped[str | None] = mapped_column(String(100), nullable=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
