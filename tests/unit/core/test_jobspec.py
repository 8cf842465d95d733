"""The job spec: both kinds parse, unknown keys and bad values name the key path."""

from __future__ import annotations

from decimal import Decimal

import pytest

from suanwang.core.errors import ConfigError
from suanwang.core.jobspec import BatchSpec, TrainingSpec, load_job_spec, spec_to_dict
from tests.conftest import REPO

TRAIN = {"kind": "training", "name": "t", "model": "llama3-8b", "tokens": 1e12}


@pytest.mark.parametrize("name", ["tiny-local", "batch-cpu", "llama3-8b", "llama3-70b"])
def test_shipped_examples_parse(name):
    spec = load_job_spec(REPO / "examples" / "jobs" / f"{name}.yaml")
    assert spec.kind in ("training", "batch")
    again = load_job_spec(spec_to_dict(spec))  # stored JSON reloads to the same spec
    assert again == spec


def test_units_as_people_type_them():
    spec = load_job_spec({**TRAIN, "tokens": "2T", "constraints": {"deadline_s": "30d",
                                                                   "budget": "1234.5678"}})
    assert isinstance(spec, TrainingSpec)
    assert spec.tokens == 2e12 and spec.constraints.deadline_s == 30 * 86400
    assert spec.constraints.budget == Decimal("1234.5678")
    batch = load_job_spec({"kind": "batch", "name": "b", "command": ["mpirun", "x"],
                           "nodes": 4, "node_type": "CPU-2xEPYC9654", "walltime_s": "2h"})
    assert isinstance(batch, BatchSpec) and batch.walltime_s == 7200 and batch.node_count == 4


@pytest.mark.parametrize(("doc", "field"), [
    ({**TRAIN, "tokenz": 1}, "tokenz"),
    ({**TRAIN, "constraints": {"budget": "1.23456"}}, "constraints.budget"),
    ({**TRAIN, "constraints": {"min_devices": 8, "max_devices": 4}}, "constraints"),
    ({**TRAIN, "constraints": {"bogus": True}}, "constraints.bogus"),
    ({**TRAIN, "model": {"layers": 2, "hidden": 64, "heads": 3, "vocab": 9}}, "model"),
    ({**TRAIN, "model": {"layers": 2, "hidden": 64, "heads": 4, "vocab": 9, "x": 1}},
     "model.x"),
    ({**TRAIN, "tokens": "2 zillion"}, "tokens"),
    ({**TRAIN, "tokens": -5}, "tokens"),
    ({**TRAIN, "precision": "int3"}, "precision"),
    ({**TRAIN, "runtime": {"steps": 0}}, "runtime.steps"),
    ({"kind": "serving", "name": "x"}, "kind"),
    ({"name": "x"}, "kind"),
    ({"kind": "batch", "name": "b", "command": "x", "walltime_s": 1, "nodes": 1, "devices": 2},
     "spec"),
    ({"kind": "batch", "name": "bad name!", "command": "x", "walltime_s": 1}, "name"),
])
def test_errors_name_the_key(doc, field):
    with pytest.raises(ConfigError) as err:
        load_job_spec(doc)
    assert err.value.field == field, str(err.value)


def test_file_errors_name_the_file(tmp_path):
    bad = tmp_path / "job.yaml"
    bad.write_text("kind: training\nname: t\nmodel: llama3-8b\ntokens: 1e9\nextra: 1\n")
    with pytest.raises(ConfigError, match=r"job\.yaml.*field 'extra'"):
        load_job_spec(bad)
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_job_spec(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_job_spec(tmp_path / "missing.yaml")
