"""Submit -> the real controller -> local processes / sim centers -> usage -> invoice."""

import time

from suanwang.store import jobs as repo
from suanwang.store.billing import balance_of
from suanwang.store.models import InvoiceLine
from suanwang.store.usage import usage_for_job

TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


def _submit(p, spec):
    with p.write() as s:
        job = repo.create_job(s, tenant_id=p.tenant, spec=spec)
        s.commit()
        return job.id


def _run(p, ids, timeout=60, each=None):
    t0 = time.time()
    while time.time() - t0 < timeout:
        p.ctl.tick()
        with p.read() as s:
            jobs = [repo.get_job(s, i, tenant_id=None) for i in ids]
        if each:
            each(jobs)
        if all(j.state in TERMINAL for j in jobs):
            return jobs
        time.sleep(0.2)
    raise AssertionError([(j.id, j.state, j.reason) for j in jobs])


def _batch(name, command, **kw):
    spec = {"kind": "batch", "name": name, "command": command, "devices": 1,
            "accelerator": "CPU-local", "walltime_s": 60, "constraints": {"centers": ["local"]}}
    spec.update(kw)
    return spec


def test_batch_local_and_sim_end_billed(platform):
    p = platform
    ok = _submit(p, _batch("ok", "echo hi; sleep 0.5"))
    bad = _submit(p, _batch("bad", "echo oops >&2; exit 7"))
    sim = _submit(p, {"kind": "batch", "name": "sim", "command": "x", "nodes": 2,
                      "accelerator": "H800", "walltime_s": 600})
    jobs = _run(p, [ok, bad, sim])
    assert [j.state for j in jobs] == ["SUCCEEDED", "FAILED", "SUCCEEDED"]
    assert jobs[1].reason == "exit code 7" and "oops" in jobs[1].message
    with p.read() as s:
        states = [e.to_state for e in repo.events(s, ok)]
        assert states == ["PENDING", "ADMITTED", "DISPATCHED", "RUNNING", "SUCCEEDED"]
        assert repo.attempts(s, bad)[0].exit_code == 7
        assert all(len(usage_for_job(s, j)) == 1 for j in (ok, bad, sim))
        sim_use = usage_for_job(s, sim)[0]
        # 2 nodes x 8 devices for the predicted run (walltime on the reference chip / the
        # H800's relative speed), in virtual seconds
        assert 0 < float(sim_use.device_seconds) <= 16 * 600.0 and sim_use.devices == 16
        lines = s.query(InvoiceLine).filter(InvoiceLine.job_id == sim).all()
        assert {ln.kind for ln in lines} == {"resource", "energy"}
        bal = balance_of(s, p.tenant)
        assert bal.held == 0 and bal.amount < 10**6


def test_cancel_running_local_job(platform):
    p = platform
    jid = _submit(p, _batch("long", "sleep 60"))
    asked = []

    def cancel_when_running(jobs):
        if jobs[0].state == "RUNNING" and not asked:
            with p.write() as s:
                repo.request_cancel(s, repo.get_job(s, jid, tenant_id=None))
                s.commit()
            asked.append(1)

    (job,) = _run(p, [jid], each=cancel_when_running)
    assert job.state == "CANCELLED" and asked
    with p.read() as s:
        assert repo.attempts(s, jid)[0].state == "CANCELLED"
        assert len(usage_for_job(s, jid)) == 1


def test_node_failure_retries_and_restart_reattaches(platform):
    import os
    import signal

    from suanwang.control.runner import build_controller

    p = platform
    jid = _submit(p, _batch("flaky", "sleep 2; echo done"))
    for _ in range(50):
        p.ctl.tick()
        with p.read() as s:
            atts = repo.attempts(s, jid)
        if atts and atts[0].state == "RUNNING":
            break
        time.sleep(0.1)
    os.killpg(int(atts[0].handle["native_id"]), signal.SIGKILL)  # the "node" dies
    # a new controller process (fresh memory) takes over and re-attaches from the store
    p.ctl = build_controller(db_url=p.url, federation=p.ctl.fed, data_dir=p.dir,
                             sim_speedup=600, slurm=False)
    (job,) = _run(p, [jid])
    assert job.state == "SUCCEEDED"
    with p.read() as s:
        atts = repo.attempts(s, jid)
        assert [a.state for a in atts] == ["NODE_FAIL", "SUCCEEDED"]
        assert [e.reason for e in repo.events(s, jid)].count("node_fail") == 1


def test_fresh_store_on_same_data_dir_runs_its_own_job_one(platform):
    from tests.integration.control.conftest import Platform

    first = _submit(platform, _batch("one", "echo first > out.txt"))
    _run(platform, [first])
    other = Platform(platform.dir, db="other.sqlite")  # job ids start at 1 again
    second = _submit(other, _batch("one", "echo second > out.txt"))
    assert second == first
    (job,) = _run(other, [second])
    assert job.state == "SUCCEEDED"
    with platform.read() as s1, other.read() as s2:
        k1 = repo.attempts(s1, first)[0].handle["key"]
        k2 = repo.attempts(s2, second)[0].handle["key"]
    assert k1 != k2
    outs = sorted((platform.dir / "centers/local/attempts" / k / "out.txt").read_text()
                  for k in (k1, k2))
    assert outs == ["first\n", "second\n"]


def test_higher_priority_preempts_and_preempted_job_resumes(platform):
    p = platform
    big = {"kind": "batch", "name": "low", "command": "x", "devices": 768,
           "accelerator": "A100-SXM-40GB", "walltime_s": 4000}
    low = _submit(p, big)
    t0 = time.time()
    while time.time() - t0 < 30:  # run past the policy's minimum run (600 virtual s = 1 s)
        p.ctl.tick()
        with p.read() as s:
            started = [e.at for e in repo.events(s, low) if e.to_state == "RUNNING"]
        if started and time.time() - started[0].timestamp() > 2.0:
            break
        time.sleep(0.2)
    high = _submit(p, {**big, "name": "high", "walltime_s": 1200,
                       "constraints": {"priority": 10}})
    jobs = _run(p, [low, high], timeout=90)
    assert [j.state for j in jobs] == ["SUCCEEDED", "SUCCEEDED"]
    with p.read() as s:
        reasons = [e.reason for e in repo.events(s, low)]
        atts = repo.attempts(s, low)
        high_started = next(e.at for e in repo.events(s, high) if e.to_state == "RUNNING")
    assert "preempted" in reasons
    assert [a.state for a in atts] == ["CANCELLED", "SUCCEEDED"]
    assert atts[0].detail.get("preempt")  # a batch job has no checkpoint: it starts over
    assert atts[1].started_at >= high_started


def test_centers_say_which_are_simulated(platform):
    from suanwang.store.centers import list_centers

    with platform.read() as s:
        kinds = {c.name: c.backend for c in list_centers(s)}
    assert kinds["local"] == "local" and kinds["beijing-ai"] == "sim"  # Slurm disabled here
    assert set(kinds.values()) == {"local", "sim"}
