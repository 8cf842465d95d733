"""Bad numerics (issue #17 kind 3): a non-finite step is not applied; the job rolls back to the
newest committed checkpoint and skips the batch, or fails clearly after N rollbacks; no
checkpoint ever holds a NaN."""

from __future__ import annotations

import math

import torch
from torch.distributed.checkpoint import FileSystemReader

from suanwang.runtime.checkpoint import committed
from tests.integration.runtime.conftest import run_job, small_job


def _all_finite(path) -> bool:
    reader = FileSystemReader(str(path))
    meta = reader.read_metadata()
    import torch.distributed.checkpoint as dcp

    state = {k: torch.empty(v.size, dtype=v.properties.dtype)
             for k, v in meta.state_dict_metadata.items() if hasattr(v, "size")}
    dcp.load(state, storage_reader=reader, no_dist=True)
    return all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point())


def test_poisoned_batch_is_skipped_after_a_rollback(tmp_path):
    out = run_job(small_job(tmp_path / "run", run={"nproc": 1}, faults={"nan_at_step": 5}))
    s = out["summary"]
    assert s["ok"] and s["rollbacks"] == 1 and s["final_step"] == 10
    bad = next(e for e in out["events"] if e["event"] == "nonfinite")
    assert bad["step"] == 5 and not math.isfinite(bad["loss"])
    assert next(e for e in out["events"] if e["event"] == "resume")["step"] == 3
    skipped = [e for e in out["events"] if e["event"] == "batch_skipped"]
    assert [e["first_sample"] for e in skipped] == [bad["first_sample"]]
    assert all(math.isfinite(v) for v in out["losses"].values())


def test_divergence_fails_clearly_and_commits_no_nan(tmp_path):
    out = run_job(small_job(tmp_path / "run", run={"nproc": 1},
                            train={"lr": 1e6, "min_lr": 1.0, "warmup_steps": 0,
                                   "max_rollbacks": 1},
                            checkpoint={"every_steps": 1}), codes=(1,))
    s = out["summary"]
    assert s["state"] == "FAILED" and not s["ok"] and s["rollbacks"] == 1
    assert "non-finite" in s["reason"] and "train.lr" in s["reason"]
    assert "non-finite" in out["stderr"]
    for _, path in committed(tmp_path / "run" / "ckpt"):
        assert _all_finite(path), path
