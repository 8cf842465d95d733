from __future__ import annotations

import json

from typer.testing import CliRunner

from suanwang.cli.main import app

runner = CliRunner()


def test_simulate_json_synthetic_with_plots(tmp_path):
    result = runner.invoke(app, ["simulate", "--trace-format", "synthetic", "--jobs", "300",
                                 "--cluster-gpus", "64", "--policy", "fifo,suanwang", "--json",
                                 "--plot", str(tmp_path)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc["policies"]) == {"fifo", "suanwang"}
    for row in doc["policies"].values():
        assert {"mean_jct_s", "p99_jct_s", "mean_wait_s", "utilization", "makespan_s",
                "jobs", "p99_wait_s", "max_wait_s", "waits_over_7d"} <= set(row)
        assert row["max_wait_s"] >= row["p99_wait_s"] >= 0
        assert row["jobs"] == 300
    assert doc["node_aware"] is True  # the default with --cluster-gpus
    assert (tmp_path / "jct_cdf.png").stat().st_size > 1000
    assert (tmp_path / "utilization.png").stat().st_size > 1000


def test_simulate_table_and_errors(tmp_path):
    ok = runner.invoke(app, ["simulate", "--trace-format", "synthetic", "--jobs", "100",
                             "--federation", "demo", "--policy", "fairshare"],
                       env={"COLUMNS": "200"})
    assert ok.exit_code == 0, ok.output
    assert "fairshare" in ok.stdout
    both = runner.invoke(app, ["simulate", "--trace-format", "synthetic",
                               "--federation", "demo", "--cluster-gpus", "8"])
    assert both.exit_code != 0
    bad = runner.invoke(app, ["simulate", "--trace-format", "synthetic", "--cluster-gpus", "8",
                              "--policy", "nope"])
    assert bad.exit_code != 0


def test_bench_sim_json_small():
    result = runner.invoke(app, ["bench", "sim", "--json", "--jobs", "2000", "--gpus", "2000"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["jobs"] == 2000 and doc["gpus"] >= 1900 and doc["wall_s"] > 0
    assert doc["events_per_s"] > 0 and doc["finished"] == 2000


def test_simulate_pooled_flag():
    result = runner.invoke(app, ["simulate", "--trace-format", "synthetic", "--jobs", "200",
                                 "--cluster-gpus", "64", "--policy", "backfill", "--json",
                                 "--pooled"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["node_aware"] is False
