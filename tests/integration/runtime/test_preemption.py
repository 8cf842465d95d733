"""Preemption (issue #17 kind 1): SIGTERM / SIGUSR1 to any process of the job -> one final
checkpoint, exit 75 (PREEMPTED), nothing orphaned, and the resume loses no step."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from suanwang.runtime.metrics import read_events, summarize
from suanwang.runtime.procs import PREEMPTED_RC
from tests.integration.runtime.conftest import run_job, small_job

CLI = [sys.executable, "-m", "suanwang.cli.main"]


def _wait_for(run_dir: Path, pred, timeout_s: float = 90.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ev = read_events(run_dir / "events.jsonl")
        if pred(ev):
            return ev
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting in {run_dir}")


def _stepped(n: int):
    return lambda ev: sum(e["event"] == "step" for e in ev) >= n


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _start(job: dict) -> subprocess.Popen:
    run_dir = Path(job["run"]["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir.parent / f"{run_dir.name}.json"
    path.write_text(json.dumps(job))
    return subprocess.Popen([sys.executable, "-m", "suanwang.runtime", "run", str(path),
                             "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_sigterm_to_a_rank_checkpoints_exits_75_and_resume_loses_nothing(tmp_path):
    run_dir = tmp_path / "run"
    job = small_job(run_dir, train={"steps": 400}, checkpoint={"every_steps": 50})
    proc = _start(job)
    ev = _wait_for(run_dir, _stepped(4))
    rank1 = next(e for e in ev if e["event"] == "launch")["pids"][1]
    os.kill(rank1, signal.SIGTERM)  # Slurm signals every process of the step
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == PREEMPTED_RC, err[-2000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["state"] == "PREEMPTED" and summary["preempted"]
    ev = read_events(run_dir / "events.jsonl")
    stop = next(e for e in ev if e["event"] == "preempted")
    assert stop["ranks"] == [1] and stop["signal"] == "SIGTERM"
    assert summary["saved_step"] == stop["step"] == summary["final_step"]  # final checkpoint
    launch = next(e for e in ev if e["event"] == "launch")
    for pid in launch["pids"] + launch["persist_pids"] + [proc.pid]:
        assert not _alive(pid), pid  # nothing orphaned
    # the requeued job resumes exactly where it stopped
    again = run_job(small_job(run_dir, train={"steps": stop["step"] + 2},
                              checkpoint={"every_steps": 50}))
    resumed = next(e for e in again["events"] if e["event"] == "resume")
    assert resumed["step"] == stop["step"]
    assert again["summary"]["lost_steps"] == 0 and again["summary"]["ok"]


def test_sigusr1_advance_warning_to_the_supervisor(tmp_path):
    # Slurm --signal=B:USR1@60 warns the batch step; one rank keeps this test quick
    run_dir = tmp_path / "run"
    proc = _start(small_job(run_dir, train={"steps": 400}, checkpoint={"every_steps": 50},
                            run={"nproc": 1}))
    _wait_for(run_dir, _stepped(3))
    os.kill(proc.pid, signal.SIGUSR1)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == PREEMPTED_RC, err[-2000:]
    ev = read_events(run_dir / "events.jsonl")
    assert [e["signal"] for e in ev if e["event"] == "preempt_signal"] == ["SIGUSR1"]
    s = summarize(ev)
    assert s["state"] == "PREEMPTED" and s["saved_step"] == s["final_step"] > 0


def test_sigterm_to_the_train_cli_preempts_and_orphans_nothing(tmp_path):
    run_dir = tmp_path / "run"
    example = Path(__file__).resolve().parents[3] / "examples" / "train-tiny.yaml"
    proc = subprocess.Popen([*CLI, "train", str(example), "--steps", "400", "--nproc", "1",
                             "--run-dir", str(run_dir), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ev = _wait_for(run_dir, _stepped(3))
    supervisor = next(e for e in ev if e["event"] == "start")["pid"]
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == PREEMPTED_RC, err[-2000:]
    assert json.loads(out)["state"] == "PREEMPTED"
    time.sleep(0.5)
    assert not _alive(supervisor)  # it used to train on, orphaned, holding the lock
    import fcntl

    fd = os.open(run_dir / "supervisor.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again
    finally:
        os.close(fd)
