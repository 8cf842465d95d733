"""/jobs: submit (desired state only), list, show, cancel, events, metrics, logs."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Header, Path, Query, Request, Response, status

from suanwang.api.deps import ReadSession, Scope, WriteSession, context, run_read
from suanwang.api.schemas.common import json_response
from suanwang.api.schemas.jobs import (
    AttemptLog,
    EventsPublic,
    JobPublic,
    JobsPublic,
    LogsPublic,
    MetricsPublic,
)
from suanwang.api.spec_names import check_names, check_products
from suanwang.core.errors import NotFoundError
from suanwang.core.jobspec import JobSpec, spec_to_dict
from suanwang.store import jobs as repo
from suanwang.store.market import attached_names

router = APIRouter(prefix="/jobs", tags=["jobs"],
                   responses={401: {"description": "missing or invalid token"},
                              404: {"description": "no such job for this tenant"}})
JobId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Job id")]
StateName = Literal["PENDING", "ADMITTED", "DISPATCHED", "RUNNING", "RETRYING", "SUCCEEDED",
                    "FAILED", "CANCELLED"]
LOG_TAIL_BYTES = 65536


IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1,
                                               max_length=100, pattern=r"^[\x21-\x7e]+$")]


# OpenAPI links: what a client (or a stateful fuzzer) can do with the id a submission returns.
_JOB_LINKS = {f"{verb}Job": {"operationId": f"jobs-{op}",
                             "parameters": {"job_id": "$response.body#/id"}}
              for verb, op in (("Get", "show"), ("Cancel", "cancel"), ("EventsOf", "events"),
                               ("MetricsOf", "metrics"), ("LogsOf", "logs"))}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=JobPublic,
             responses={201: {"description": "the new PENDING job", "links": _JOB_LINKS},
                        200: {"description": "same Idempotency-Key as an earlier submission: "
                              "that job", "model": JobPublic, "links": _JOB_LINKS}})
async def submit(spec: Annotated[JobSpec, Body()], tenant: Scope, request: Request,
                 idempotency_key: IdempotencyKey = None) -> Response:
    """Record a job as PENDING; the controller admits, places and runs it. A retried request
    with the same ``Idempotency-Key`` header returns the first job (200) instead of a copy.
    Concurrent submissions are committed together (``api.batcher``). Unknown centers,
    accelerators or marketplace products: 422 naming the field (``api.spec_names``)."""
    import asyncio

    check_names(context(request).federation, spec)
    doc = spec_to_dict(spec)
    if attached_names(doc):
        await run_read(request, lambda session: check_products(session, doc))
    fut = context(request).submits.submit(tenant, doc, idempotency_key)
    body, created = await asyncio.wrap_future(fut)
    return Response(body, status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
                    media_type="application/json")


@router.get("", response_model=JobsPublic)
async def list_jobs(tenant: Scope, request: Request, state: StateName | None = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                    before_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None
                    ) -> Response:
    """The tenant's jobs, newest first (``before_id`` pages back)."""

    def work(session) -> Response:
        rows = repo.job_rows(session, tenant_id=tenant, state=state, limit=limit,
                             before_id=before_id)
        return json_response(JobsPublic(data=[JobPublic.model_validate(j) for j in rows],
                                        count=len(rows)))

    return await run_read(request, work)


@router.get("/{job_id}", response_model=JobPublic)
async def show(job_id: JobId, tenant: Scope, request: Request) -> Response:
    def work(session) -> Response:
        rows = repo.job_rows(session, tenant_id=tenant, job_id=job_id, limit=1)
        if not rows:  # missing and another tenant's job look the same
            raise NotFoundError(f"no job {job_id}")
        return json_response(JobPublic.model_validate(rows[0]))

    return await run_read(request, work)


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
