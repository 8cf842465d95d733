"""Usage records: what each attempt consumed, appended once (unique per attempt)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from suanwang.store.billing.rounding import quantity
from suanwang.store.models import Attempt, Job, UsageRecord


def record_usage(session: Session, *, attempt_id: int, device_seconds: float | Decimal,
                 node_seconds: float | Decimal, energy_kwh: float | Decimal,
                 started_at: datetime, ended_at: datetime, accelerator: str | None = None,
                 devices: int | None = None, software: list[str] | None = None
                 ) -> UsageRecord:
    """Append the usage of ``attempt_id`` (idempotent: a second call returns the first row).

    Center, job, tenant, accelerator and devices default to the attempt's. Energy comes from
    ``store.billing.energy.energy_kwh`` (the caller knows the device power and PUE).
    """
    old = session.execute(select(UsageRecord).where(UsageRecord.attempt_id == attempt_id)
                          ).scalar_one_or_none()
    if old is not None:
        return old
    attempt = session.get(Attempt, attempt_id)
    if attempt is None:
        raise ValueError(f"no attempt {attempt_id}")
    job = session.get(Job, attempt.job_id)
    rec = UsageRecord(
        attempt_id=attempt_id, job_id=attempt.job_id, tenant_id=job.tenant_id,
        center=attempt.center, accelerator=accelerator or attempt.accelerator or "",
        devices=devices if devices is not None else attempt.devices,
        device_seconds=quantity(device_seconds), node_seconds=quantity(node_seconds),
        energy_kwh=quantity(energy_kwh), software=list(software or job.spec.get("software", [])),
        started_at=started_at, ended_at=ended_at)
    session.add(rec)
    session.flush()
    return rec


def usage_for_job(session: Session, job_id: int) -> list[UsageRecord]:
    return list(session.execute(select(UsageRecord).where(UsageRecord.job_id == job_id)
                                .order_by(UsageRecord.id)).scalars())


def usage_for_tenant(session: Session, tenant_id: int, *, start: datetime | None = None,
                     end: datetime | None = None, limit: int = 1000) -> list[UsageRecord]:
    q = select(UsageRecord).where(UsageRecord.tenant_id == tenant_id)
    if start is not None:
        q = q.where(UsageRecord.ended_at >= start)
    if end is not None:
        q = q.where(UsageRecord.ended_at < end)
    return list(session.execute(q.order_by(UsageRecord.id.desc()).limit(limit)).scalars())


def devices_in_use(session: Session, tenant_id: int) -> int:
    """Devices held by the tenant's attempts that have not ended (for quota admission)."""
    n = session.execute(select(func.coalesce(func.sum(Attempt.devices), 0))
                        .join(Job, Job.id == Attempt.job_id)
                        .where(Job.tenant_id == tenant_id, Attempt.ended_at.is_(None))
                        ).scalar_one()
    return int(n)
