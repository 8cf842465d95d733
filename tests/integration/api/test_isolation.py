"""Tenant isolation matrix: every route taking a job id x another tenant's job -> 404, no data,
no effect; list routes never show another tenant's objects; admin routes refuse tenants."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.integration.api.conftest import BATCH


def _routes(app, contains: str) -> list[tuple[str, str]]:
    """(method, path) of every documented operation whose path contains ``contains``."""
    return [(m.upper(), path) for path, ops in app.openapi()["paths"].items()
            if contains in path for m in ops]


def _a_job_with_usage(p) -> int:
    """A's finished, settled job (so events, logs, usage and invoice lines exist)."""
    from suanwang.store import jobs, usage
    from suanwang.store.models import Attempt, JobMetric

    job_id = p.client.post("/api/v1/jobs", json=BATCH, headers=p.h("a")).json()["id"]
    now = datetime.now(UTC)
    with p.write() as s:
        a = Attempt(job_id=job_id, n=1, center="local", backend="local",
                    accelerator="CPU-local", devices=1, nodes=1,
                    detail={"log_tail": "secret output of tenant a"})
        s.add(a)
        s.flush()
        s.add(JobMetric(job_id=job_id, attempt_id=a.id, step=1, loss=2.0))
        usage.record_usage(s, attempt_id=a.id, device_seconds=3600, node_seconds=3600,
                           energy_kwh=Decimal("0.1"), started_at=now - timedelta(hours=1),
                           ended_at=now)
        for to in ("ADMITTED", "DISPATCHED", "RUNNING"):
            jobs.transition(s, job_id, to, reason="test")
        s.commit()
    return job_id


def test_other_tenants_job_ids_answer_404_on_every_route(platform):
    p = platform
    job_id = _a_job_with_usage(p)
    routes = _routes(p.app, "{job_id}")
    # show, cancel, events, metrics, logs at least; new routes join the matrix automatically
    assert len(routes) >= 5, routes
    for method, path in routes:
        url = path.replace("{job_id}", str(job_id))
        for who in ("b", "poor"):
            r = p.client.request(method, url, headers=p.h(who))
            assert r.status_code == 404, (method, url, who, r.status_code)
            assert "secret" not in r.text and "CPU-local" not in r.text
        missing = p.client.request(method, path.replace("{job_id}", "99999"), headers=p.h("b"))
        assert missing.status_code == 404
        assert missing.json().keys() == r.json().keys()  # same shape as a missing job
        assert p.client.request(method, url, headers=p.h("a")).status_code in (200, 202)
    events = p.client.get(f"/api/v1/jobs/{job_id}/events", headers=p.h("a")).json()["data"]
    cancels = [e for e in events if e["reason"] == "cancel_requested"]
    assert len(cancels) == 1  # only A's own cancel was recorded, none from B


def test_list_routes_show_only_own_objects(platform):
    p = platform
    job_id = _a_job_with_usage(p)
    with p.write() as s:
        from suanwang.store.billing import settle
        from suanwang.store.jobs import transition

        transition(s, job_id, "SUCCEEDED", reason="test")
        settle(s, job_id)
        s.commit()
    b = p.h("b")
    assert p.client.get("/api/v1/jobs", headers=b).json()["count"] == 0
    assert p.client.get("/api/v1/usage", headers=b).json()["count"] == 0
    inv = p.client.get("/api/v1/invoices", headers=b).json()
    assert (inv["lines"], inv["total"], inv["tenant"]) == ([], 0, "b")
    assert p.client.get("/api/v1/balance", headers=b).json()["amount"] == 1000
    assert p.client.get("/api/v1/invoices", headers=p.h("a")).json()["total"] > 0


def test_admin_routes_refuse_tenant_tokens(platform):
    p = platform
    routes = _routes(p.app, "/admin/")
    assert len(routes) >= 6
    for method, path in routes:
        url = re.sub(r"\{[a-z_]+\}", str(p.tenant_ids["a"]), path)
        assert p.client.request(method, url, headers=p.h("b"), json={}).status_code == 403
        assert p.client.request(method, url, json={}).status_code == 401


