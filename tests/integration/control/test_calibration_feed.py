"""The controller's feed of the closed loop: a succeeded attempt's measured step time next to its
plan's prediction becomes a calibration record (real SQLite store, real calibration file)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from suanwang.control.calibrate import calibration_file, record_attempt
from suanwang.core.jobspec import load_job_spec, spec_to_dict
from suanwang.store import jobs as repo
from suanwang.store.db import make_engine, session_factory
from suanwang.store.migrate import upgrade
from suanwang.store.models import Attempt, JobMetric
from suanwang.store.tenants import create_tenant
from tests.integration.control.test_training_local import ROOT


@pytest.fixture
def session(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    with session_factory(make_engine(url), write=True)() as s:
        yield s


def _attempt(s, tenant, *, predicted, step_times, n=1):
    spec = spec_to_dict(load_job_spec(ROOT / "examples/jobs/tiny-local.yaml"))
    job = repo.create_job(s, tenant_id=tenant, spec=spec)
    job.plan = {"devices": 2, "pools": {"local/CPU-local": {"step_time_s": predicted}}}
    a = Attempt(job_id=job.id, n=n, center="local", backend="local", accelerator="CPU-local")
    s.add(a)
    s.flush()
    s.add_all(JobMetric(job_id=job.id, attempt_id=a.id, step=i + 1,
                        detail={"step_time_s": t}) for i, t in enumerate(step_times))
    s.flush()
    return job, a


def test_succeeded_attempts_become_records_and_a_correction(session, tmp_path):
    s = session
    tenant = create_tenant(s, "acme", balance=Decimal(1000))[0].id
    store = calibration_file(tmp_path)
    # warm-up steps (1-3) are ignored: the median of the rest is 0.2 s
    job, a = _attempt(s, tenant, predicted=100.0, step_times=[5, 5, 5, 0.2, 0.19, 0.21, 0.2])
    rec = record_attempt(s, job, a.id, store=store, now=1.0)
    assert rec is not None and rec.measured_step_s == pytest.approx(0.2)
    assert rec.predicted_step_s == 100.0 and rec.center == "local"
    job2, a2 = _attempt(s, tenant, predicted=50.0, step_times=[1, 1, 1, 0.1, 0.1, 0.1])
    record_attempt(s, job2, a2.id, store=store, now=2.0)
    corr = store.corrections()[("local", "CPU-local")]
    assert corr.step_factor == pytest.approx(0.002)
    assert corr.provenance["step"]["jobs"] == [f"job{job.id}.attempt1", f"job{job2.id}.attempt1"]
    # nothing to learn from: too few steps, or no prediction in the plan
    job3, a3 = _attempt(s, tenant, predicted=10.0, step_times=[1, 1, 1, 0.1])
    assert record_attempt(s, job3, a3.id, store=store, now=3.0) is None
    job4, a4 = _attempt(s, tenant, predicted=0.0, step_times=[1] * 8)
    assert record_attempt(s, job4, a4.id, store=store, now=4.0) is None
    assert len(store.records()) == 2


def test_admission_plans_use_the_corrections(tmp_path):
    from suanwang.control.calibrate import calibrate_plan, corrections_for
    from suanwang.plan.calibration import RunRecord

    plan = {"devices": 2, "estimate_s": 1000.0, "source": "planner",
            "pools": {"local/CPU-local": {"time_s": 1000.0, "cost": 10.0, "nodes": 1,
                                          "step_time_s": 100.0},
                      "beijing-ai/H100-SXM": {"time_s": 50.0, "cost": 99.0, "nodes": 1}}}
    assert calibrate_plan(plan, corrections_for(tmp_path)) == plan  # nothing measured yet
    store = calibration_file(tmp_path)
    for i in range(2):
        store.add(RunRecord(job_id=f"j{i}", center="local", accelerator="CPU-local",
                            at_s=float(i), predicted_step_s=100.0, measured_step_s=0.1))
    got = calibrate_plan(plan, corrections_for(tmp_path))
    local = got["pools"]["local/CPU-local"]
    assert local["time_s"] == pytest.approx(1.0) and local["cost"] == pytest.approx(0.01)
    assert local["step_factor"] == pytest.approx(0.001)
    assert got["pools"]["beijing-ai/H100-SXM"] == plan["pools"]["beijing-ai/H100-SXM"]
    assert got["estimate_s"] == pytest.approx(1.0)
    batch = {**plan, "source": "batch"}
    assert calibrate_plan(batch, corrections_for(tmp_path)) == batch
    (tmp_path / "calibration.json").write_text("{broken")
    assert corrections_for(tmp_path) == {}  # a damaged file never stops admission
