"""Config changes on resume (issue #17 kind 5): applied and stated, or refused with exit 2."""

from __future__ import annotations

import math

from suanwang.runtime.config import from_dict
from suanwang.runtime.train import lr_lambda
from tests.integration.runtime.conftest import run_job, small_job


def test_changed_lr_is_applied_and_a_changed_seed_refused(tmp_path):
    run_dir = tmp_path / "run"
    first = run_job(small_job(run_dir, run={"nproc": 1, "until_step": 4}))
    assert first["summary"]["saved_step"] == 4
    job = small_job(run_dir, run={"nproc": 1, "until_step": 6},
                    train={"lr": 0.01, "weight_decay": 0.05})
    out = run_job(job)
    changes = {e["field"]: e for e in out["events"] if e["event"] == "config_change"}
    assert set(changes) == {"train.lr", "train.weight_decay"}
    assert changes["train.lr"]["action"] == "applied" and changes["train.lr"]["new"] == 0.01
    assert changes["train.weight_decay"]["action"] == "applied"
    step5 = next(e for e in out["events"] if e["event"] == "step" and e["step"] == 5)
    # the new schedule at the resumed position (it used to follow the old lr exactly)
    assert math.isclose(step5["lr"], 0.01 * lr_lambda(from_dict(job))(5), rel_tol=1e-9)
    refused = run_job(small_job(run_dir, run={"nproc": 1},
                                train={"lr": 0.01, "weight_decay": 0.05, "seed": 7,
                                       "steps": 12}), codes=(2,))
    s = refused["summary"]
    assert s["state"] == "CONFIG_ERROR" and s["restarts"] == 0
    assert "field 'seed'" in refused["stderr"] and "refused" in refused["stderr"]
    change = next(e for e in refused["events"] if e["event"] == "config_change")
    assert change["field"] == "train.seed" and change["action"] == "refused"
