"""The transition helper: compare-and-set, legal moves only, one event per transition."""

from __future__ import annotations

import pytest

from suanwang.core.errors import NotFoundError
from suanwang.store import jobs
from suanwang.store.tenants import create_tenant

SPEC = {"kind": "batch", "name": "x", "command": "true", "walltime_s": 60}


def test_lifecycle_records_every_transition(session):
    s = session
    t, _ = create_tenant(s, "acme")
    job = jobs.create_job(s, tenant_id=t.id, spec=SPEC)
    for to in ("ADMITTED", "DISPATCHED", "RUNNING", "RETRYING", "DISPATCHED", "RUNNING",
               "SUCCEEDED"):
        jobs.transition(s, job.id, to, reason=f"to-{to.lower()}")
    s.refresh(job)
    assert job.state == "SUCCEEDED" and job.started_at is not None and job.ended_at is not None
    ev = jobs.events(s, job.id)
    assert [(e.from_state, e.to_state) for e in ev] == [
        (None, "PENDING"), ("PENDING", "ADMITTED"), ("ADMITTED", "DISPATCHED"),
        ("DISPATCHED", "RUNNING"), ("RUNNING", "RETRYING"), ("RETRYING", "DISPATCHED"),
        ("DISPATCHED", "RUNNING"), ("RUNNING", "SUCCEEDED")]


def test_compare_and_set_refuses_stale_and_illegal_moves(session):
    s = session
    t, _ = create_tenant(s, "acme")
    job = jobs.create_job(s, tenant_id=t.id, spec=SPEC)
    with pytest.raises(jobs.StaleTransition):
        jobs.transition(s, job.id, "RUNNING", reason="skip")  # PENDING -> RUNNING not allowed
    jobs.transition(s, job.id, "CANCELLED", reason="cancel_requested")
    with pytest.raises(jobs.StaleTransition):
        jobs.transition(s, job.id, "FAILED", reason="late")  # terminal rows never change
    with pytest.raises(ValueError, match="not a legal transition"):
        jobs.transition(s, job.id, "ADMITTED", allowed=["RUNNING"], reason="bad")
    with pytest.raises(NotFoundError):
        jobs.transition(s, 999, "ADMITTED", reason="x")
    assert [e.to_state for e in jobs.events(s, job.id)] == ["PENDING", "CANCELLED"]


def test_scoped_lookup_hides_other_tenants_jobs(session):
    s = session
    a, _ = create_tenant(s, "a")
    b, _ = create_tenant(s, "b")
    job = jobs.create_job(s, tenant_id=a.id, spec=SPEC)
    assert jobs.get_job(s, job.id, tenant_id=a.id).id == job.id
    with pytest.raises(NotFoundError):
        jobs.get_job(s, job.id, tenant_id=b.id)
    assert jobs.list_jobs(s, tenant_id=b.id) == []


def test_cancel_request_is_recorded_once(session):
    s = session
    t, _ = create_tenant(s, "acme")
    job = jobs.create_job(s, tenant_id=t.id, spec=SPEC)
    assert jobs.request_cancel(s, job)
    assert not jobs.request_cancel(s, job)
    assert job.state == "PENDING" and job.cancel_requested_at is not None
