from __future__ import annotations

from pathlib import Path

import pytest

from suanwang.core.errors import ConfigError
from suanwang.runtime.config import TrainConfig, from_dict, load_job

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "train-tiny.yaml"


def test_defaults_are_valid_and_round_trip():
    cfg = TrainConfig()
    assert from_dict(cfg.to_dict()) == cfg
    assert cfg.global_batch_seqs == 16


def test_example_job_parses():
    cfg = load_job(EXAMPLE)
    assert cfg.run.nproc == 2 and cfg.train.parallel == "ddp"


@pytest.mark.parametrize(("raw", "field", "hint"), [
    ({"train": {"stepz": 3}}, "stepz", "unknown field"),
    ({"train": {"steps": "ten"}}, "steps", "must be int"),
    ({"train": {"parallel": "tp"}}, "parallel", "not one of"),
    ({"model": {"hidden": 100, "heads": 3}}, "heads", "divisible"),
    ({"data": {"split": "explicit", "micro_batches": [3, 3]}}, "micro_batches", "sum to"),
    ({"data": {"global_micro_batches": 1}}, "global_micro_batches", "cannot feed"),
    ({"checkpoint": {"interval_s": -1}}, "interval_s", ">= 0"),
    ({"checkpoint": {"every_s": -1}}, "interval_s", ">= 0"),  # deprecated alias, same field
    ({"checkpoint": {"every_s": 5, "interval_s": 5}}, "interval_s", "given twice"),
    ({"data": {"split": "explicit", "micro_batches": [4, 0]}}, "micro_batches", ">= 1"),
    ({"data": {"split": "proportional", "rank_speeds": [1.0, 2.0, 3.0]}}, "rank_speeds",
     "one speed per rank"),
    ({"model": {"vocab": 100}}, "vocab", ">= 256"),
    ({"train": {"grad_clip": 0.0}}, "grad_clip", "> 0"),
    ({"train": {"weight_decay": -0.1}}, "weight_decay", ">= 0"),
    ({"run": {"startup_timeout_s": 0}}, "startup_timeout_s", "> 0"),
    ({"run": {"max_seconds": -5}}, "max_seconds", ">= 0"),
    ({"faults": {"kill_max": -1}}, "kill_max", ">= 0"),
])
def test_bad_fields_name_the_field_and_the_fix(raw, field, hint):
    with pytest.raises(ConfigError) as err:
        from_dict(raw, file="job.yaml")
    assert err.value.field == field
    assert hint in str(err.value) and "job.yaml" in str(err.value)


def test_unknown_section_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="unknown section"):
        from_dict({"optimizer": {}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  steps: [1\n")
    with pytest.raises(ConfigError, match="invalid YAML") as err:
        load_job(bad)
    assert err.value.line is not None
    with pytest.raises(ConfigError, match="not found"):
        load_job(tmp_path / "missing.yaml")


def test_overrides_are_rechecked():
    cfg = TrainConfig().with_overrides(run={"nproc": 1}, checkpoint={"interval_s": 5})
    assert cfg.run.nproc == 1 and cfg.checkpoint.interval_s == 5.0
    # the deprecated ``every_s`` overrides the canonical field (no "given twice" clash)
    assert cfg.with_overrides(checkpoint={"every_s": 7}).checkpoint.interval_s == 7.0
    with pytest.raises(ConfigError):
        TrainConfig().with_overrides(run={"nproc": 0})


def test_corpus_problems_fail_before_launch(tmp_path):
    from suanwang.runtime.data import check_corpus

    (tmp_path / "notes.md").write_text("x" * 1000)
    with pytest.raises(ConfigError, match=r"no \*\.txt") as err:
        check_corpus([str(tmp_path)], seq_len=128)
    assert err.value.field == "paths"
    (tmp_path / "tiny.txt").write_text("short")
    with pytest.raises(ConfigError, match="fewer than one sequence"):
        check_corpus([str(tmp_path)], seq_len=128)
    check_corpus([], seq_len=128)  # the bundled sample is fine


def test_cli_flags_share_one_mapping():
    from suanwang.runtime.config import flag_overrides

    assert flag_overrides(nproc=1, ckpt_every_steps=5, steps=None) == {
        "run": {"nproc": 1}, "checkpoint": {"every_steps": 5}}
    assert flag_overrides(ckpt_interval_s=30.0) == {"checkpoint": {"interval_s": 30.0}}


def test_old_every_s_job_files_still_load(tmp_path):
    old = tmp_path / "old.json"
    old.write_text('{"checkpoint": {"every_steps": 0, "every_s": 12.5}}')
    cfg = load_job(old)
    assert cfg.checkpoint.interval_s == 12.5 and cfg.checkpoint.every_steps == 0
    assert cfg.to_dict()["checkpoint"]["interval_s"] == 12.5
    assert "every_s" not in cfg.to_dict()["checkpoint"]


def test_more_ranks_than_gpus_is_a_config_error(monkeypatch):
    import torch

    from suanwang.runtime.train import setup_device

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setenv("LOCAL_RANK", "1")
    cfg = TrainConfig().with_overrides(train={"device": "cuda"})
    with pytest.raises(ConfigError, match="has no GPU") as err:
        setup_device(cfg)
    assert err.value.field == "nproc"
