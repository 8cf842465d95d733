"""Slow storage (issue #17 kind 4): a rank waiting on checkpoint I/O is alive, and overlapping
saves are skipped (never two in flight), with an event saying so."""

from __future__ import annotations

from tests.integration.runtime.conftest import run_job, small_job


def test_slow_storage_is_not_a_hang(tmp_path):
    # every write takes 6 s, longer than the 4 s heartbeat timeout and than several steps
    out = run_job(small_job(tmp_path / "run", run={"nproc": 1, "heartbeat_timeout_s": 4},
                            train={"steps": 8}, checkpoint={"every_steps": 1},
                            faults={"slow_persist_s": 6.0}))
    s = out["summary"]
    assert s["ok"] and s["failures"] == 0, s
    assert s["ckpt_skipped"] >= 3 and s["saved_step"] == 8
    starts = [e for e in out["events"] if e["event"] in ("ckpt_start", "ckpt_committed")]
    in_flight = 0
    for e in starts:  # strictly alternating: never two saves in flight
        in_flight += 1 if e["event"] == "ckpt_start" else -1
        assert in_flight in (0, 1)
