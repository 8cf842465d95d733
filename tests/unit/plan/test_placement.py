"""Compute selection across centers and pooled (mixed-chip / cross-center) plans."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from suanwang.catalog import get_model, load_federation
from suanwang.core.errors import ConfigError, InfeasibleError
from suanwang.core.federation import Federation, Link
from suanwang.plan.placement import device_ladder, pareto_front, select_compute
from suanwang.plan.pooled import GRAD_BYTES_PER_PARAM, Part, _split, parse_part, pooled_plan

FED = load_federation()
MODEL = get_model("llama2-7b")


@pytest.fixture(scope="module")
def selection():
    return select_compute(FED, MODEL, tokens=1e11, global_batch_seqs=512, max_devices=512,
                          centers=("beijing-ai", "wuhan-ai", "guiyang-ai"))


def test_device_ladder_whole_nodes_up_to_pool():
    pool = FED.center("wuhan-ai").pool("Ascend-910B")  # 400 nodes x 8
    assert device_ladder(pool) == [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3200]
    assert device_ladder(pool, max_devices=100) == [8, 16, 32, 64, 96]
    assert device_ladder(pool, max_devices=100, min_devices=30) == [32, 64, 96]


def test_options_are_ranked_and_priced(selection):
    times = [o.time_to_train_s for o in selection.options]
    assert times == sorted(times)
    for o in selection.options:
        center = FED.center(o.center)
        pool = center.pool(o.accelerator)
        hours = o.time_to_train_s / 3600
        assert o.cost == pytest.approx(o.devices * hours * pool.price_per_device_hour)
        assert o.energy_kwh == pytest.approx(o.devices * pool.watts_per_device * center.pue
                                             * hours / 1000)
        assert o.devices <= pool.devices and o.plan.parallelism.world_size == o.devices
        # failure-aware time is never below the failure-free time
        assert o.time_to_train_s >= 1e11 / o.plan.tokens_per_s
    by_cost = select_compute(FED, MODEL, tokens=1e11, global_batch_seqs=512, max_devices=512,
                             centers=("beijing-ai", "wuhan-ai", "guiyang-ai"), objective="cost")
    costs = [o.cost for o in by_cost.options]
    assert costs == sorted(costs)


def test_more_devices_of_one_pool_finish_sooner(selection):
    h100 = sorted((o.devices, o.time_to_train_s) for o in selection.options
                  if o.accelerator == "H100-SXM")
    assert len(h100) >= 4
    assert all(b[1] < a[1] for a, b in itertools.pairwise(h100))


def test_pareto_front_matches_brute_force():
    rng = np.random.default_rng(7)
    for _ in range(20):
        pts = rng.integers(0, 5, size=(12, 3)).astype(float)

        @dataclasses.dataclass
        class P:
            time_to_train_s: float
            cost: float
            energy_kwh: float

        opts = [P(*p) for p in pts]
        expected = {i for i, a in enumerate(pts)
                    if not any((b <= a).all() and (b < a).any() for b in pts)}
        assert pareto_front(opts) == expected


def test_deadline_and_budget_filter(selection):
    fastest = selection.options[0]
    tight = select_compute(FED, MODEL, tokens=1e11, global_batch_seqs=512, max_devices=512,
                           centers=("beijing-ai", "wuhan-ai", "guiyang-ai"),
                           deadline_s=fastest.time_to_train_s * 1.5)
    assert all(o.time_to_train_s <= fastest.time_to_train_s * 1.5 for o in tight.options)
    with pytest.raises(InfeasibleError, match="relax --deadline-days or --budget"):
        select_compute(FED, MODEL, tokens=1e11, global_batch_seqs=512, max_devices=64,
                       centers=("beijing-ai",), deadline_s=60.0)
    with pytest.raises(ConfigError, match="field 'objective'"):
        select_compute(FED, MODEL, tokens=1e11, global_batch_seqs=512, objective="vibes")
    for kwargs, flag in (({"global_batch_seqs": 0}, "--global-batch"),
                         ({"global_batch_seqs": 8, "seq_len": -5}, "--seq-len"),
                         ({"global_batch_seqs": 8, "max_devices": 0}, "--max-devices")):
        with pytest.raises(ConfigError, match=f"field '{flag}': must be >= 1"):
            select_compute(FED, MODEL, tokens=1e11, **kwargs)


def test_pooled_split_and_sync():
    parts = (Part(center="beijing-ai", accelerator="H100-SXM", devices=256),
             Part(center="beijing-ai", accelerator="A100-SXM-80GB", devices=256))
    plan = pooled_plan(FED, MODEL, parts, global_batch_seqs=512)
    shares = [p.batch_seqs for p in plan.parts]
    assert sum(shares) == 512 and all(s % 8 == 0 for s in shares)
    assert shares[0] > shares[1]  # the faster chip gets the larger share
    # the slower part must not wait much longer than the faster: proportional split
    steps = [p.plan.step_time_s for p in plan.parts]
    assert max(steps) / min(steps) < 1.35
    assert plan.step_time_s == pytest.approx(max(steps) + plan.sync_s)


def test_cross_center_sync_follows_the_wan_link():
    parts = (Part(center="beijing-ai", accelerator="H100-SXM", devices=256),
             Part(center="shanghai-ai", accelerator="H800", devices=256))
    plan = pooled_plan(FED, MODEL, parts, global_batch_seqs=512)
    link = FED.link("beijing-ai", "shanghai-ai")
    expected = GRAD_BYTES_PER_PARAM * MODEL.params * 8 / link.bits_per_s + 2 * link.latency_s
    assert plan.sync_s == pytest.approx(expected)
    slow = Federation(name="slow", currency="CNY", centers=FED.centers, links=tuple(
        dataclasses.replace(ln, bits_per_s=ln.bits_per_s / 10) if isinstance(ln, Link) else ln
        for ln in FED.links))
    assert pooled_plan(slow, MODEL, parts, global_batch_seqs=512).sync_s > 9 * plan.sync_s
    assert plan.batch_for_10pct_sync >= 512


def test_pooled_bad_input():
    with pytest.raises(ConfigError, match="CENTER:ACCELERATOR:DEVICES"):
        parse_part("beijing-ai:H100-SXM")
    with pytest.raises(ConfigError, match="no WAN link between 'local' and 'wuxi-sc'"):
        pooled_plan(FED, MODEL, (Part(center="local", accelerator="CPU-local", devices=2),
                                 Part(center="wuxi-sc", accelerator="CPU-2xEPYC9654",
                                      devices=8)), global_batch_seqs=64)
    with pytest.raises(ConfigError, match="book 2048 devices but the pool has only 1024"):
        pooled_plan(FED, MODEL, (Part(center="beijing-ai", accelerator="H100-SXM", devices=1024),
                                 Part(center="beijing-ai", accelerator="H100-SXM",
                                      devices=1024)), global_batch_seqs=64)
    with pytest.raises(ConfigError, match="only 1024"):
        pooled_plan(FED, MODEL, (Part(center="beijing-ai", accelerator="H100-SXM", devices=4096),
                                 Part(center="beijing-ai", accelerator="A100-SXM-80GB",
                                      devices=8)), global_batch_seqs=64)


def test_split_is_proportional_and_exact():
    assert _split(1024, [3.0, 1.0], 8) == [768, 256]
    out = _split(1000, [1.0, 1.0, 1.0], 8)
    assert sum(out) == 1000 // 8 * 8 and all(x % 8 == 0 for x in out)
    with pytest.raises(ConfigError, match="too small"):
        _split(8, [1.0, 1.0], 8)


def test_stack_reaches_every_option():
    """A job spec's ``attention`` travels through select_compute to the planner."""
    from suanwang.perf.stack import Stack

    kw = {"tokens": 1e11, "global_batch_seqs": 512, "max_devices": 64,
          "centers": ("wuhan-ai",)}
    flash = select_compute(FED, MODEL, **kw)
    mat = select_compute(FED, MODEL, **kw, stack=Stack(attention="materialized"))
    assert mat.options[0].time_to_train_s > flash.options[0].time_to_train_s
