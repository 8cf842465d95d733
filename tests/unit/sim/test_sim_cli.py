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
        assert {"mean_jct_s", "p50_jct_s", "p99_jct_s", "mean_wait_s", "utilization",
                "makespan_s", "jobs", "p99_wait_s", "max_wait_s", "waits_over_7d",
                "mean_bounded_slowdown", "p99_bounded_slowdown", "size_class_mean_jct_s",
                "mean_queue_len", "peak_queue_len"} <= set(row)
        assert row["max_wait_s"] >= row["p99_wait_s"] >= 0
        assert row["p99_bounded_slowdown"] >= 1.0 and row["mean_bounded_slowdown"] >= 1.0
        assert set(row["size_class_mean_jct_s"]) == {"1", "2-8", "9-64", ">64"}
        assert 0.0 < row["utilization"] <= 1.0
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


def test_bench_sim_contended_cli_and_load_check():
    result = runner.invoke(app, ["bench", "sim", "--contended", "--json", "--jobs", "500",
                                 "--gpus", "400"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["case"] == "contended" and doc["load"] == 1.1 and doc["node_aware"]
    assert doc["peak_queue_len"] > 0 and doc["jobs_per_s"] > 0
    low = runner.invoke(app, ["bench", "sim", "--contended", "--load", "0.5", "--jobs", "10"])
    assert low.exit_code != 0 and "load" in str(low.exception)  # main() maps it to exit 2


def test_bounded_slowdown_and_size_classes_known_answer():
    """Two jobs on 8 devices: a 1-device 5 s job and an 8-device 100 s job submitted together;
    FIFO runs the 1-device one first, so the 8-device one waits 5 s."""
    import numpy as np

    from suanwang.sched.registry import get_policy
    from suanwang.sim.cluster import homogeneous
    from suanwang.sim.engine import simulate
    from suanwang.sim.workload import Workload

    wl = Workload(name="k", submit_s=np.array([0.0, 0.0]), runtime_s=np.array([5.0, 100.0]),
                  num_devices=np.array([1, 8]), user=np.array([0, 0]), users=["u"])
    r = simulate(wl, homogeneous(8), get_policy("fifo"))
    # bounded slowdown: max(5 / max(5, 10), 1) = 1 (not 0.5) and 105 / 100 = 1.05
    assert r.mean_bounded_slowdown == (1.0 + 1.05) / 2
    assert r.size_class_mean_jct_s == {"1": 5.0, "2-8": 105.0, "9-64": None, ">64": None}


def test_simulate_pooled_flag():
    result = runner.invoke(app, ["simulate", "--trace-format", "synthetic", "--jobs", "200",
                                 "--cluster-gpus", "64", "--policy", "backfill", "--json",
                                 "--pooled"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["node_aware"] is False


def test_simulate_lossy_preemption_loses_more_work():
    """--preemption lossy: preempted jobs lose their work since the last periodic checkpoint
    instead of one final save, so the same suanwang run keeps less of its held time."""
    args = ["simulate", "--trace-format", "synthetic", "--jobs", "600", "--cluster-gpus", "64",
            "--load", "1.3", "--failures", "--no-models", "--policy", "suanwang", "--json"]
    runs = {}
    for flag in ("graceful", "lossy"):
        result = runner.invoke(app, [*args, "--preemption", flag])
        assert result.exit_code == 0, result.output
        runs[flag] = json.loads(result.stdout)
    graceful, lossy = runs["graceful"], runs["lossy"]
    assert graceful["graceful_preemption"] is True and lossy["graceful_preemption"] is False
    g, lo = graceful["policies"]["suanwang"], lossy["policies"]["suanwang"]
    assert g["preemptions"] > 0 and lo["preemptions"] > 0
    assert g["ettr"] > lo["ettr"]
