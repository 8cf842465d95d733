"""SIGKILL a checkpoint writer at random moments; `latest` must always be complete (fast variant).

The full 100-kill version: ``python -m suanwang.runtime torture --dir D --kills 100``.
"""

from __future__ import annotations

import json
import subprocess
import sys


def test_kill9_during_checkpoint_writes_never_corrupts_latest(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "suanwang.runtime", "torture", "--dir",
                           str(tmp_path / "ckpt"), "--kills", "12", "--seed", "7"],
                          capture_output=True, text=True, timeout=120)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert proc.returncode == 0, out
    assert out["corrupt_latest"] == 0
    assert out["killed_mid_write"] >= 2  # the kills did land inside saves
    assert out["final_step"] > 1
