"""The REST API on SQLite and on a real PostgreSQL: submit, read, cancel, money, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.integration.api.conftest import BATCH, TINY


def test_submit_list_show_cancel(platform):
    c, h = platform.client, platform.h("a")
    r = c.post("/api/v1/jobs", json=TINY, headers=h)
    assert r.status_code == 201
    job = r.json()
    assert (job["state"], job["reason"], job["placement"]) == ("PENDING", "submitted", None)
    r2 = c.post("/api/v1/jobs", json=BATCH, headers=h)
    assert r2.status_code == 201
    listed = c.get("/api/v1/jobs", headers=h).json()
    assert [j["id"] for j in listed["data"]] == [r2.json()["id"], job["id"]]
    assert c.get("/api/v1/jobs", params={"state": "RUNNING"}, headers=h).json()["count"] == 0
    shown = c.get(f"/api/v1/jobs/{job['id']}", headers=h).json()
    assert shown["spec"]["model"]["hidden"] == 64 and shown["kind"] == "training"
    r = c.post(f"/api/v1/jobs/{job['id']}/cancel", headers=h)
    assert r.status_code == 202 and r.json()["cancel_requested_at"] is not None
    assert r.json()["state"] == "PENDING"  # the API only records the wish
    events = c.get(f"/api/v1/jobs/{job['id']}/events", headers=h).json()["data"]
    assert [e["reason"] for e in events] == ["submitted", "cancel_requested"]
    assert c.get(f"/api/v1/jobs/{job['id']}/logs", headers=h).json()["attempts"] == []
    assert c.get(f"/api/v1/jobs/{job['id']}/metrics", headers=h).json()["count"] == 0


def test_idempotency_key_returns_the_first_job(platform):
    c, h = platform.client, platform.h("a")
    first = c.post("/api/v1/jobs", json=BATCH, headers={**h, "Idempotency-Key": "k-1"})
    again = c.post("/api/v1/jobs", json=BATCH, headers={**h, "Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert c.get("/api/v1/jobs", headers=h).json()["count"] == 1


def test_validation_errors_name_the_field(platform):
    c, h = platform.client, platform.h("a")
    cases = [({**TINY, "no_such_field": 1}, "no_such_field"),
             ({**TINY, "constraints": {"budget": -1}}, "constraints.budget"),
             ({**TINY, "model": {**TINY["model"], "heads": 3}}, "model"),
             ({**TINY, "kind": "serving"}, "kind"),
             ({**BATCH, "walltime_s": "forever"}, "walltime_s")]
    for body, field in cases:
        r = c.post("/api/v1/jobs", json=body, headers=h)
        assert r.status_code == 422, body
        assert r.json()["field"] == field, r.json()
    r = c.get("/api/v1/invoices", params={"period": "2026-13"}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "period"


def test_tokens_are_required_and_checked(platform):
    c = platform.client
    assert c.get("/api/v1/jobs").status_code == 401
    assert c.get("/api/v1/jobs", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert c.get("/healthz").status_code == 200
    spec = c.get("/api/v1/openapi.json").json()
    assert "/api/v1/jobs/{job_id}/cancel" in spec["paths"]
    assert c.get("/api/v1/admin/tenants", headers=platform.h("a")).status_code == 403


def test_balance_usage_and_invoice_after_settlement(platform):
    from suanwang.store import jobs, usage
    from suanwang.store.billing import place_hold, settle
    from suanwang.store.models import Attempt

    c, h = platform.client, platform.h("a")
    job_id = c.post("/api/v1/jobs", json=BATCH, headers=h).json()["id"]
    end = datetime.now(UTC)
    with platform.write() as s:  # what the controller does when the job ends
        assert place_hold(s, platform.tenant_ids["a"], job_id, Decimal("5"))
        a = Attempt(job_id=job_id, n=1, center="local", backend="local",
                    accelerator="CPU-local", devices=1, nodes=1)
        s.add(a)
        s.flush()
        usage.record_usage(s, attempt_id=a.id, device_seconds=36000, node_seconds=36000,
                           energy_kwh=Decimal("1.5"), started_at=end - timedelta(hours=10),
                           ended_at=end)
        for to in ("ADMITTED", "DISPATCHED", "RUNNING", "SUCCEEDED"):
            jobs.transition(s, job_id, to, reason="test")
        settle(s, job_id)
        s.commit()
    # demo prices: CPU-local 0.1 per device-hour, local energy 0.6 per kWh
    # 10 device-h x 0.1 = 1.0; 1.5 kWh x 0.6 = 0.9; total 1.9
    inv = c.get("/api/v1/invoices", headers=h).json()
    assert inv["total"] == 1.9 and len(inv["lines"]) == 2
    assert {li["kind"]: li["amount"] for li in inv["lines"]} == {"resource": 1.0, "energy": 0.9}
    bal = c.get("/api/v1/balance", headers=h).json()
    assert (bal["amount"], bal["held"], bal["available"]) == (998.1, 0.0, 998.1)
    use = c.get("/api/v1/usage", headers=h).json()
    assert use["count"] == 1 and use["device_hours"] == 10.0
    assert c.get("/api/v1/invoices", headers=platform.h("b")).json()["total"] == 0


def test_centers_plans_and_metrics(platform):
    c, h = platform.client, platform.h("a")
    centers = c.get("/api/v1/centers", headers=h).json()
    assert "local" in [x["name"] for x in centers["data"]]
    plan = c.post("/api/v1/plans", json=BATCH, headers=h).json()
    assert plan["devices"] == 1 and plan["options"][0]["center"] == "local"
    assert plan["options"][0]["hold"] > 0
    # canonical name plus the deprecated one, same value (a batch job has no checkpoint)
    assert plan["options"][0]["checkpoint_interval_s"] == plan["options"][0][
        "checkpoint_every_s"] == 0.0
    c.post("/api/v1/jobs", json=BATCH, headers=h)
    text = c.get("/metrics").text
    assert 'suanwang_jobs{state="PENDING"} 1.0' in text
    assert "suanwang_queue_length 1.0" in text
    assert "suanwang_http_request_duration_seconds_bucket" in text


def test_admin_tenants_quota_topup_prices(platform):
    c, h = platform.client, platform.h("root")
    r = c.post("/api/v1/admin/tenants", json={"name": "new", "balance": 5}, headers=h)
    assert r.status_code == 201
    new_id, token = r.json()["tenant"]["id"], r.json()["token"]
    assert c.get("/api/v1/balance", headers={"Authorization": f"Bearer {token}"}
                 ).json()["amount"] == 5.0
    top = c.post(f"/api/v1/admin/tenants/{new_id}/top-ups",
                 json={"amount": "2.5", "key": "inv-1"}, headers=h)
    again = c.post(f"/api/v1/admin/tenants/{new_id}/top-ups",
                   json={"amount": "2.5", "key": "inv-1"}, headers=h)
    assert top.json()["id"] == again.json()["id"] and top.json()["balance_after"] == 7.5
    q = c.put(f"/api/v1/admin/tenants/{new_id}/quota", json={"max_devices": 16}, headers=h)
    assert q.json()["max_devices"] == 16
    price = {"kind": "device_hour", "center": "local", "resource": "CPU-local", "price": "0.25",
             "valid_from": "2030-01-01T00:00:00Z"}
    assert c.post("/api/v1/admin/prices", json=price, headers=h).status_code == 201
    dup = c.post("/api/v1/admin/prices", json=price, headers=h)
    assert dup.status_code == 422 and dup.json()["field"] == "valid_from"
    assert c.post("/api/v1/admin/tenants/999/top-ups", json={"amount": 1, "key": "x"},
                  headers=h).status_code == 404
