"""The platform places a job on a Slurm center and bills it from Slurm's own accounting."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from suanwang.backends.slurm_cli import parse_duration
from suanwang.control.runner import build_controller
from suanwang.store import jobs as repo
from suanwang.store.billing import balance_of
from suanwang.store.db import make_engine, session_factory
from suanwang.store.models import InvoiceLine
from suanwang.store.tenants import create_tenant
from suanwang.store.usage import usage_for_job
from tests.conftest import REPO

pytestmark = pytest.mark.slurm

TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


def test_controller_runs_batch_on_slurm_center_and_bills_sacct_usage(federation, tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    ctl = build_controller(db_url=url, federation=federation, data_dir=tmp_path, slurm=True)
    assert ctl.centers.effective == {"alpha": "slurm", "beta": "slurm"}, ctl.centers.notes
    engine = make_engine(url)
    write, read = session_factory(engine, write=True), session_factory(engine)
    with write() as s:
        tenant = create_tenant(s, "hpc-lab", balance=Decimal(1000))[0].id
        job = repo.create_job(s, tenant_id=tenant, spec={
            "kind": "batch", "name": "sleepy", "command": "echo on $SLURMD_NODENAME; sleep 3",
            "devices": 2, "accelerator": "CPU-local", "walltime_s": 120,
            "constraints": {"centers": ["alpha"]}})
        s.commit()
        jid = job.id
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        ctl.tick()
        with read() as s:
            j = repo.get_job(s, jid, tenant_id=None)
        if j.state in TERMINAL:
            break
        time.sleep(0.3)
    assert j.state == "SUCCEEDED", (j.state, j.reason)
    with read() as s:
        (att,) = repo.attempts(s, jid)
        assert att.center == "alpha" and att.backend == "slurm"
        native = att.handle["native_id"]
        (use,) = usage_for_job(s, jid)
        lines = s.query(InvoiceLine).filter(InvoiceLine.job_id == jid).all()
        bal = balance_of(s, tenant)
    # the bill's device-seconds are Slurm's: sacct Elapsed x the 2 allocated cores
    sacct = ctl.centers.backends["alpha"].cli.run(
        ["sacct", "-c", "-n", "-P", "-j", native, "-o", "Elapsed"]).stdout.split()
    elapsed = sum(parse_duration(e) for e in sacct)
    assert elapsed >= 3 and float(use.device_seconds) == pytest.approx(2 * elapsed)
    assert any(ln.kind == "resource" for ln in lines)
    assert bal.held == 0 and bal.amount < Decimal(1000)


@pytest.mark.slow
def test_controller_trains_on_slurm_center_with_live_metrics_and_bill(federation, tmp_path):
    from suanwang.core.jobspec import load_job_spec, spec_to_dict

    spec = spec_to_dict(load_job_spec(REPO / "examples/jobs/tiny-local.yaml"))
    spec["name"] = "tiny-slurm"
    spec["constraints"]["centers"] = ["alpha"]
    spec["runtime"]["steps"] = 16
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    ctl = build_controller(db_url=url, federation=federation, data_dir=tmp_path, slurm=True)
    engine = make_engine(url)
    write, read = session_factory(engine, write=True), session_factory(engine)
    with write() as s:
        tenant = create_tenant(s, "llm-lab", balance=Decimal(1000))[0].id
        jid = repo.create_job(s, tenant_id=tenant, spec=spec).id
        s.commit()
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        ctl.tick()
        with read() as s:
            j = repo.get_job(s, jid, tenant_id=None)
        if j.state in TERMINAL:
            break
        time.sleep(0.5)
    assert j.state == "SUCCEEDED", (j.state, j.reason, getattr(j, "message", ""))
    with read() as s:
        (att,) = repo.attempts(s, jid)
        (use,) = usage_for_job(s, jid)
        metrics = repo.metrics(s, jid)
        lines = s.query(InvoiceLine).filter(InvoiceLine.job_id == jid).all()
    assert att.backend == "slurm" and att.center == "alpha"
    assert "#SBATCH --comment=suanwang:key=" + att.handle["key"] in Path(
        att.handle["data"]["attempt_dir"], "sbatch.sh").read_text()
    sacct = ctl.centers.backends["alpha"].cli.run(
        ["sacct", "-c", "-n", "-P", "-j", att.handle["native_id"], "-o", "Elapsed"]).stdout.split()
    elapsed = sum(parse_duration(e) for e in sacct)
    assert float(use.device_seconds) == pytest.approx(att.handle["data"]["devices"] * elapsed)
    assert any(ln.kind == "resource" for ln in lines)
    assert metrics, "live training metrics from the runtime's events"
