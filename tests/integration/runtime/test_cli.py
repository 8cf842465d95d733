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
