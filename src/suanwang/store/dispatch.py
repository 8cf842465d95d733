"""Queries of the control loop (reads it repeats every tick, and its few inserts).

Kept apart from the API's repositories (``store.jobs``): these are shaped for one controller
tick over many jobs — narrow column sets instead of whole ORM rows where the tick is hot (10,000
live attempts are read every tick). Like every store function they never commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from suanwang.store import states as S
from suanwang.store.models import Attempt, CenterRow, Job, JobEvent, Quota, Tenant

LIVE = ("PENDING", "RUNNING")  # attempt states that still hold devices


def live_attempts(session: Session) -> Sequence[Row[Any]]:
    """(id, job_id, n, center, state, devices, accelerator, nodes, has_handle) of attempts not
    yet terminal, oldest first."""
    return session.execute(
        select(Attempt.id, Attempt.job_id, Attempt.n, Attempt.center, Attempt.state,
               Attempt.devices, Attempt.accelerator, Attempt.nodes,
               Attempt.handle.is_not(None).label("has_handle"))
        .where(Attempt.state.in_(LIVE)).order_by(Attempt.id)).all()


def undispatched(session: Session) -> Sequence[Row[Any]]:
    """Rows as :func:`live_attempts` of attempts decided but not yet submitted (no handle)."""
    return session.execute(
        select(Attempt.id, Attempt.job_id, Attempt.n, Attempt.center, Attempt.state,
               Attempt.devices, Attempt.accelerator, Attempt.nodes,
               Attempt.handle.is_not(None).label("has_handle"))
        .where(Attempt.state == "PENDING", Attempt.handle.is_(None)).order_by(Attempt.id)).all()


def attempts_by_id(session: Session, ids: Iterable[int]) -> dict[int, Attempt]:
    ids = list(ids)
    out: dict[int, Attempt] = {}
    for i in range(0, len(ids), 500):
        for a in session.execute(select(Attempt).where(Attempt.id.in_(ids[i:i + 500]))).scalars():
            out[a.id] = a
    return out


def jobs_by_id(session: Session, ids: Iterable[int]) -> dict[int, Job]:
    ids = list(ids)
    out: dict[int, Job] = {}
    for i in range(0, len(ids), 500):
        for j in session.execute(select(Job).where(Job.id.in_(ids[i:i + 500]))).scalars():
            out[j.id] = j
    return out


def jobs_in(session: Session, states: Iterable[str], *, limit: int = 100_000) -> list[Job]:
    """Jobs in any of ``states``, in submission order."""
    return list(session.execute(select(Job).where(Job.state.in_(list(states)))
                                .order_by(Job.id).limit(limit)).scalars())


def job_ids_in(session: Session, states: Iterable[str]) -> list[int]:
    return list(session.execute(select(Job.id).where(Job.state.in_(list(states)))
                                .order_by(Job.id)).scalars())


def cancel_requested(session: Session) -> list[Job]:
    """Active jobs whose tenant asked to cancel them."""
    return list(session.execute(select(Job).where(Job.state.in_(list(S.ACTIVE)),
                                                  Job.cancel_requested_at.is_not(None))
                                .order_by(Job.id)).scalars())


def latest_attempt(session: Session, job_id: int) -> Attempt | None:
    return session.execute(select(Attempt).where(Attempt.job_id == job_id)
                           .order_by(Attempt.n.desc()).limit(1)).scalar_one_or_none()


def latest_attempts(session: Session, job_ids: Iterable[int]) -> dict[int, Attempt]:
    """The newest attempt of each job that has one."""
    ids = list(job_ids)
    out: dict[int, Attempt] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        newest = (select(Attempt.job_id, func.max(Attempt.n).label("n"))
                  .where(Attempt.job_id.in_(chunk)).group_by(Attempt.job_id).subquery())
        q = select(Attempt).join(newest, (Attempt.job_id == newest.c.job_id)
                                 & (Attempt.n == newest.c.n))
        for a in session.execute(q).scalars():
            out[a.job_id] = a
    return out


def tenant_names(session: Session) -> dict[int, str]:
    return {i: n for i, n in session.execute(select(Tenant.id, Tenant.name)).all()}


def quotas(session: Session) -> dict[int, tuple[int, int]]:
    """tenant id -> (max_devices, max_running_jobs); 0 = unlimited."""
    return {t: (d, r) for t, d, r in session.execute(
        select(Quota.tenant_id, Quota.max_devices, Quota.max_running_jobs)).all()}


def set_attempt(session: Session, attempt_id: int, *, only_from: Iterable[str] | None = None,
                **values: Any) -> bool:
    """Update an attempt's columns; with ``only_from``, only if its state is one of those
    (compare-and-set, so a replayed tick cannot move a finished attempt). True if updated."""
    q = update(Attempt).where(Attempt.id == attempt_id)
    if only_from is not None:
        q = q.where(Attempt.state.in_(list(only_from)))
    res = session.execute(q.values(**values).execution_options(synchronize_session=False))
    return res.rowcount == 1


def transition_many(session: Session, moves: Sequence[tuple[int, dict[str, Any], dict[str, Any]]],
                    to_state: str, *, allowed: Iterable[str], reason: str, now: datetime
                    ) -> list[int]:
    """Bulk form of ``store.jobs.transition`` for the controller's hot paths: move every job of
    ``moves`` ((job_id, event detail, extra columns)) to ``to_state`` iff its state is in
    ``allowed`` — one compare-and-set ``UPDATE ... WHERE id IN (..) AND state IN (..)
    RETURNING id`` per 500 jobs — then set each moved job's extra columns (one executemany per
    column set) and append one job event per moved job. Returns the moved ids; the others were
    in another state and are left alone (``transition`` would raise StaleTransition for them).
    """
    allowed_set = sorted(frozenset(allowed) & S.ALLOWED_FROM[to_state])
    if not moves:
        return []
    conn = session.connection()  # Core statements: no ORM bookkeeping per row
    jobs = Job.__table__
    ids = [m[0] for m in moves]
    prev: dict[int, str] = {}
    moved: set[int] = set()
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        prev.update(conn.execute(select(jobs.c.id, jobs.c.state).where(jobs.c.id.in_(chunk)))
                    .all())
        moved.update(conn.execute(
            update(jobs).where(jobs.c.id.in_(chunk), jobs.c.state.in_(allowed_set))
            .values(state=to_state, reason=reason, updated_at=now)
            .returning(jobs.c.id)).scalars())
    by_cols: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for job_id, _detail, fields in moves:
        if job_id in moved and fields:
            by_cols.setdefault(tuple(sorted(fields)), []).append({"jid": job_id, **fields})
    for cols, rows in by_cols.items():
        conn.execute(update(jobs).where(jobs.c.id == bindparam("jid"))
                     .values({c: bindparam(c, type_=jobs.c[c].type) for c in cols}), rows)
    events = [{"job_id": j, "at": now, "from_state": prev.get(j), "to_state": to_state,
               "reason": reason, "detail": d} for j, d, _f in moves if j in moved]
    if events:
        conn.execute(insert(JobEvent), events)
    return [j for j in ids if j in moved]


def set_handles(session: Session, handles: dict[int, dict[str, Any]]) -> int:
    """Record submitted attempts' handles (attempt id -> handle JSON) on attempts still
    PENDING, in one executemany; returns the number of rows updated."""
    if not handles:
        return 0
    t = Attempt.__table__
    res = session.connection().execute(
        update(t).where(t.c.id == bindparam("aid"), t.c.state == "PENDING")
        .values(handle=bindparam("h", type_=t.c.handle.type)),
        [{"aid": a, "h": h} for a, h in handles.items()])
    return res.rowcount


def tenant_load(session: Session) -> tuple[dict[int, int], dict[int, int]]:
    """Per tenant id: devices held (live attempts, plus the planned gang of jobs admitted or
    waiting to retry) and active jobs (ADMITTED .. RETRYING), for quota admission. Two grouped
    queries and one narrow read of the queued jobs' plans."""
    devices: dict[int, int] = dict(session.execute(
        select(Job.tenant_id, func.sum(Attempt.devices)).join(Job, Job.id == Attempt.job_id)
        .where(Attempt.state.in_(LIVE)).group_by(Job.tenant_id)).all())
    for tenant, plan in session.execute(select(Job.tenant_id, Job.plan)
                                        .where(Job.state.in_(("ADMITTED", "RETRYING")))):
        devices[tenant] = devices.get(tenant, 0) + int((plan or {}).get("devices", 0))
    jobs: dict[int, int] = dict(session.execute(
        select(Job.tenant_id, func.count()).where(
            Job.state.in_(("ADMITTED", "DISPATCHED", "RUNNING", "RETRYING")))
        .group_by(Job.tenant_id)).all())
    return {k: int(v) for k, v in devices.items()}, jobs


def set_center_backend(session: Session, name: str, backend: str) -> None:
    """Record the backend a center really runs on (e.g. ``sim`` for a Slurm center whose
    cluster is unreachable), so the API and dashboard say which centers are simulated."""
    session.execute(update(CenterRow).where(CenterRow.name == name).values(backend=backend)
                    .execution_options(synchronize_session=False))
