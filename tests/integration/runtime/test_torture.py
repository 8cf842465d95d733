"""SIGKILL a checkpoint writer at random moments; `latest` must always be complete (fast variant).

The full 100-kill version: ``python -m suanwang.runtime torture --dir D --kills 100``.
"""

from __future__ import annotations

import json
import subprocess
import sys


def test_kill9_during_checkpoint_writes_never_corrupts_latest(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "suanwang.runtime", "torture", "--dir",
                           str(tmp_path / "ckpt"), "--kills", "10", "--seed", "7"],
                          capture_output=True, text=True, timeout=120)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert proc.returncode == 0, out
    assert out["corrupt_latest"] == 0 and out["lost_handoffs"] == 0
    assert out["killed_mid_write"] >= 1  # the kills did land inside saves
    assert out["final_step"] > 1


def test_torture_writer_dies_with_its_parent(tmp_path):
    import os
    import signal
    import time

    proc = subprocess.Popen([sys.executable, "-m", "suanwang.runtime", "torture", "--dir",
                             str(tmp_path / "ckpt"), "--kills", "50"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children_file = f"/proc/{proc.pid}/task/{proc.pid}/children"
    children: list[int] = []
    deadline = time.monotonic() + 60
    try:
        while not children and time.monotonic() < deadline:
            time.sleep(0.1)
            with open(children_file) as f:
                children = [int(x) for x in f.read().split()]
        assert children, "torture never forked a writer"
    finally:
        proc.kill()
        proc.wait(timeout=10)
    def gone(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split()[2] == "Z"  # a zombie waiting for init counts as dead
        except FileNotFoundError:
            return True

    for pid in children:
        for _ in range(100):
            if gone(pid):
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
            raise AssertionError(f"writer {pid} outlived its parent")
