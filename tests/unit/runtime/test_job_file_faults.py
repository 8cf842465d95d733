"""A job file must say what to run, name itself on bad bytes, and suggest fixes for typos."""

from __future__ import annotations

import pytest

from suanwang.core.errors import ConfigError
from suanwang.runtime.config import load_job


@pytest.mark.parametrize("text", ["", "# only a comment\n", "{}\n", "name: mine\n"])
def test_empty_or_fieldless_job_is_refused(tmp_path, text):
    job = tmp_path / "job.yaml"
    job.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_job(job)
    assert err.value.file == str(job)
    assert "examples/train-tiny.yaml" in str(err.value)


def test_one_section_is_enough_and_defaults_fill_the_rest(tmp_path):
    job = tmp_path / "job.yaml"
    job.write_text("train: {steps: 7}\n")
    cfg = load_job(job)
    assert cfg.train.steps == 7 and cfg.name == "tiny"


def test_random_bytes_name_the_file(tmp_path):
    job = tmp_path / "job.yaml"
    job.write_bytes(bytes(range(128, 256)) * 4)
    with pytest.raises(ConfigError, match="not UTF-8 text") as err:
        load_job(job)
    assert err.value.file == str(job)


def test_directory_is_named(tmp_path):
    with pytest.raises(ConfigError, match="directory"):
        load_job(tmp_path)


@pytest.mark.parametrize(("text", "suggestion"), [
    ("modle: {layers: 2}\n", "did you mean 'model'"),
    ("model: {layer: 2}\n", "did you mean 'layers'"),
    ("train: {step: 5}\n", "did you mean 'steps'"),
])
def test_typos_get_a_suggestion(tmp_path, text, suggestion):
    job = tmp_path / "job.yaml"
    job.write_text(text)
    with pytest.raises(ConfigError, match=suggestion):
        load_job(job)
