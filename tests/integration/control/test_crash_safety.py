"""kill -9 the controller process at random points >= 20 times: every job ends exactly once,
no attempt runs twice, usage is counted once per attempt."""

import os
import random
import select
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from suanwang.store import jobs as repo
from suanwang.store.db import make_engine, session_factory
from suanwang.store.migrate import upgrade
from suanwang.store.models import Attempt, JobEvent, UsageRecord
from suanwang.store.tenants import create_tenant

KILLS = 20
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


def _start(url: str, data: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "suanwang", "controller", "--db", url, "--data-dir", str(data),
         "--tick-s", "0.1", "--sim-speedup", "300", "--no-slurm"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for_start(proc: subprocess.Popen, timeout_s: float = 60.0) -> None:
    """Block until the controller printed its first line (imports done, loop starting), so
    the kill lands in migration, center sync or the ticks rather than in Python start-up."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    if ready:
        proc.stdout.readline()


@pytest.mark.slow
def test_kill_minus_nine_twenty_times(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    engine = make_engine(url)
    W, R = session_factory(engine, write=True), session_factory(engine)
    with W() as s:
        tid = create_tenant(s, "acme", balance=Decimal(10) ** 6)[0].id
        specs = [{"kind": "batch", "name": f"loc{i}", "command": "echo once >> ran.txt; sleep 1",
                  "devices": 1, "accelerator": "CPU-local", "walltime_s": 60,
                  "constraints": {"centers": ["local"]}} for i in range(6)]
        specs += [{"kind": "batch", "name": f"sim{i}", "command": "x", "nodes": 1 + i % 3,
                   "walltime_s": 600 + 300 * i, "constraints": {"exclude_centers": ["local"]}}
                  for i in range(24)]
        ids = [j.id for j in repo.create_jobs(s, [(tid, sp) for sp in specs])]
        s.commit()
    rng = random.Random(7)
    for _ in range(KILLS):
        proc = _start(url, tmp_path)
        _wait_for_start(proc)
        time.sleep(rng.uniform(0.0, 2.5))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    with R() as s:  # the kills interrupted real work: jobs were dispatched and ended meanwhile
        assert s.query(Attempt).count() > 0
        assert s.query(JobEvent).filter(JobEvent.to_state.in_(TERMINAL)).count() > 0
    proc = _start(url, tmp_path)
    try:
        t0 = time.time()
        while time.time() - t0 < 120:
            with R() as s:
                if all(repo.get_job(s, i, tenant_id=None).state in TERMINAL for i in ids):
                    break
            time.sleep(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    with R() as s:
        for i in ids:
            ends = s.query(JobEvent).filter(JobEvent.job_id == i,
                                            JobEvent.to_state.in_(TERMINAL)).count()
            assert ends == 1, f"job {i} ended {ends} times"
            job = repo.get_job(s, i, tenant_id=None)
            assert job.state == "SUCCEEDED", (job.name, job.reason, job.message,
                                              [(a.state, a.detail.get("reason")) for a in
                                               repo.attempts(s, i)])
        attempts = s.query(Attempt).all()
        assert all(a.state in ("SUCCEEDED", "NODE_FAIL", "CANCELLED") for a in attempts)
        assert s.query(UsageRecord).count() == len(attempts)  # one record per attempt
    for d in (tmp_path / "centers" / "local" / "attempts").iterdir():
        ran = (d / "ran.txt").read_text() if (d / "ran.txt").exists() else ""
        assert ran in ("", "once\n"), f"{d.name} ran {ran.count('once')} times"
