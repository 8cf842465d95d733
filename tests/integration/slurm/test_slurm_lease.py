"""A lease on a Slurm center is a real Slurm reservation and the holder's job runs in it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from suanwang.backends import slurm_reservation as res
from suanwang.backends.base import Handle
from suanwang.control.runner import build_controller
from suanwang.store import jobs as repo
from suanwang.store import leases
from suanwang.store.db import make_engine, session_factory
from suanwang.store.tenants import create_tenant

pytestmark = pytest.mark.slurm


def test_lease_creates_reservation_and_holder_job_runs_inside(federation, tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    ctl = build_controller(db_url=url, federation=federation, data_dir=tmp_path, slurm=True)
    assert ctl.centers.effective["alpha"] == "slurm", ctl.centers.notes
    engine = make_engine(url)
    write, read = session_factory(engine, write=True), session_factory(engine)
    now = datetime.now(UTC)
    with write() as s:
        holder = create_tenant(s, "lessee", balance=Decimal(1000))[0].id
        lease = leases.create_lease(s, holder, center="alpha", accelerator="CPU-local",
                                    devices=2, start=now, end=now + timedelta(hours=1))
        s.commit()
        name, lid = lease.reservation, lease.id
    backend = ctl.centers.backends["alpha"]
    try:
        ctl.tick()
        shown = res.show(backend, name)
        assert f"ReservationName={name}" in shown and "NodeCnt=1" in shown, shown
        with write() as s:
            jid = repo.create_job(s, tenant_id=holder, spec={
                "kind": "batch", "name": "leased", "devices": 2, "accelerator": "CPU-local",
                "command": "echo reservation=$SLURM_JOB_RESERVATION", "walltime_s": 120,
                "constraints": {"centers": ["alpha"]}}).id
            s.commit()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            ctl.tick()
            with read() as s:
                j = repo.get_job(s, jid, tenant_id=None)
            if j.state in ("SUCCEEDED", "FAILED", "CANCELLED"):
                break
            time.sleep(0.3)
        assert j.state == "SUCCEEDED", (j.state, j.reason)
        with read() as s:
            (att,) = repo.attempts(s, jid)
        log = backend.logs(Handle.from_json(att.handle), 4096)
        assert f"reservation={name}" in log, log  # Slurm ran it inside the lease's reservation
        with write() as s:
            leases.cancel_lease(s, holder, lid)
            s.commit()
        ctl.tick()
        assert res.show(backend, name) == ""
    finally:
        res.delete(backend, name)
