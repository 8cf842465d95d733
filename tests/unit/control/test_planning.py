"""Plans: which pools may host a job, its gang size, and what reaches the runtime."""

import pytest

from suanwang.catalog import load_federation
from suanwang.control.planning import checkpoint_interval_s, plan_job
from suanwang.control.runtime_job import runtime_config, total_steps
from suanwang.core.errors import ConfigError, InfeasibleError
from suanwang.core.jobspec import load_job_spec
from suanwang.runtime.config import from_dict

TINY = {"kind": "training", "name": "t", "tokens": 122880, "global_batch": 16,
        "model": {"layers": 4, "hidden": 128, "heads": 4, "vocab": 256, "seq_len": 128},
        "constraints": {"centers": ["local"]}, "runtime": {"steps": 60}}


def test_batch_nodes_pick_pools_of_that_size():
    fed = load_federation()
    plan = plan_job(fed, {"kind": "batch", "name": "b", "command": "x", "nodes": 2,
                          "accelerator": "H800", "walltime_s": 100})
    assert plan["devices"] == 16 and list(plan["pools"]) == ["shanghai-ai/H800"]
    assert plan["pools"]["shanghai-ai/H800"]["nodes"] == 2
    with pytest.raises(InfeasibleError):
        plan_job(fed, {"kind": "batch", "name": "b", "command": "x", "nodes": 1,
                       "accelerator": "H800", "walltime_s": 100,
                       "constraints": {"exclude_centers": ["shanghai-ai"]}})


def test_training_plan_carries_the_failure_aware_interval():
    plan = plan_job(load_federation(), TINY)
    pool = plan["pools"]["local/CPU-local"]
    assert plan["devices"] == 2 and plan["source"] == "planner"
    assert pool["checkpoint_interval_s"] > 0 and pool["time_s"] > 0
    assert "checkpoint_every_s" not in pool  # one name: plan, sim, sched, runtime config
    doc = runtime_config(load_job_spec(TINY), devices=2,
                         checkpoint_interval_s=pool["checkpoint_interval_s"])
    assert doc["checkpoint"]["interval_s"] == round(pool["checkpoint_interval_s"], 3)
    assert from_dict(doc).checkpoint.interval_s == doc["checkpoint"]["interval_s"]
    assert doc["run"]["nproc"] == 2 and doc["train"]["steps"] == 60
    assert doc["model"]["ffn_hidden"] == 512  # 4 x hidden by default


def test_plans_stored_before_the_rename_still_read():
    assert checkpoint_interval_s({"checkpoint_every_s": 42.0}) == 42.0  # old jobs.plan rows
    assert checkpoint_interval_s({"checkpoint_interval_s": 7.5}) == 7.5
    assert checkpoint_interval_s({"time_s": 1.0}) == 0.0


def test_steps_from_tokens_and_presets_cannot_run_locally():
    spec = load_job_spec({**TINY, "runtime": None})
    assert total_steps(spec) == 122880 // (16 * 128)
    preset = load_job_spec({"kind": "training", "name": "p", "model": "gpt-1.7b",
                            "tokens": 1e9})
    with pytest.raises(ConfigError, match="model"):
        runtime_config(preset, devices=2, checkpoint_interval_s=60)
