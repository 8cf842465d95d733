"""Black box (issue #13, done-when): a real ``suanwang serve`` with its controller, driven only
over HTTP and the CLI. A provider lists a software product at one center; a user's batch job
attaching it lands there and the invoice has a software line; a lease is created, a second
overlapping lease beyond capacity is refused with ``earliest_start``, the lease is invoiced."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from typer.testing import CliRunner

from suanwang.cli.main import app

SUAN = [sys.executable, "-m", "suanwang"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tenant(db: str, name: str, balance: str, env: dict) -> str:
    out = subprocess.run([*SUAN, "tenants", "create", name, "--db", db, "--balance", balance,
                          "--json"], capture_output=True, text=True, timeout=120, check=True,
                         env=env)
    return json.loads(out.stdout)["token"]


@pytest.fixture
def platform(tmp_path):
    env = {**os.environ, "SUANWANG_HOME": str(tmp_path)}
    db = f"sqlite:///{tmp_path / 's.db'}"
    tokens = {"prov": _tenant(db, "prov", "0", env), "user": _tenant(db, "user", "100000", env)}
    port = _port()
    proc = subprocess.Popen([*SUAN, "serve", "--db", db, "--port", str(port), "--tick-s", "0.2",
                             "--sim-speedup", "600", "--data-dir", str(tmp_path / "runs")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("suanwang serve did not start")
    yield url, tokens
    proc.terminate()
    proc.wait(timeout=30)


def _cli(url: str, token: str, *args: str):
    r = CliRunner().invoke(app, [*args, "--json"],
                           env={"SUANWANG_URL": url, "SUANWANG_TOKEN": token})
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


@pytest.mark.slow  # ~30 s: two tenant processes, a server start, a job through the controller
def test_product_job_and_lease_through_the_api(platform):
    url, tokens = platform
    listed = _cli(url, tokens["prov"], "products", "create", "openfoam", "--kind", "software",
                  "--price", "2.5", "--price-unit", "node_hour", "--center", "tianjin-sc",
                  "--title", "OpenFOAM CFD")
    assert listed["version"] == 1
    user = httpx.Client(base_url=url + "/api/v1",
                        headers={"Authorization": f"Bearer {tokens['user']}"}, timeout=30)
    found = user.get("/products", params={"q": "cfd"}).json()["data"]
    assert [p["name"] for p in found] == ["openfoam"]
    spec = {"kind": "batch", "name": "cfd", "command": "simpleFoam", "nodes": 2,
            "node_type": "CPU-2xEPYC9654", "walltime_s": 600, "software": ["openfoam"]}
    job = user.post("/jobs", json=spec).json()
    for _ in range(300):
        job = user.get(f"/jobs/{job['id']}").json()
        if job["state"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        time.sleep(0.2)
    assert job["state"] == "SUCCEEDED", job
    assert job["placement"]["center"] == "tianjin-sc"  # the only center with the software
    lines = user.get("/invoices").json()["lines"]
    soft = [ln for ln in lines if ln["kind"] == "software"]
    assert len(soft) == 1 and "openfoam v1" in soft[0]["description"]
    assert soft[0]["unit_price"] == 2.5 and soft[0]["amount"] > 0

    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    first = user.post("/leases", json={"center": "shanghai-ai", "accelerator": "A800",
                                       "devices": 1024, "start": t0.isoformat(),
                                       "end": (t0 + timedelta(hours=2)).isoformat()})
    assert first.status_code == 201, first.text
    second = user.post("/leases", json={"center": "shanghai-ai", "accelerator": "A800",
                                        "devices": 8, "start": (t0 + timedelta(hours=1))
                                        .isoformat(),
                                        "end": (t0 + timedelta(hours=3)).isoformat()})
    assert second.status_code == 409
    assert datetime.fromisoformat(second.json()["earliest_start"]) == t0 + timedelta(hours=2)
    invoice = user.get("/invoices").json()
    lease_lines = [ln for ln in invoice["lines"] if ln["kind"] == "lease"]
    assert len(lease_lines) == 1 and lease_lines[0]["quantity"] == 2048  # device-hours
    assert lease_lines[0]["amount"] == first.json()["amount"] == 2048 * 8.5
    assert invoice["total"] == pytest.approx(sum(ln["amount"] for ln in invoice["lines"]))
    statement = _cli(url, tokens["prov"], "products", "statement")
    assert statement["total"] == soft[0]["amount"]
