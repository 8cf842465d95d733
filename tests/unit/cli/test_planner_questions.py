"""plan holds part of a layout fixed; reliability derives checkpoint costs from a model (#16)."""

from __future__ import annotations

import json

import pytest

from suanwang.core.errors import ConfigError
from tests.unit.cli.test_bad_input import run_cli


def test_search_holds_tp_and_pp_fixed():
    from suanwang.catalog import get_accelerator, get_model
    from suanwang.catalog.efficiency import get_efficiency
    from suanwang.core.hardware import Cluster
    from suanwang.plan import search

    model, acc = get_model("llama3-70b"), get_accelerator("H100-SXM")
    cluster = Cluster.of(acc, 64)
    free = search(model, cluster, global_batch_seqs=512, profile=get_efficiency(acc.name),
                  top=50)
    held = search(model, cluster, global_batch_seqs=512, profile=get_efficiency(acc.name),
                  top=50, fixed={"tp": 2, "pp": 2})
    assert all(p.parallelism.tp == 2 and p.parallelism.pp == 2 for p in held.plans)
    assert held.configs_evaluated == free.configs_evaluated  # same space, more rejected
    assert held.rejected["tp held at 2"] > 0
    # the held optimum is one of the free search's layouts, never better than the free best
    assert held.plans[0].step_time_s >= free.plans[0].step_time_s
    with pytest.raises(ConfigError, match="cannot hold 'vp'"):
        search(model, cluster, global_batch_seqs=512, profile=get_efficiency(acc.name),
               fixed={"vp": 2})


def test_plan_cli_tp_pp(capfd, monkeypatch):
    out = run_cli(["plan", "--model", "llama3-8b", "--accelerator", "H100-SXM", "--gpus", "16",
                   "--tp", "2", "--pp", "2", "--json"], capfd, monkeypatch)
    assert out.code == 0, out.stderr
    plans = json.loads(out.stdout)["plans"]
    assert plans and all(p["tp"] == 2 and p["pp"] == 2 for p in plans)


def test_reliability_derives_checkpoint_times_from_model_and_center(capfd, monkeypatch):
    from suanwang.catalog import get_accelerator, get_model, load_federation
    from suanwang.catalog.efficiency import get_efficiency
    from suanwang.core.hardware import Cluster
    from suanwang.plan import search
    from suanwang.plan.goodput import plan_checkpoint_cost

    args = ["reliability", "--accelerator", "H100-SXM", "--gpus", "256", "--model",
            "llama3-70b", "--center", "beijing-ai", "--json"]
    out = run_cli(args, capfd, monkeypatch)
    assert out.code == 0, out.stderr
    got = json.loads(out.stdout)
    # the same numbers the planner's own checkpoint cost gives for its best layout there
    model, acc = get_model("llama3-70b"), get_accelerator("H100-SXM")
    cluster = Cluster.of(acc, 256)
    best = search(model, cluster, global_batch_seqs=1024, profile=get_efficiency(acc.name),
                  top=1).plans[0]
    storage = load_federation().center("beijing-ai").storage_write_bytes_per_s
    ckpt, restart = plan_checkpoint_cost(model, cluster, best, storage_bytes_per_s=storage)
    assert got["stall_s"] == pytest.approx(ckpt.stall_s)
    assert got["persist_s"] == pytest.approx(ckpt.persist_s)
    assert got["restart_s"] == pytest.approx(restart.total_s)
    # an explicit value still wins
    out = run_cli([*args[:-1], "--ckpt-stall-s", "7", "--json"], capfd, monkeypatch)
    assert json.loads(out.stdout)["stall_s"] == 7