def test_other_tenants_lease_ids_answer_404_on_every_route(platform):
    """Engineer M's /leases/{lease_id} routes: another tenant's id answers like a missing one
    (404, same body keys, nothing of the lease in it) and changes nothing; the owner gets 200."""
    p = platform
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    body = {"center": "shanghai-ai", "accelerator": "A800", "devices": 8,
            "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
    r = p.client.post("/api/v1/leases", json=body, headers=p.h("a"))
    assert r.status_code == 201, r.text
    lease = r.json()
    routes = _routes(p.app, "{lease_id}")
    assert {m for m, _ in routes} >= {"GET", "POST"}, routes  # show, cancel; new ones join
    for method, path in routes:
        url = path.replace("{lease_id}", str(lease["id"]))
        for who in ("b", "poor"):
            r = p.client.request(method, url, headers=p.h(who))
            assert r.status_code == 404, (method, url, who, r.status_code)
            assert "shanghai-ai" not in r.text and lease["reservation"] not in r.text
        missing = p.client.request(method, path.replace("{lease_id}", "99999"),
                                   headers=p.h("b"))
        assert missing.status_code == 404
        assert missing.json().keys() == r.json().keys()
    mine = p.client.get(f"/api/v1/leases/{lease['id']}", headers=p.h("a")).json()
    assert mine["state"] == lease["state"] != "cancelled"  # B's cancel had no effect
    assert p.client.get("/api/v1/leases", headers=p.h("b")).json()["count"] == 0
    assert [ln["kind"] for ln in p.client.get("/api/v1/invoices", headers=p.h("b"))
            .json()["lines"]] == []
    for method, path in routes:
        url = path.replace("{lease_id}", str(lease["id"]))
        assert p.client.request(method, url, headers=p.h("a")).status_code == 200


def test_only_a_products_provider_changes_it(platform):
    """Products are browsable by every tenant (docs/marketplace.md), but every write route on
    /products/{name} answers 403 to another tenant (404 for a missing product), without the
    product's data and without adding a version; a provider statement shows only own earnings."""
    p = platform
    product = {"name": "secretsoft", "kind": "software", "title": "T", "release": "1.0",
               "description": "internal-notes-of-a", "centers": ["tianjin-sc"],
               "price_unit": "node_hour", "price": "1.5"}
    assert p.client.post("/api/v1/products", json=product, headers=p.h("a")).status_code == 201
    writes = [(m, path) for m, path in _routes(p.app, "/products/{name}") if m != "GET"]
    assert ("PATCH", "/api/v1/products/{name}") in writes
    change = {"price": "0.01", "description": "taken over"}
    for method, path in writes:
        url = path.replace("{name}", "secretsoft")
        for who in ("b", "poor"):
            r = p.client.request(method, url, headers=p.h(who), json=change)
            assert r.status_code == 403, (method, url, who, r.status_code)
            assert "internal-notes-of-a" not in r.text and "tianjin-sc" not in r.text
        missing = p.client.request(method, path.replace("{name}", "nosuch"), headers=p.h("b"),
                                   json=change)
        assert missing.status_code == 404
    doc = p.client.get("/api/v1/products/secretsoft", headers=p.h("b")).json()
    assert [v["version"] for v in doc["versions"]] == [1]
    assert (doc["product"]["price"], doc["product"]["description"]) == (1.5,
                                                                       "internal-notes-of-a")
    assert p.client.get("/api/v1/products", params={"mine": True},
                        headers=p.h("b")).json()["count"] == 0
    stmt = p.client.get("/api/v1/provider-statement", headers=p.h("b")).json()
    assert (stmt["products"], stmt["total"]) == ([], 0)
    r = p.client.patch("/api/v1/products/secretsoft", json=change, headers=p.h("a"))
    assert r.status_code == 200 and r.json()["version"] == 2
