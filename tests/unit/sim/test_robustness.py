"""``suanwang bench sched``: the target verdict per case (issue #14) and the case runner."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from suanwang.sched.registry import POLICIES
from suanwang.sim.robustness import TARGETS, judge, robustness
from tests.unit.cli.test_bad_input import assert_one_line_error, run_cli


def _res(policy: str, mean: float, p99w: float, maxw: float) -> SimpleNamespace:
    return SimpleNamespace(policy=policy, mean_jct_s=mean, p99_wait_s=p99w, max_wait_s=maxw,
                           p99_jct_s=mean * 3, makespan_s=1000.0, p99_queued_s=p99w,
                           max_queued_s=maxw)


def test_verdict_met_only_when_every_target_holds() -> None:
    ok = judge({"backfill": _res("backfill", 100, 50, 80),
                "fifo": _res("fifo", 300, 200, 250),
                "suanwang": _res("suanwang", 80, 50, 80)})
    assert ok["verdict"] == "met" and ok["lowest_mean_jct"]
    assert ok["mean_jct_vs_backfill"] == pytest.approx(0.8)
    tail = judge({"backfill": _res("backfill", 100, 50, 80),
                  "suanwang": _res("suanwang", 70, 51, 79)})
    assert tail["verdict"] == "failed: p99 wait" and tail["failed"] == ["p99_wait_vs_backfill"]
    beaten = judge({"backfill": _res("backfill", 100, 50, 80),
                    "fairshare": _res("fairshare", 60, 90, 90),
                    "suanwang": _res("suanwang", 70, 40, 70)})
    assert beaten["verdict"] == "failed: lowest mean"
    assert beaten["best_other_mean_jct"] == "fairshare"
    assert set(TARGETS) <= set(ok)


def test_no_wait_under_easy_is_not_a_lost_tail() -> None:
    row = judge({"backfill": _res("backfill", 100, 0, 0),
                 "suanwang": _res("suanwang", 100, 0, 0)})
    assert row["p99_wait_vs_backfill"] == 1.0 and row["max_wait_vs_backfill"] == 1.0
    assert row["verdict"] == "failed: mean JCT"


def test_case_runs_every_policy_and_ratios_match_its_numbers() -> None:
    (row,) = robustness(None, only=["synth-plan-1.0"])
    assert set(row["policies"]) == set(POLICIES)
    sw, bf = row["policies"]["suanwang"], row["policies"]["backfill"]
    assert row["mean_jct_vs_backfill"] == pytest.approx(sw["mean_jct_s"] / bf["mean_jct_s"])
    assert row["max_wait_vs_backfill"] == pytest.approx(sw["max_wait_s"] / bf["max_wait_s"])
    assert row["finished"] == row["jobs"] == 6000
    lowest = min(p["mean_jct_s"] for p in row["policies"].values())
    assert row["lowest_mean_jct"] == (sw["mean_jct_s"] <= lowest)
    # The no-wait bound is below every policy's mean JCT, and the unguarded reference ran.
    assert 0 < row["no_wait_mean_jct_s"] <= lowest
    assert row["sjf_unguarded"]["mean_jct_vs_backfill"] > 0


def test_unknown_case_is_exit_2_naming_the_known_ones(capfd, monkeypatch) -> None:
    out = run_cli(["bench", "sched", "--case", "helios-999"], capfd, monkeypatch)
    assert_one_line_error(out)
    assert "helios-999" in out.stderr and "demo-312-1.1" in out.stderr


def test_no_wait_bound_known_answer_and_infeasible_mark() -> None:
    import numpy as np

    from suanwang.sched.state import PoolView
    from suanwang.sim.bounds import no_wait_mean_jct_s
    from suanwang.sim.cluster import SimCluster
    from suanwang.sim.workload import Workload

    pools = [PoolView(name="a/slow", center="a", accelerator="A100-SXM-80GB", devices=8,
                      speed=1.0),
             PoolView(name="b/fast", center="b", accelerator="H100-SXM", devices=4, speed=2.0)]
    cluster = SimCluster(name="two", pools=pools)
    w = Workload(name="t", submit_s=np.zeros(4), runtime_s=np.array([100.0, 100.0, 100.0, 50.0]),
                 num_devices=np.array([4, 8, 4, 16]), user=np.zeros(4, np.int64), users=["u"],
                 constraint=np.array([-1, -1, 0, -1]), constraints=[frozenset({"A100-SXM-80GB"})])
    # 4 devices fit the fast pool (100 / 2); 8 only the slow one; the A100-only job runs at
    # speed 1; 16 devices fit nowhere and are not counted.
    assert no_wait_mean_jct_s(w, cluster) == pytest.approx((50 + 100 + 100) / 3)
    row = judge({"backfill": _res("backfill", 100, 0, 0), "suanwang": _res("suanwang", 99, 0, 0)},
                no_wait_bound_s=95.0)
    assert not row["mean_target_feasible"]
    assert row["verdict"].endswith("(mean infeasible: no-wait bound 0.95x)")


@pytest.mark.parametrize("args, words", [
    (["--case", ","], ["'case'", "at least one case"]),
    (["--case", " "], ["'case'", "at least one case"]),
    (["--traces", "pyproject.toml", "--case", "synth-plan-1.0"], ["'traces'", "not a folder"]),
])
def test_bench_sched_bad_options_exit_2(args, words, capfd, monkeypatch) -> None:
    out = run_cli(["bench", "sched", *args], capfd, monkeypatch)
    assert_one_line_error(out)
    assert all(w in out.stderr for w in words), out.stderr


def test_trace_case_without_traces_says_which_files(tmp_path, capfd, monkeypatch) -> None:
    out = run_cli(["bench", "sched", "--traces", str(tmp_path), "--case", "helios-512"], capfd,
                  monkeypatch)
    assert_one_line_error(out)
    assert "helios_15k.csv" in out.stderr and "--traces" in out.stderr


def test_skipped_trace_cases_are_reported(tmp_path, capfd, monkeypatch) -> None:
    from suanwang.sim import robustness as rb

    monkeypatch.setattr(rb, "cases", lambda traces_dir: [])  # nothing to run: the note only
    out = run_cli(["bench", "sched", "--traces", str(tmp_path)], capfd, monkeypatch)
    assert out.code == 0, out.stderr
    assert "trace cases skipped" in out.stderr and "helios_15k.csv" in out.stderr


def test_seeds_give_one_row_each_and_a_median_summary() -> None:
    from suanwang.sim.robustness import summary

    rows = robustness(None, only=["synth-user-1.0"], seeds=2, policies=("fifo",))
    assert [r["seed"] for r in rows] == [0, 1]
    assert rows[0]["policies"]["backfill"] != rows[1]["policies"]["backfill"]  # other workload
    (s,) = summary(rows)
    assert s["seeds"] == 2 and s["met"] == sum(r["verdict"] == "met" for r in rows)
    assert s["median_mean_jct_vs_backfill"] == pytest.approx(
        (rows[0]["mean_jct_vs_backfill"] + rows[1]["mean_jct_vs_backfill"]) / 2)
    with pytest.raises(ValueError, match="seeds"):
        robustness(None, only=["synth-user-1.0"], seeds=0)


def test_bench_sched_seeds_zero_is_exit_2(capfd, monkeypatch) -> None:
    out = run_cli(["bench", "sched", "--case", "synth-plan-1.0", "--seeds", "0"], capfd,
                  monkeypatch)
    assert_one_line_error(out)
    assert "--seeds" in out.stderr
