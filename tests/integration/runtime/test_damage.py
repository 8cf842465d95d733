"""Damaged checkpoints (issue #17 kind 2): a lost shard of the newest checkpoint makes the job
fall back to the newest intact one, say so in the events, and never carry damage forward."""

from __future__ import annotations

from suanwang.runtime.checkpoint import committed, step_dir, verify
from tests.integration.runtime.conftest import run_job, small_job


def test_missing_shard_falls_back_to_the_older_checkpoint(tmp_path, reference):
    run_dir = tmp_path / "run"
    first = run_job(small_job(run_dir, run={"until_step": 6}, checkpoint={"keep": 3}))
    assert first["summary"]["saved_step"] == 6
    (step_dir(run_dir / "ckpt", 6) / "__1_0.distcp").unlink()  # the example
    out = run_job(small_job(run_dir, checkpoint={"keep": 3}))
    s = out["summary"]
    assert s["ok"] and s["failures"] == 0 and s["ckpt_damaged"] == [6]
    damaged = next(e for e in out["events"] if e["event"] == "ckpt_damaged")
    assert "__1_0.distcp missing" in damaged["reason"]
    assert next(e for e in out["events"] if e["event"] == "resume")["step"] == 3
    assert out["losses"] == {k: v for k, v in reference["losses"].items() if k > 3}
    assert out["weights"] == reference["weights"]  # the damaged state was not carried forward
    assert all(verify(path) is None for _, path in committed(run_dir / "ckpt"))
