"""Real training through the controller on the local center: the planner's checkpoint interval
reaches the runtime, live metrics flow into job_metrics, a rank killed with SIGKILL is recovered,
and a restarted controller re-attaches to the running job."""

import json
import os
import signal
import time
from pathlib import Path

import pytest

from suanwang.control.runner import build_controller
from suanwang.core.jobspec import load_job_spec, spec_to_dict
from suanwang.store import jobs as repo
from suanwang.store.usage import usage_for_job

ROOT = Path(__file__).resolve().parents[3]


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat[stat.rfind(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _leaf_rank(keeper: int) -> int | None:
    procs = _descendants(keeper)
    parents = set()
    for p in procs:
        try:
            stat = Path(f"/proc/{p}/stat").read_text()
        except OSError:
            continue
        parents.add(int(stat[stat.rfind(")") + 2:].split()[1]))
    leaves = [p for p in procs if p not in parents]
    return leaves[0] if leaves else None


@pytest.mark.slow
def test_tiny_training_rank_kill_and_controller_restart(platform):
    p = platform
    spec = spec_to_dict(load_job_spec(ROOT / "examples/jobs/tiny-local.yaml"))
    spec["runtime"]["steps"] = 40
    with p.write() as s:
        jid = repo.create_job(s, tenant_id=p.tenant, spec=spec).id
        s.commit()
    killed = restarted = False
    t0 = time.time()
    while time.time() - t0 < 240:
        p.ctl.tick()
        with p.read() as s:
            job = repo.get_job(s, jid, tenant_id=None)
            metrics = repo.metrics(s, jid)
            atts = repo.attempts(s, jid)
        if job.state in ("SUCCEEDED", "FAILED", "CANCELLED"):
            break
        if not killed and metrics and metrics[-1].step >= 12:
            rank = _leaf_rank(int(atts[-1].handle["native_id"]))
            if rank is not None:
                os.kill(rank, signal.SIGKILL)
                killed = True
        if killed and not restarted:  # a fresh controller re-attaches to the running job
            p.ctl = build_controller(db_url=p.url, federation=p.ctl.fed, data_dir=p.dir,
                                     sim_speedup=600, slurm=False)
            restarted = True
        time.sleep(0.3)
    assert killed and restarted
    assert job.state == "SUCCEEDED", (job.state, job.reason, job.message)
    with p.read() as s:
        atts = repo.attempts(s, jid)
        reasons = [e.reason for e in repo.events(s, jid)]
        steps = {m.step for m in repo.metrics(s, jid, limit=10_000)}
        assert len(usage_for_job(s, jid)) == len(atts)
        job = repo.get_job(s, jid, tenant_id=None)
    assert max(steps) == 40 and "runtime_restart" in reasons
    state_dir = Path(atts[-1].handle["data"]["state_dir"])
    runtime_job = json.loads((state_dir / "job.json").read_text())
    planned = job.plan["pools"]["local/CPU-local"]["checkpoint_interval_s"]
    assert runtime_job["checkpoint"]["interval_s"] == round(planned, 3) > 0
