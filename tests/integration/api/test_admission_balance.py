"""A zero balance blocks starts, end to end: API submission, the real controller's ticks, a
top-up through the admin API, and the job starts. Runs on a simulated center (no processes)."""

from __future__ import annotations

from suanwang.catalog import load_federation

SIM_BATCH = {"kind": "batch", "name": "cfd", "command": "true", "nodes": 1,
             "node_type": "CPU-2xEPYC9654", "walltime_s": 3600,
             "constraints": {"centers": ["wuxi-sc"]}}


def test_zero_balance_job_waits_until_top_up(sqlite_platform, tmp_path):
    from suanwang.control.runner import build_controller

    p = sqlite_platform
    c = p.client
    poor = c.post("/api/v1/jobs", json=SIM_BATCH, headers=p.h("poor")).json()["id"]
    rich = c.post("/api/v1/jobs", json=SIM_BATCH, headers=p.h("a")).json()["id"]
    ctl = build_controller(db_url=p.url, federation=load_federation(), data_dir=tmp_path,
                           slurm=False)
    for _ in range(3):
        ctl.tick()
    held = c.get(f"/api/v1/jobs/{poor}", headers=p.h("poor")).json()
    assert (held["state"], held["reason"]) == ("PENDING", "insufficient_balance")
    assert c.get(f"/api/v1/jobs/{rich}", headers=p.h("a")).json()["state"] != "PENDING"
    assert c.get("/api/v1/balance", headers=p.h("poor")).json()["held"] == 0
    top = c.post(f"/api/v1/admin/tenants/{p.tenant_ids['poor']}/top-ups",
                 json={"amount": 100, "key": "t1"}, headers=p.h("root"))
    assert top.status_code == 201
    for _ in range(3):
        ctl.tick()
    started = c.get(f"/api/v1/jobs/{poor}", headers=p.h("poor")).json()
    assert started["state"] != "PENDING" and started["quote"] > 0
    assert c.get("/api/v1/balance", headers=p.h("poor")).json()["held"] == started["quote"]
