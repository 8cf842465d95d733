"""The API's read query (store.jobs.job_rows, prebuilt statements with bound parameters):
tenant scope and every filter combination give what the rows say, on SQLite and PostgreSQL."""

from __future__ import annotations

from suanwang.store import jobs
from suanwang.store.tenants import create_tenant

SPEC = {"kind": "batch", "name": "r", "command": "true", "walltime_s": 60, "devices": 1}


def test_job_rows_filters_and_scope(s):
    a = create_tenant(s, "a")[0].id
    b = create_tenant(s, "b")[0].id
    ids = [j.id for j in jobs.create_jobs(s, [(a if i % 3 else b, SPEC) for i in range(9)])]
    mine = [j for i, j in enumerate(ids) if i % 3]  # 6 jobs of tenant a
    failed = mine[1]
    jobs.transition(s, failed, "FAILED", allowed={"PENDING"}, reason="infeasible")
    s.commit()

    def got(**kw):
        return [r["id"] for r in jobs.job_rows(s, tenant_id=a, **kw)]

    assert got() == mine[::-1]  # newest first
    assert got(limit=2) == mine[::-1][:2]
    assert got(job_id=mine[0]) == [mine[0]]
    assert got(job_id=ids[0]) == []  # tenant b's job looks missing
    assert got(state="FAILED") == [failed]
    assert got(state="PENDING", before_id=mine[3]) == [mine[2], mine[0]]
    assert got(job_id=failed, state="PENDING") == []
    row = jobs.job_rows(s, tenant_id=a, job_id=failed)[0]
    assert (row["state"], row["reason"], row["spec"]) == ("FAILED", "infeasible", SPEC)
    assert [r["id"] for r in jobs.job_rows(s, tenant_id=b)] == ids[::3][::-1]
