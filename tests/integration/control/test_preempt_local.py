"""Preemption of a real training job on the local center through the runtime's checkpoint path.

local/CPU-local (2 devices) is leased by a holder; another tenant's preemptible training job
(the tiny GPT, 2 CPU ranks) borrows it. The holder's job arrives, the lease reclaim preempts
the borrower: the local backend SIGTERMs its process group, the runtime commits one final
checkpoint at the step it stopped and exits 75, the attempt ends PREEMPTED, the job goes
RETRYING (not a failure) -> DISPATCHED once the holder's job is done, and the next attempt
resumes at exactly that step: 0 committed steps lost."""

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from suanwang.core.jobspec import load_job_spec, spec_to_dict
from suanwang.store import jobs as repo
from suanwang.store import leases
from suanwang.store.tenants import create_tenant

ROOT = Path(__file__).resolve().parents[3]
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")
STEPS = 20


def _events(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def _job(p, jid):
    with p.read() as s:
        return repo.get_job(s, jid, tenant_id=None)


@pytest.mark.slow  # ~50-80 s on the loaded 2-core box: two runtime launches, 20 CPU steps
def test_lease_reclaim_preempts_training_with_no_lost_steps(platform):
    p = platform
    now = datetime.now(UTC)
    spec = spec_to_dict(load_job_spec(ROOT / "examples/jobs/tiny-local.yaml"))
    spec["runtime"]["steps"] = STEPS
    spec["checkpoint"] = {"every_steps": 1000, "keep": 3}  # only the final one near the stop
    spec["constraints"] = {"centers": ["local"], "preemptible": True}
    with p.write() as s:
        holder = create_tenant(s, "holder", balance=Decimal(1000))[0].id
        leases.create_lease(s, holder, center="local", accelerator="CPU-local", devices=2,
                            start=now - timedelta(minutes=1), end=now + timedelta(hours=1))
        borrow = repo.create_job(s, tenant_id=p.tenant, spec=spec).id
        s.commit()
    t0 = time.time()
    while True:  # training for real, a few steps in
        p.ctl.tick()
        with p.read() as s:
            steps = [m.step for m in repo.metrics(s, borrow)]
        if steps and max(steps) >= 4:
            break
        assert time.time() - t0 < 90, (_job(p, borrow).state, steps)
        time.sleep(0.2)
    with p.write() as s:
        mine = repo.create_job(s, tenant_id=holder, spec={
            "kind": "batch", "name": "mine", "command": "sleep 1", "devices": 2,
            "accelerator": "CPU-local", "walltime_s": 120,
            "constraints": {"centers": ["local"]}}).id
        s.commit()
    t1 = time.time()
    while not all(_job(p, j).state in TERMINAL for j in (borrow, mine)):
        assert time.time() - t1 < 150, (_job(p, borrow).state, _job(p, mine).state)
        p.ctl.tick()
        time.sleep(0.2)
    assert (_job(p, borrow).state, _job(p, mine).state) == ("SUCCEEDED", "SUCCEEDED")
    with p.read() as s:
        atts = repo.attempts(s, borrow)
        moves = [(e.to_state, e.reason) for e in repo.events(s, borrow)
                 if e.from_state != e.to_state]
        notes = [e for e in repo.events(s, borrow) if e.reason == "runtime_preempted"]
        steps = [m.step for m in repo.metrics(s, borrow, limit=10_000)]
        mine_started = next(e.at for e in repo.events(s, mine) if e.to_state == "RUNNING")
    assert [(a.state, a.exit_code) for a in atts] == [("PREEMPTED", 75), ("SUCCEEDED", 0)]
    assert ("RETRYING", "preempted") in moves
    i = moves.index(("RETRYING", "preempted"))
    assert moves[i + 1][0] == "DISPATCHED"
    assert int(atts[0].detail.get("failures", 0)) == 0  # a preemption is not a failure
    assert atts[1].started_at >= mine_started  # the holder ran first

    run_dir = Path(atts[0].handle["data"]["run_dir"])
    first = _events(next(iter(sorted(run_dir.glob("events.*.jsonl")))))  # rotated by attempt 2
    second = _events(run_dir / "events.jsonl")
    stopped = max(e["step"] for e in first if e["event"] == "step")
    committed = [e["step"] for e in first if e["event"] == "ckpt_committed"]
    preempted = next(e for e in first if e["event"] == "preempted")
    resumed = next(e for e in second if e["event"] == "resume")
    assert first[-1]["event"] == "end" and first[-1]["state"] == "PREEMPTED"
    assert committed and max(committed) == stopped == preempted["step"]  # the final checkpoint
    assert resumed["step"] == stopped  # 0 committed steps lost
    assert notes and notes[0].detail["committed"] == stopped
    assert sorted(set(steps)) == list(range(1, STEPS + 1))
    signalled = next(e["t"] for e in first if e["event"] == "preempt_signal")
    print(f"preempted at step {stopped}: final checkpoint committed at step {max(committed)}, "
          f"SIGTERM -> runtime end {first[-1]['t'] - signalled:.1f} s, resumed at step "
          f"{resumed['step']} (0 lost)")
    assert min(m for m in steps[steps.index(stopped) + 1:]) == stopped + 1  # nothing re-done
