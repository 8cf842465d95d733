"""Job repository: insert desired state (API), move state by compare-and-set (controller).

Every function takes the caller's ``Session`` and never commits: the API dependency or the
control step owns the transaction. ``transition`` is the only writer of ``jobs.state``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Integer, Select, bindparam, func, select, update
from sqlalchemy.orm import Session

from suanwang.core.errors import NotFoundError, SuanwangError
from suanwang.store import states as S
from suanwang.store.base import utcnow
from suanwang.store.models import Attempt, Job, JobEvent, JobMetric


class StaleTransition(SuanwangError):
    """A compare-and-set transition found the job in a state it did not allow (another writer
    got there first); re-read and decide again."""


def create_job(session: Session, *, tenant_id: int, spec: dict, now: datetime | None = None,
               client_key: str | None = None) -> Job:
    """Insert a PENDING job (reason ``submitted``) and its first event; returns the row.

    ``spec`` is the validated job spec as JSON (``core.jobspec.spec_to_dict``). With
    ``client_key`` (the client's Idempotency-Key) an earlier job of the tenant with the same key
    is returned instead of inserting a second one.
    """
    if client_key is not None:
        old = by_client_key(session, tenant_id, client_key)
        if old is not None:
            return old
    now = now or utcnow()
    job = Job(tenant_id=tenant_id, name=spec["name"], kind=spec["kind"], spec=spec,
              client_key=client_key,
              state=S.PENDING, reason="submitted",
              priority=int(spec.get("constraints", {}).get("priority", 0)),
              created_at=now, updated_at=now)
    session.add(job)
    session.flush()
    session.add(JobEvent(job_id=job.id, at=now, from_state=None, to_state=S.PENDING,
                         reason="submitted", detail={}))
    return job


def by_client_key(session: Session, tenant_id: int, client_key: str) -> Job | None:
    return session.execute(select(Job).where(Job.tenant_id == tenant_id,
                                             Job.client_key == client_key)).scalar_one_or_none()


def create_jobs(session: Session, items: Sequence[tuple[int, dict]],
                now: datetime | None = None) -> list[Job]:
    """Batch form of :func:`create_job` for (tenant_id, spec) pairs: one flush for all rows."""
    now = now or utcnow()
    jobs = [Job(tenant_id=t, name=s["name"], kind=s["kind"], spec=s, state=S.PENDING,
                reason="submitted", priority=int(s.get("constraints", {}).get("priority", 0)),
                created_at=now, updated_at=now) for t, s in items]
    session.add_all(jobs)
    session.flush()
    session.add_all([JobEvent(job_id=j.id, at=now, from_state=None, to_state=S.PENDING,
                              reason="submitted", detail={}) for j in jobs])
    return jobs


def transition(session: Session, job_id: int, to_state: str, *,
               allowed: Iterable[str] | None = None, reason: str, detail: dict | None = None,
               now: datetime | None = None, **fields) -> str:
    """Move ``job_id`` to ``to_state`` iff its state is in ``allowed`` (compare-and-set).

    ``allowed`` defaults to the state machine's legal predecessors (``states.ALLOWED_FROM``) and
    must be a subset of them. ``fields`` sets other job columns in the same UPDATE (``placement``,
    ``plan``, ``quote``, ``message``). Appends a job_events row (from, to, reason, detail) and
    returns the previous state. Sets ``started_at`` on RUNNING and ``ended_at`` on a terminal
    state. Raises StaleTransition if the row was not in an allowed state (or NotFoundError).
    """
    if to_state not in S.ALLOWED_FROM:
        raise ValueError(f"unknown state {to_state!r}")
    legal = S.ALLOWED_FROM[to_state]
    allowed_set = frozenset(allowed) if allowed is not None else legal
    if not allowed_set <= legal:
        raise ValueError(f"{sorted(allowed_set - legal)} -> {to_state} is not a legal transition")
    now = now or utcnow()
    prev = session.execute(select(Job.state).where(Job.id == job_id)).scalar_one_or_none()
    if prev is None:
        raise NotFoundError(f"no job {job_id}")
    values: dict = {"state": to_state, "reason": reason, "updated_at": now, **fields}
    if to_state == S.RUNNING:
        values["started_at"] = func.coalesce(Job.started_at, now)
    if to_state in S.TERMINAL:
        values["ended_at"] = now
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.state == prev, Job.state.in_(allowed_set))
        .values(**values).execution_options(synchronize_session="fetch"))
    if result.rowcount != 1:
        raise StaleTransition(f"job {job_id}: cannot go {prev} -> {to_state} "
                              f"(allowed from {sorted(allowed_set)})")
    session.add(JobEvent(job_id=job_id, at=now, from_state=prev, to_state=to_state,
                         reason=reason, detail=detail or {}))
    return prev


def note(session: Session, job_id: int, *, reason: str, detail: dict | None = None,
         now: datetime | None = None) -> None:
    """An event without a state change (e.g. still PENDING, now for ``capacity``); also updates
    ``jobs.reason`` so the API shows why the job waits."""
    now = now or utcnow()
    state = session.execute(select(Job.state).where(Job.id == job_id)).scalar_one()
    session.execute(update(Job).where(Job.id == job_id)
                    .values(reason=reason, updated_at=now)
                    .execution_options(synchronize_session=False))
    session.add(JobEvent(job_id=job_id, at=now, from_state=state, to_state=state,
                         reason=reason, detail=detail or {}))


def request_cancel(session: Session, job: Job, now: datetime | None = None) -> bool:
    """Record the wish to cancel (``cancel_requested_at``); the controller acts on it. Returns
    False when the job already ended or cancel was already requested."""
    if job.state in S.TERMINAL or job.cancel_requested_at is not None:
        return False
    now = now or utcnow()
    job.cancel_requested_at = now
    session.add(JobEvent(job_id=job.id, at=now, from_state=job.state, to_state=job.state,
                         reason="cancel_requested", detail={}))
    return True


def get_job(session: Session, job_id: int, *, tenant_id: int | None) -> Job:
    """The job, scoped to ``tenant_id`` (None = any tenant, for admins and the controller).
    Another tenant's job raises NotFoundError exactly like a missing one."""
    q = select(Job).where(Job.id == job_id)
    if tenant_id is not None:
        q = q.where(Job.tenant_id == tenant_id)
    job = session.execute(q).scalar_one_or_none()
    if job is None:
        raise NotFoundError(f"no job {job_id}")
    return job


def list_jobs(session: Session, *, tenant_id: int | None, state: str | None = None,
              limit: int = 100, before_id: int | None = None) -> list[Job]:
    """Newest first; ``before_id`` pages backwards."""
    q = select(Job).order_by(Job.id.desc()).limit(limit)
    if tenant_id is not None:
        q = q.where(Job.tenant_id == tenant_id)
    if state is not None:
        q = q.where(Job.state == state)
    if before_id is not None:
        q = q.where(Job.id < before_id)
    return list(session.execute(q).scalars())


def job_rows(session: Session, *, tenant_id: int, job_id: int | None = None,
             state: str | None = None, limit: int = 100, before_id: int | None = None
             ) -> list[dict]:
    """The read path of the API: jobs as plain column dicts via a Core SELECT on the session's
    connection (no ORM identity map or instance construction, about half the CPU of
    :func:`get_job`), scoped to ``tenant_id``, newest first. The statement is built once per
    combination of filters with bound parameters (:func:`_job_rows_stmt`), so a request pays
    neither statement construction nor SQLAlchemy's cache-key walk."""
    params = {"tenant_id": tenant_id, "limit": limit, "job_id": job_id, "state": state,
              "before_id": before_id}
    q = _job_rows_stmt(job_id is not None, state is not None, before_id is not None)
    return [dict(r) for r in session.connection().execute(q, params).mappings()]


@functools.cache
def _job_rows_stmt(by_id: bool, by_state: bool, before: bool) -> Select:
    t = Job.__table__
    q = (select(t).where(t.c.tenant_id == bindparam("tenant_id")).order_by(t.c.id.desc())
         .limit(bindparam("limit", type_=Integer)))
    if by_id:
        q = q.where(t.c.id == bindparam("job_id"))
    if by_state:
        q = q.where(t.c.state == bindparam("state"))
    if before:
        q = q.where(t.c.id < bindparam("before_id"))
    return q


def events(session: Session, job_id: int) -> list[JobEvent]:
    return list(session.execute(select(JobEvent).where(JobEvent.job_id == job_id)
                                .order_by(JobEvent.id)).scalars())


def attempts(session: Session, job_id: int) -> list[Attempt]:
    return list(session.execute(select(Attempt).where(Attempt.job_id == job_id)
                                .order_by(Attempt.n)).scalars())


def metrics(session: Session, job_id: int, *, after_step: int = -1, limit: int = 1000
            ) -> list[JobMetric]:
    return list(session.execute(
        select(JobMetric).where(JobMetric.job_id == job_id, JobMetric.step > after_step)
        .order_by(JobMetric.step, JobMetric.id).limit(limit)).scalars())


def counts_by_state(session: Session) -> dict[str, int]:
    """Number of jobs in each state (for /metrics)."""
    rows = session.execute(select(Job.state, func.count()).group_by(Job.state)).all()
    return {state: n for state, n in rows}
