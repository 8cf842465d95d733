"""Heterogeneous pipeline planner: split against brute force, the step formula by hand."""

from __future__ import annotations

import itertools
import random

import pytest

from suanwang.core.errors import ConfigError, InfeasibleError
from suanwang.plan.hetero_pipeline import (
    LayerCosts,
    StageDevice,
    best_split,
    even_split,
    plan_pipeline,
    predict,
)


def _brute(stages, costs):
    best, arg = float("inf"), None
    s = len(stages)
    for cuts in itertools.combinations(range(1, costs.layers), s - 1):
        split = [b - a for a, b in zip((0, *cuts), (*cuts, costs.layers), strict=True)]
        if any(n * costs.bytes_per_layer > st.memory_bytes
               for n, st in zip(split, stages, strict=True)):
            continue
        t = predict(stages, costs, tuple(split), global_batch_seqs=1, micro_batches=1)
        if max(t.stage_s) < best:
            best, arg = max(t.stage_s), split
    return best, arg


@pytest.mark.parametrize("seed", range(30))
def test_split_matches_brute_force(seed):
    rng = random.Random(seed)
    s = rng.randint(2, 4)
    stages = [StageDevice(name=f"s{i}", speed=rng.uniform(0.2, 3.0),
                          memory_bytes=rng.choice([float("inf"), rng.randint(2, 8) * 10.0]))
              for i in range(s)]
    costs = LayerCosts(layers=rng.randint(s, 12), layer_s=1.0, first_s=rng.uniform(0, 2),
                       last_s=rng.uniform(0, 2), bytes_per_layer=10.0)
    oracle, _ = _brute(stages, costs)
    if oracle == float("inf"):
        with pytest.raises(InfeasibleError):
            best_split(stages, costs)
        return
    split = best_split(stages, costs)
    got = predict(stages, costs, split, global_batch_seqs=1, micro_batches=1)
    assert max(got.stage_s) == pytest.approx(oracle)


def test_layers_follow_speed_when_unconstrained():
    stages = [StageDevice(name="fast", speed=2.0), StageDevice(name="slow", speed=1.0)]
    assert best_split(stages, LayerCosts(layers=9, layer_s=1.0)) == (6, 3)
    # memory caps the fast stage at 4 layers: the slow one must take the rest
    capped = [StageDevice(name="fast", speed=2.0, memory_bytes=40.0), stages[1]]
    assert best_split(capped, LayerCosts(layers=9, layer_s=1.0, bytes_per_layer=10.0)) == (4, 5)


def test_step_formula_by_hand():
    stages = [StageDevice(name="a", speed=1.0, link_bytes_per_s=1e3, link_latency_s=0.01),
              StageDevice(name="b", speed=0.5)]
    costs = LayerCosts(layers=4, layer_s=0.1, first_s=0.02, last_s=0.04,
                       activation_bytes_per_seq=5.0, overhead_s=0.001)
    p = predict(stages, costs, (3, 1), global_batch_seqs=8, micro_batches=4)
    t0, t1 = 2 * (0.3 + 0.02), 2 * (0.1 + 0.04) / 0.5
    hop = 2 * (0.01 + 2 * 5.0 / 1e3)
    assert p.stage_s == pytest.approx((t0, t1))
    assert p.step_time_s == pytest.approx(t0 + t1 + hop + 3 * max(t0, t1, hop) + 4 * 0.001)


def test_more_micro_batches_until_overheads_win():
    stages = [StageDevice(name="a", speed=1.0), StageDevice(name="b", speed=1.0)]
    costs = LayerCosts(layers=4, layer_s=0.1, overhead_s=0.05)
    best = plan_pipeline(stages, costs, global_batch_seqs=16)
    every = [predict(stages, costs, best.split, global_batch_seqs=16, micro_batches=m)
             for m in (1, 2, 4, 8, 16)]
    assert best.step_time_s == min(p.step_time_s for p in every)
    assert 1 < best.micro_batches < 16


def test_even_split_and_bad_inputs():
    assert even_split(9, 2) == (5, 4)
    stages = [StageDevice(name="a", speed=1.0), StageDevice(name="b", speed=1.0)]
    with pytest.raises(ConfigError) as err:
        predict(stages, LayerCosts(layers=4, layer_s=1.0), (2, 2), global_batch_seqs=6,
                micro_batches=4)
    assert err.value.field == "micro_batches"
    with pytest.raises(ConfigError):
        plan_pipeline(stages[:1], LayerCosts(layers=4, layer_s=1.0), global_batch_seqs=4)
