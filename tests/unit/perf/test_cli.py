"""``suanwang predict|plan|validate`` and ``bench planner``: JSON shapes and error exits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from suanwang.cli.main import app
from suanwang.core.errors import ConfigError
from tests.conftest import REPO, shared_data

runner = CliRunner()


def invoke(*args):
    res = runner.invoke(app, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res


def test_predict_json():
    out = json.loads(invoke("predict", str(REPO / "examples/scenario-gpt3-175b-selective.yaml"),
                            "--json").stdout)
    for key in ("step_time_s", "time_breakdown_s", "tokens_per_s", "model_tflops_per_gpu",
                "mfu", "memory_bytes", "fits"):
        assert key in out
    assert out["fits"] and 10 < out["step_time_s"] < 20


def test_predict_table_inline_model():
    assert "MFU" in invoke("predict",
                           str(REPO / "examples/scenario-llama3-70b-inline.yaml")).stdout


def test_plan_json():
    out = json.loads(invoke("plan", "--model", "gpt3-175b", "--accelerator", "A100-SXM-80GB",
                            "--gpus", "256", "--global-batch", "512", "--tokens", "3e11",
                            "--top", "3", "--json").stdout)
    assert out["configs_evaluated"] > 1000 and out["search_time_s"] > 0
    assert len(out["plans"]) == 3
    p = out["plans"][0]
    for key in ("tp", "pp", "dp", "cp", "vp", "micro_batch", "zero_stage", "recompute",
                "sequence_parallel", "step_time_s", "mfu", "memory_bytes_per_gpu",
                "time_to_train_s", "checkpoint_interval_s", "expected_failures", "ettr"):
        assert key in p
    assert p["time_to_train_s"] >= p["time_to_train_failure_free_s"]


def test_validate_json():
    out = json.loads(invoke("validate", str(shared_data("published_runs.csv")), "--json").stdout)
    assert set(out) == {"rows", "median_abs_error_pct", "p90_abs_error_pct", "skipped"}
    assert {"id", "predicted_step_time_s", "measured_step_time_s", "error_pct"} <= set(
        out["rows"][0])


def test_bench_planner_json():
    out = json.loads(invoke("bench", "planner", "--repeat", "1", "--json").stdout)
    assert [r["configs_evaluated"] >= 10_000 for r in out["results"]] == [True, True]


def test_bad_scenario_exits_2(tmp_path: Path):
    """The real entry point maps a ConfigError to one located line and exit code 2."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: gpt3-175b\naccelerator: A100-SXM-80GB\nnum_gpus: 56\ntp: 7\n"
                   "global_batch_seqs: 8\n")
    res = subprocess.run([sys.executable, "-m", "suanwang", "predict", str(bad)],
                         capture_output=True, text=True, check=False)
    assert res.returncode == 2
    assert "field 'tp'" in res.stderr and "bad.yaml" in res.stderr


PLAN = ["plan", "--model", "gpt3-175b", "--accelerator", "A100-SXM-80GB", "--gpus", "64",
        "--global-batch", "64"]


def test_plan_bad_flags_name_the_flag():
    """Bad plan arguments exit 2 naming the command-line flag, never a negative step time."""
    for extra, flag in ((["--seq-len", "-5"], "--seq-len"), (["--seq-len", "0"], "--seq-len"),
                        (["--global-batch", "0"], "--global-batch"), (["--top", "-1"], "--top"),
                        (["--tokens", "-1"], "--tokens"), (["--gpus", "0"], "--gpus"),
                        (["--storage-gb-per-s", "0", "--tokens", "1e9"], "--storage-gb-per-s")):
        args = PLAN + extra  # a repeated option: the last one wins
        res = subprocess.run([sys.executable, "-m", "suanwang", *args], capture_output=True,
                             text=True, check=False)
        assert res.returncode == 2, (extra, res.stdout, res.stderr)
        assert f"field '{flag}'" in res.stderr, (extra, res.stderr)


def test_plan_inline_model_user_accelerators_and_stack_flags(tmp_path):
    accs = tmp_path / "accs.yaml"
    accs.write_text("accelerators:\n  - {name: MyNPU, vendor: me, kind: npu, tflops: {bf16: 200},"
                    " hbm_gb: 64, hbm_tb_per_s: 1.2, intra_node_gb_per_s: 100, nic_gbps: 200,"
                    " tdp_watts: 300, sources: [mine]}\n")
    out = json.loads(invoke(
        "plan", "--model", "layers=16,hidden=2048,heads=16,vocab=32000,experts=8,top_k=2",
        "--accelerator", "MyNPU", "--accelerators", str(accs), "--gpus", "16",
        "--global-batch", "64", "--ep", "4", "--attention", "materialized", "--top", "2",
        "--json").stdout)
    assert out["accelerator"] == "MyNPU" and out["plans"][0]["mfu"] < 1
    res = runner.invoke(app, ["plan", "--model", "llama2-7b", "--accelerator", "H100-SXM",
                              "--gpus", "8", "--attention", "eager"])
    assert isinstance(res.exception, ConfigError) and res.exception.field == "--attention"


def test_validate_several_csvs_together():
    out = json.loads(invoke("validate", str(shared_data("field_runs.csv")),
                            str(shared_data("domestic_runs.csv")), "--json").stdout)
    assert len(out["rows"]) == 72 and not out["skipped"]
    assert all(r["mfu"] <= 1 for r in out["rows"])
