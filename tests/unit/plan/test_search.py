"""Planner: brute-force oracle on small cases, measured rankings, speed, throughput helper."""

from __future__ import annotations

import itertools
import time
from dataclasses import replace

import pytest

from suanwang.catalog import get_accelerator, get_model
from suanwang.catalog.efficiency import get_efficiency
from suanwang.core.errors import ConfigError, InfeasibleError
from suanwang.core.hardware import Cluster
from suanwang.core.model import ModelSpec
from suanwang.core.parallelism import Parallelism
from suanwang.perf import check_config, predict
from suanwang.plan import assess_plan, search, tokens_per_s
from suanwang.plan.search import MICRO_BATCHES, VIRTUAL_STAGES

A100 = get_accelerator("A100-SXM-80GB")
SMALL = ModelSpec(name="small", layers=12, hidden=2048, heads=16, kv_heads=16,
                  ffn_hidden=8192, vocab=32000, seq_len=2048)


def brute_force(model, cluster, batch):
    prof = get_efficiency(cluster.accelerator.name)
    n, best, feasible = cluster.num_devices, None, 0
    pow2 = [d for d in (1, 2, 4, 8, 16, 32) if n % d == 0]
    for tp, cp, pp in itertools.product(pow2, pow2, range(1, n + 1)):
        if n % (tp * cp * pp):
            continue
        dp = n // (tp * cp * pp)
        for vp, mb, z, rc, sp in itertools.product(VIRTUAL_STAGES, MICRO_BATCHES, range(4),
                                                   ("none", "selective", "full"),
                                                   (False, True)):
            if (vp > 1 and pp == 1) or (sp and tp == 1) or (z and dp * cp == 1):
                continue
            par = Parallelism(tp=tp, pp=pp, dp=dp, cp=cp, vp=vp, micro_batch=mb, zero_stage=z,
                              recompute=rc, sequence_parallel=sp)
            try:
                check_config(model, n, par, seq_len=model.seq_len, global_batch_seqs=batch)
            except ConfigError:
                continue
            p = predict(model, cluster, par, global_batch_seqs=batch, profile=prof)
            if p.fits:
                feasible += 1
                if best is None or p.step_time_s < best.step_time_s:
                    best = p
    return best, feasible


@pytest.mark.parametrize("n,batch,hbm", [(8, 32, 80e9), (16, 64, 16e9)])
def test_search_matches_brute_force(n, batch, hbm):
    acc = replace(A100, hbm_bytes=hbm)
    cluster = Cluster.of(acc, n, 8)
    best, feasible = brute_force(SMALL, cluster, batch)
    res = search(SMALL, cluster, global_batch_seqs=batch, profile=get_efficiency(A100.name))
    assert res.configs_feasible == feasible
    assert res.plans[0].step_time_s == pytest.approx(best.step_time_s, rel=1e-9)
    assert res.configs_evaluated == res.configs_feasible + sum(res.rejected.values())


def test_rankings_follow_measurements():
    """TP stays inside a node and ZeRO-3 without model parallelism is not chosen at scale."""
    model = get_model("mt-nlg-530b")
    res = search(model, Cluster.of(A100, 2240, 8), global_batch_seqs=1920,
                 profile=get_efficiency(A100.name), top=20)
    assert all(p.parallelism.tp <= 8 for p in res.plans[:5])
    assert all(not (p.parallelism.zero_stage == 3 and p.parallelism.tp * p.parallelism.pp == 1)
               for p in res.plans)


def test_more_memory_never_less_feasible():
    model = get_model("gpt-18b")
    counts = [search(model, Cluster.of(replace(A100, hbm_bytes=h), 64, 8),
                     global_batch_seqs=256, profile=get_efficiency(A100.name)).configs_feasible
              for h in (24e9, 40e9, 80e9)]
    assert counts == sorted(counts)


def test_nothing_fits_is_infeasible():
    tiny = replace(A100, hbm_bytes=1e9)
    with pytest.raises(InfeasibleError, match="does not fit"):
        search(get_model("gpt3-175b"), Cluster.of(tiny, 8, 8), global_batch_seqs=8,
               profile=get_efficiency(A100.name))


def test_mt_nlg_speed_target():
    """>= 10,000 configurations for MT-NLG 530B on 5,120 GPUs, well inside the 2 s budget."""
    model = get_model("mt-nlg-530b")
    t0 = time.perf_counter()
    res = search(model, Cluster.of(A100, 5120, 8), global_batch_seqs=1920,
                 profile=get_efficiency(A100.name))
    assert res.configs_evaluated >= 10_000
    assert time.perf_counter() - t0 < 1.5


def test_tokens_per_s_and_goodput():
    fast = tokens_per_s("llama2-7b", "H100-SXM", 64)
    slow = tokens_per_s("llama2-7b", "A100-SXM-80GB", 64)
    assert fast > slow > 0
    assert tokens_per_s("llama2-7b", "H100-SXM", 64) == fast  # cached
    model = get_model("llama2-7b")
    cluster = Cluster.of(get_accelerator("H100-SXM"), 64, 8)
    plan = search(model, cluster, global_batch_seqs=512, profile=get_efficiency("H100-SXM"),
                  tokens=1e11).plans[0]
    g = assess_plan(model, cluster, plan, tokens=1e11)
    assert 0 < g.ettr <= 1 and g.time_to_train_s >= plan.time_to_train_s
    assert g.checkpoint_interval_s > 0 and g.expected_failures >= 0


def test_zero_2_never_combined_with_pipelining_zero_3_may_be():
    res = search(get_model("gpt-18b"), Cluster.of(A100, 64, 8), global_batch_seqs=256,
                 profile=get_efficiency(A100.name), top=10_000)
    assert res.rejected["ZeRO-2 with pipeline parallelism (no framework runs it)"] > 0
    assert all(p.parallelism.zero_stage != 2 or p.parallelism.pp == 1 for p in res.plans)
    assert any(p.parallelism.zero_stage == 3 and p.parallelism.pp > 1 for p in res.plans)


@pytest.mark.parametrize("kw,field", [
    ({"seq_len": -5}, "seq_len"), ({"seq_len": 0}, "seq_len"),
    ({"global_batch_seqs": 0}, "global_batch_seqs"), ({"top": 0}, "top"),
    ({"top": -1}, "top"), ({"tokens": -1.0}, "tokens"), ({"precision": "fp64"}, "precision"),
])
def test_bad_search_arguments(kw, field):
    args = {"global_batch_seqs": 64, **kw}
    with pytest.raises(ConfigError) as err:
        search(SMALL, Cluster.of(A100, 8, 8), profile=get_efficiency(A100.name), **args)
    assert err.value.field == field


def test_infeasible_by_divisibility_says_so():
    """1009 GPUs (a prime): only dp = 1009 or pp = 1009 splits exist, none legal for batch 512."""
    with pytest.raises(InfeasibleError, match="divisibility") as err:
        search(SMALL, Cluster.of(A100, 1009, 8), global_batch_seqs=512,
               profile=get_efficiency(A100.name))
    assert "fits" not in str(err.value)
