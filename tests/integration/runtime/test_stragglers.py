"""Stragglers (issue #17 kind 6): a persistently slow rank is named in events and metrics, and
the split adapts to measured speeds."""

from __future__ import annotations

from tests.integration.runtime.conftest import run_job, small_job


def test_slow_rank_is_named_and_the_split_adapts(tmp_path):
    # 8 one-sequence micro-batches: fine enough a grain for the split to move
    out = run_job(small_job(tmp_path / "run", train={"steps": 10},
                            data={"adapt_split": True, "micro_batch_seqs": 1,
                                  "global_micro_batches": 8},
                            run={"straggler_window": 3},
                            checkpoint={"every_steps": 0},
                            faults={"slow_rank": 1, "slow_delay_s": 0.2}))
    s = out["summary"]
    assert s["ok"] and s["stragglers"] == [1], s
    found = next(e for e in out["events"] if e["event"] == "straggler")
    assert found["rank"] == 1 and found["ratio"] >= 1.5
    adapted = next(e for e in out["events"] if e["event"] == "split_adapted")
    assert adapted["old"] == [4, 4] and adapted["counts"][1] < adapted["counts"][0]
    steps = [e for e in out["events"] if e["event"] == "step"]
    assert all(len(e["rank_mb_s"]) == 2 for e in steps)  # per-rank timings in the metrics
    assert 1 in steps[-1]["stragglers"] or s["stragglers"] == [1]
