"""`suanwang train` end to end (subprocess, hard timeout) and its config errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "train-tiny.yaml"
CLI = [sys.executable, "-m", "suanwang.cli.main"]


def test_train_example_job_via_cli(tmp_path):
    proc = subprocess.run([*CLI, "train", str(EXAMPLE), "--steps", "4", "--nproc", "2",
                           "--run-dir", str(tmp_path / "run"), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["ok"] and summary["final_step"] == 4 and summary["checkpoints"] == 1
    assert (tmp_path / "run" / "ckpt" / "latest").read_text().strip() == "step_00000004"


def test_bad_job_is_a_config_error_naming_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  parallel: pipeline\n")
    proc = subprocess.run([*CLI, "train", str(bad)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "parallel" in proc.stderr and "ddp" in proc.stderr


def test_rerun_in_same_run_dir_follows_the_new_timeline(tmp_path):
    run = str(tmp_path / "run")
    first = subprocess.run([*CLI, "train", str(EXAMPLE), "--steps", "4", "--run-dir", run,
                            "--json"], capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr[-2000:]
    # second invocation: the supervisor rotates events.jsonl; the CLI must follow the new file
    second = subprocess.run([*CLI, "train", str(EXAMPLE), "--steps", "6", "--ckpt-every-steps",
                             "2", "--run-dir", run, "--json"],
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr[-2000:]
    summary = json.loads(second.stdout)
    assert summary["ok"] and summary["final_step"] == 6 and summary["checkpoints"] == 1
    assert len(list((tmp_path / "run").glob("events.*.jsonl"))) == 1  # the first timeline


def test_second_supervisor_in_the_same_run_dir_is_refused(tmp_path):
    import fcntl
    import os

    run = tmp_path / "run"
    run.mkdir()
    fd = os.open(run / "supervisor.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # stands in for a running supervisor
    try:
        proc = subprocess.run([*CLI, "train", str(EXAMPLE), "--steps", "2", "--run-dir",
                               str(run)], capture_output=True, text=True, timeout=60)
    finally:
        os.close(fd)
    assert proc.returncode == 2
    assert "another supervisor" in proc.stderr and "--run-dir" in proc.stderr


def test_resume_past_the_requested_steps_reports_the_resumed_state(tmp_path):
    # issue #16 item 7: a run dir already past --steps printed 0/N and final_step 0
    run = str(tmp_path / "run")
    first = subprocess.run([*CLI, "train", str(EXAMPLE), "--steps", "6", "--nproc", "1",
                            "--run-dir", run, "--json"], capture_output=True, text=True,
                           timeout=120)
    assert first.returncode == 0, first.stderr[-2000:]
    second = subprocess.run([*CLI, "train", str(EXAMPLE), "--steps", "4", "--nproc", "1",
                             "--run-dir", run, "--json"], capture_output=True, text=True,
                            timeout=120)
    assert second.returncode == 0, second.stderr[-2000:]
    summary = json.loads(second.stdout)
    assert summary["final_step"] == 6 and summary["resumed_from"] == 6
    assert summary["saved_step"] is None and summary["steps"] == 0  # nothing trained, saved
    assert summary["state"] == "SUCCEEDED" and summary["lost_steps"] == 0
