"""``suanwang reliability``: JSON fields and flag-named errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from suanwang.cli.main import app
from suanwang.core.errors import ConfigError

runner = CliRunner()


def _json(*args: str) -> dict:
    res = runner.invoke(app, ["reliability", *args, "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_json_from_catalog_rates():
    out = _json("--accelerator", "H100-SXM", "--gpus", "16384", "--ckpt-stall-s", "0.78",
                "--persist-s", "2.8", "--restart-s", "600", "--target-ettr", "0.97")
    for key in ("job_mtbf_s", "young_interval_s", "daly_interval_s", "interval_s", "ettr",
                "expected_lost_work_s", "waste"):
        assert key in out
    assert out["job_mtbf_s"] / 3600 == pytest.approx(3.09, rel=0.01)
    assert 0.9 < out["ettr"] < 0.95
    assert out["failure_rate"]["accelerator_class"] == "hopper"
    assert out["target"]["max_restart_s"] == pytest.approx(204, rel=0.02)


def test_json_daly_example_with_compute_time():
    out = _json("--mtbf-s", "86400", "--ckpt-stall-s", "300", "--restart-s", "600",
                "--compute-s", "2592000")
    assert out["daly_interval_s"] / 60 == pytest.approx(117, rel=0.01)
    assert out["time_to_train_s"] > 2592000 and out["expected_failures"] > 0


def test_table_output():
    res = runner.invoke(app, ["reliability", "--mtbf-s", "21600", "--ckpt-stall-s", "300",
                              "--restart-s", "600"])
    assert res.exit_code == 0 and "ETTR" in res.stdout


@pytest.mark.parametrize(("args", "flag"), [
    (["--mtbf-s", "0", "--ckpt-stall-s", "5", "--restart-s", "60"], "--mtbf-s"),
    (["--mtbf-s", "100", "--ckpt-stall-s", "100", "--restart-s", "60"], "--ckpt-stall-s"),
    (["--mtbf-s", "1000", "--ckpt-stall-s", "5", "--restart-s", "-1"], "--restart-s"),
    (["--ckpt-stall-s", "5", "--restart-s", "60"], "--mtbf-s"),
    (["--accelerator", "H100-SXM", "--gpus", "0", "--ckpt-stall-s", "5", "--restart-s", "60"],
     "--gpus"),
    (["--accelerator", "Nope", "--gpus", "8", "--ckpt-stall-s", "5", "--restart-s", "60"],
     "--accelerator"),
])
def test_bad_flags_name_the_flag(args, flag):
    res = runner.invoke(app, ["reliability", *args])
    assert isinstance(res.exception, ConfigError), res.output
    assert res.exception.field == flag
