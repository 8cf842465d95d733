"""Jobs, their event history, attempts (one per dispatch) and live training metrics.

States (one machine, docs/platform.md): PENDING -> ADMITTED -> DISPATCHED -> RUNNING ->
SUCCEEDED | FAILED | CANCELLED, RUNNING -> RETRYING -> DISPATCHED. The API inserts PENDING rows
and sets ``cancel_requested_at``; only the controller moves ``state`` (``store.jobs.transition``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from suanwang.store.base import Base, Money, UTCDateTime, utcnow


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_id", "state", "id"),
                      Index("ix_jobs_tenant_id_id", "tenant_id", "id"),
                      UniqueConstraint("tenant_id", "client_key",
                                       name="uq_jobs_tenant_client_key"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict] = mapped_column(JSON)
    client_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="PENDING")
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    message: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    placement: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    plan: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    quote: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class JobEvent(Base):
    """One transition (or notable happening with from == to) of a job, with its reason."""

    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class Attempt(Base):
    """One dispatch of a job to one center; ``handle`` is the backend's JSON handle."""

    __tablename__ = "attempts"
    __table_args__ = (UniqueConstraint("job_id", "n", name="uq_attempts_job_id_n"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    n: Mapped[int] = mapped_column(Integer)
    center: Mapped[str] = mapped_column(String(64))
    backend: Mapped[str] = mapped_column(String(16))
    accelerator: Mapped[str | None] = mapped_column(String(64), nullable=True)
    devices: Mapped[int] = mapped_column(Integer, default=0)
    nodes: Mapped[int] = mapped_column(Integer, default=0)
    handle: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    # indexed: every controller tick reads the live (PENDING/RUNNING) attempts among all
    state: Mapped[str] = mapped_column(String(16), default="PENDING", index=True)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class JobMetric(Base):
    """A training progress sample reported by the runtime (loss, throughput, MFU)."""

    __tablename__ = "job_metrics"
    __table_args__ = (Index("ix_job_metrics_job_id_step", "job_id", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"), nullable=True)
    step: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    loss: Mapped[float | None] = mapped_column(Float, nullable=True)
    tokens_per_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    mfu: Mapped[float | None] = mapped_column(Float, nullable=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
