"""Options beside the pooled DP split: DiLoCo across centers, a pipeline over the parts."""

from __future__ import annotations

import pytest

from suanwang.catalog import get_model, load_federation
from suanwang.plan.pool_options import MARGIN, pool_options
from suanwang.plan.pooled import Part, pooled_plan


@pytest.fixture(scope="module")
def fed():
    return load_federation(None)


def test_two_centers_get_ddp_and_diloco_over_the_link(fed):
    model = get_model("llama3-8b")
    parts = (Part(center="beijing-ai", accelerator="H100-SXM", devices=256),
             Part(center="shanghai-ai", accelerator="H800", devices=256))
    plan = pooled_plan(fed, model, parts, global_batch_seqs=1024)
    opts = pool_options(fed, model, plan, outer_every_steps=20)
    xc = opts["crosscenter"]
    assert xc["ddp"]["tokens_per_s"] == pytest.approx(plan.tokens_per_s, rel=1e-6)
    assert xc["diloco"]["wan_bytes_per_step"] == pytest.approx(
        xc["ddp"]["wan_bytes_per_step"] * 2 / 20)  # fp32 deltas / bf16 grads, every 20 steps
    assert "2311.08105" in xc["caveat"]
    best = max(opts["rates"].values())
    if best > MARGIN * plan.tokens_per_s:
        assert opts["rates"][opts["winner"]] == best
    else:
        assert opts["winner"] == "data-parallel split"


def test_one_center_mixed_chips_offers_a_pipeline(fed):
    model = get_model("llama3-70b")
    parts = (Part(center="beijing-ai", accelerator="H100-SXM", devices=512),
             Part(center="beijing-ai", accelerator="A100-SXM-80GB", devices=512))
    plan = pooled_plan(fed, model, parts, global_batch_seqs=1024)
    opts = pool_options(fed, model, plan)
    pipe = opts["pipeline"]
    assert "crosscenter" not in opts
    assert pipe["feasible"] and sum(pipe["split"]) == model.layers
    assert pipe["split"][0] > pipe["split"][1]  # the H100 stage is faster: more layers
    assert 1024 // pipe["micro_batches"] >= max(pp.plan.parallelism.dp for pp in plan.parts)
    assert opts["why"]
