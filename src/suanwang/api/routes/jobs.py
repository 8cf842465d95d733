"""/jobs: submit (desired state only), list, show, cancel, events, metrics, logs."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Header, Path, Query, Response, status

from suanwang.api.deps import ReadSession, Scope, WriteSession
from suanwang.api.schemas.jobs import (
    AttemptLog,
    EventsPublic,
    JobPublic,
    JobsPublic,
    LogsPublic,
    MetricsPublic,
)
from suanwang.core.jobspec import JobSpec, spec_to_dict
from suanwang.store import jobs as repo

router = APIRouter(prefix="/jobs", tags=["jobs"],
                   responses={401: {"description": "missing or invalid token"},
                              404: {"description": "no such job for this tenant"}})
JobId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Job id")]
StateName = Literal["PENDING", "ADMITTED", "DISPATCHED", "RUNNING", "RETRYING", "SUCCEEDED",
                    "FAILED", "CANCELLED"]
LOG_TAIL_BYTES = 65536


IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1,
                                               max_length=100, pattern=r"^[\x21-\x7e]+$")]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=JobPublic,
             responses={200: {"description": "same Idempotency-Key as an earlier submission: "
                              "that job", "model": JobPublic}})
def submit(spec: Annotated[JobSpec, Body()], tenant: Scope, session: WriteSession,
           response: Response, idempotency_key: IdempotencyKey = None) -> JobPublic:
    """Record a job as PENDING; the controller admits, places and runs it. A retried request
    with the same ``Idempotency-Key`` header returns the first job (200) instead of a copy."""
    from sqlalchemy.exc import IntegrityError

    job = repo.by_client_key(session, tenant, idempotency_key) if idempotency_key else None
    if job is None:
        try:
            job = repo.create_job(session, tenant_id=tenant, spec=spec_to_dict(spec),
                                  client_key=idempotency_key)
            session.commit()
            return JobPublic.model_validate(job)
        except IntegrityError:  # a concurrent request with the same key won the insert
            session.rollback()
            job = repo.by_client_key(session, tenant, idempotency_key or "")
            if job is None:
                raise
    response.status_code = status.HTTP_200_OK
    return JobPublic.model_validate(job)


@router.get("", response_model=JobsPublic)
def list_jobs(tenant: Scope, session: ReadSession, state: StateName | None = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100,
              before_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None
              ) -> JobsPublic:
    """The tenant's jobs, newest first (``before_id`` pages back)."""
    rows = repo.list_jobs(session, tenant_id=tenant, state=state, limit=limit,
                          before_id=before_id)
    return JobsPublic(data=[JobPublic.model_validate(j) for j in rows], count=len(rows))


@router.get("/{job_id}", response_model=JobPublic)
def show(job_id: JobId, tenant: Scope, session: ReadSession) -> JobPublic:
    return JobPublic.model_validate(repo.get_job(session, job_id, tenant_id=tenant))


@router.post("/{job_id}/cancel", status_code=status.HTTP_202_ACCEPTED, response_model=JobPublic)
def cancel(job_id: JobId, tenant: Scope, session: WriteSession) -> JobPublic:
    """Ask for cancellation (sets ``cancel_requested_at``); the controller stops the job."""
    job = repo.get_job(session, job_id, tenant_id=tenant)
    repo.request_cancel(session, job)
    session.commit()
    return JobPublic.model_validate(job)


@router.get("/{job_id}/events", response_model=EventsPublic)
def events(job_id: JobId, tenant: Scope, session: ReadSession) -> EventsPublic:
    repo.get_job(session, job_id, tenant_id=tenant)
    rows = repo.events(session, job_id)
    return EventsPublic.model_validate({"data": rows, "count": len(rows)})


@router.get("/{job_id}/metrics", response_model=MetricsPublic)
def metrics(job_id: JobId, tenant: Scope, session: ReadSession,
            after_step: Annotated[int, Query(ge=-1, le=2**31 - 1)] = -1,
            limit: Annotated[int, Query(ge=1, le=10000)] = 1000) -> MetricsPublic:
    """Training progress samples (step, loss, tokens/s, MFU) after ``after_step``."""
    repo.get_job(session, job_id, tenant_id=tenant)
    rows = repo.metrics(session, job_id, after_step=after_step, limit=limit)
    return MetricsPublic.model_validate({"data": rows, "count": len(rows)})


@router.get("/{job_id}/logs", response_model=LogsPublic)
def logs(job_id: JobId, tenant: Scope, session: ReadSession,
         tail_bytes: Annotated[int, Query(ge=1, le=1 << 20)] = LOG_TAIL_BYTES) -> LogsPublic:
    """Output tail of each attempt: the attempt's log file when it is on this host (local
    center), else the tail the controller stored with the attempt."""
    repo.get_job(session, job_id, tenant_id=tenant)
    out = []
    for a in repo.attempts(session, job_id):
        text, source = _log_text(a, tail_bytes)
        out.append(AttemptLog(attempt=a.n, center=a.center, state=a.state,
                              exit_code=a.exit_code, text=text, source=source))
    return LogsPublic(job_id=job_id, attempts=out)


def _log_text(attempt, tail_bytes: int) -> tuple[str, str]:
    state_dir = ((attempt.handle or {}).get("data") or {}).get("state_dir")
    if state_dir:
        path = FsPath(state_dir) / "output.log"
        if path.is_file():
            with path.open("rb") as f:
                f.seek(max(0, path.stat().st_size - tail_bytes))
                return f.read().decode("utf-8", "replace"), "file"
    tail = (attempt.detail or {}).get("log_tail") or ""
    return tail[-tail_bytes:], "stored"
