"""Metered usage: one record per attempt (unique), appended once the attempt ends."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from suanwang.store.base import Base, DecimalText, UTCDateTime, utcnow


class UsageRecord(Base):
    """What one attempt consumed: ``device_seconds`` of ``accelerator`` (or node type) on
    ``center``, ``node_seconds``, and ``energy_kwh`` (device power x utilisation x PUE, see
    docs/billing.md). ``software`` lists product ids used (billed per device-hour)."""

    __tablename__ = "usage_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"), unique=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    center: Mapped[str] = mapped_column(String(64))
    accelerator: Mapped[str] = mapped_column(String(64))
    devices: Mapped[int] = mapped_column(Integer, default=0)
    device_seconds: Mapped[Decimal] = mapped_column(DecimalText)
    node_seconds: Mapped[Decimal] = mapped_column(DecimalText)
    energy_kwh: Mapped[Decimal] = mapped_column(DecimalText)
    software: Mapped[list] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
