"""Mixed-speed workers: an uneven split gives the even-split update and finishes steps faster."""

from __future__ import annotations

import math

from suanwang.runtime.metrics import _median
from tests.integration.runtime.conftest import run_job, small_job


def test_uneven_split_matches_even_split(tmp_path, reference):
    out = run_job(small_job(tmp_path / "run", train={"steps": 4},
                            data={"split": "explicit", "micro_batches": [3, 1]}))
    assert [e["counts"] for e in out["events"] if e["event"] == "begin"] == [[3, 1]]
    for step in range(1, 5):
        assert math.isclose(out["losses"][step], reference["losses"][step], rel_tol=1e-5)


def _step_times(out: dict) -> list[float]:
    return [e["step_time_s"] for e in out["events"] if e["event"] == "step"][1:]


def test_proportional_split_beats_even_split_on_a_throttled_rank(tmp_path):
    # Rank 1 sleeps 80 ms after each 1-sequence micro-batch (a ~3x slower worker).
    common = {"data": {"micro_batch_seqs": 1, "global_micro_batches": 6},
              "train": {"steps": 6}, "checkpoint": {"every_steps": 0},
              "faults": {"slow_rank": 1, "slow_delay_s": 0.08}}
    even = run_job(small_job(tmp_path / "even", **common))
    prop = run_job(small_job(tmp_path / "prop", **{
        **common, "data": {**common["data"], "split": "proportional", "rank_speeds": [3.0, 1.0]}}))
    assert [e["counts"] for e in prop["events"] if e["event"] == "begin"] == [[4, 2]]
    t_even, t_prop = _median(_step_times(even)), _median(_step_times(prop))
    assert t_prop < 0.85 * t_even, (t_prop, t_even)
