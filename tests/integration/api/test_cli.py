"""The CLI against a real ``suanwang serve`` process: tenants create, submit, jobs, show,
cancel, logs, usage, bill, balance; bad input exits 2 with one line naming the field."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import httpx
import pytest
from typer.testing import CliRunner

from suanwang.cli.main import app
from tests.conftest import REPO

SUAN = [sys.executable, "-m", "suanwang"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    db = f"sqlite:///{tmp / 's.db'}"
    out = subprocess.run([*SUAN, "tenants", "create", "acme", "--db", db, "--balance", "50",
                          "--json"], capture_output=True, text=True, timeout=120, check=True)
    token = json.loads(out.stdout)["token"]
    port = _port()
    proc = subprocess.Popen([*SUAN, "serve", "--db", db, "--port", str(port),
                             "--no-controller"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
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
    yield {"url": url, "token": token, "db": db}
    proc.terminate()
    proc.wait(timeout=30)


def run(server, *args, token=None):
    env = {"SUANWANG_URL": server["url"], "SUANWANG_TOKEN": token or server["token"]}
    return CliRunner().invoke(app, list(args), env=env)


def test_client_commands(server):
    r = run(server, "submit", str(REPO / "examples/jobs/batch-cpu.yaml"), "--json")
    assert r.exit_code == 0, r.output
    job = json.loads(r.output)
    assert job["state"] == "PENDING"
    listed = json.loads(run(server, "jobs", "--json").output)
    assert [j["id"] for j in listed["data"]] == [job["id"]]
    shown = json.loads(run(server, "show", str(job["id"]), "--json").output)
    assert [e["reason"] for e in shown["events"]] == ["submitted"]
    assert "cancel requested" in run(server, "cancel", str(job["id"])).output
    assert run(server, "logs", str(job["id"])).exit_code == 0
    assert json.loads(run(server, "balance", "--json").output)["amount"] == 50
    assert json.loads(run(server, "bill", "--json").output)["total"] == 0
    assert json.loads(run(server, "usage", "--json").output)["count"] == 0


def test_show_and_cancel_of_a_finished_job(server):
    """``show`` gives the reason's detail and no Python None; ``cancel`` of a finished job says
    so (exit 0, like the API's 202) instead of "cancel requested"."""
    from suanwang.store import jobs as repo
    from suanwang.store.db import make_engine, session_factory

    r = run(server, "submit", str(REPO / "examples/jobs/batch-cpu.yaml"), "--json")
    job_id = json.loads(r.output)["id"]
    engine = make_engine(server["db"])
    try:  # what the controller's admission does with an infeasible plan
        with session_factory(engine, write=True)() as s:
            repo.transition(s, job_id, "FAILED", allowed={"PENDING"}, reason="infeasible",
                            detail={"error": "unknown center(s) mars"},
                            message="unknown center(s) mars")
            s.commit()
    finally:
        engine.dispose()
    shown = run(server, "show", str(job_id))
    assert shown.exit_code == 0, shown.output
    head = shown.output.splitlines()[0]
    assert "FAILED infeasible: unknown center(s) mars" in head, head
    assert "None" not in shown.output and "quote n/a" in head and "placement n/a" in head
    cancelled = run(server, "cancel", str(job_id))
    assert cancelled.exit_code == 0, cancelled.output
    assert f"job {job_id} already finished (FAILED); nothing to cancel" in cancelled.output


def test_cli_errors_exit_2_naming_the_field(server, tmp_path):
    bad = tmp_path / "job.yaml"
    bad.write_text("kind: batch\nname: b\ncommand: x\nwalltime_s: 10\nnodez: 2\n")

    def main(*args, token=None):  # a real process: exit codes come from cli.errors.run_app
        env = {**_env(), "SUANWANG_URL": server["url"],
               "SUANWANG_TOKEN": token or server["token"]}
        return subprocess.run([*SUAN, *args], capture_output=True, text=True, timeout=120,
                              env=env)

    r = main("submit", str(bad))
    assert r.returncode == 2 and "nodez" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = main("show", "99999")
    assert r.returncode == 2 and "99999" in r.stderr
    r = main("jobs", token="sw_wrong")
    assert r.returncode == 2 and "SUANWANG_TOKEN" in r.stderr
    r = subprocess.run([*SUAN, "tenants", "create", "acme", "--db", server["db"]],
                       capture_output=True, text=True, timeout=120, env=_env())
    assert r.returncode == 2 and "already exists" in r.stderr


def _env():
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("SUANWANG_")}


def test_where_takes_a_job_spec(tmp_path):
    """`suanwang where JOB.yaml`: the spec's constraints drive the ranking; errors name keys."""
    r = CliRunner().invoke(app, ["where", str(REPO / "examples/jobs/batch-cpu.yaml")])
    assert r.exit_code == 0, r.output
    assert "local" in r.output and "CPU-local" in r.output
    r = CliRunner().invoke(app, ["where", str(REPO / "examples/jobs/tiny-local.yaml"),
                                 "--json"])
    assert r.exit_code == 0, r.output
    assert {o["center"] for o in json.loads(r.output)["options"]} == {"local"}
    bad = tmp_path / "job.yaml"
    bad.write_text("kind: training\nname: t\nmodel: llama3-8b\ntokens: 1e9\n"
                   "constraints: {centers: [atlantis]}\n")
    r = subprocess.run([*SUAN, "where", str(bad)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "constraints.centers" in r.stderr and "atlantis" in r.stderr


def test_tenants_token_rotation(tmp_path):
    db = f"sqlite:///{tmp_path / 't.db'}"
    runner = CliRunner()
    first = json.loads(runner.invoke(app, ["tenants", "create", "acme", "--db", db,
                                           "--json"]).output)["token"]
    r = runner.invoke(app, ["tenants", "token", "acme", "--db", db, "--revoke-old", "--json"])
    doc = json.loads(r.output)
    assert doc["revoked"] == 1 and doc["token"] != first
    from suanwang.store.db import make_engine, session_factory
    from suanwang.store.tenants import resolve_token

    engine = make_engine(db)
    with session_factory(engine)() as s:
        assert resolve_token(s, first) is None
        assert resolve_token(s, doc["token"]).name == "acme"
    engine.dispose()
    assert runner.invoke(app, ["tenants", "token", "nobody", "--db", db]).exit_code != 0
