"""``suanwang bench wan`` and ``suanwang bench hetero``: cross-center and mixed-chip training,
planned and measured side by side (issue #15). Heavy imports happen inside the commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from suanwang.cli.output import CsvOpt, print_json, table


def _rel_err(predicted: float, measured: float) -> float:
    return abs(predicted - measured) / measured if measured else float("nan")


def wan_report(measured: dict[str, Any]) -> dict[str, Any]:
    """Measured bench numbers + the plan's predictions beside them, errors and targets."""
    from suanwang.plan.crosscenter import plan_sync

    plans = {mode: plan_sync(params=measured["params"],
                             compute_s=measured[f"probe_{mode}_step_s"],
                             tokens_per_step=measured["tokens_per_step"], centers=2,
                             link_bits_per_s=measured["link_bits_per_s"],
                             latency_s=measured["latency_s"],
                             outer_every_steps=measured["outer_every_steps"],
                             grad_bytes_per_param=4.0, delta_bytes_per_param=4.0)
             for mode in ("ddp", "diloco")}
    plan = plans["ddp"]
    steps = measured["steps"]
    out = dict(measured)
    for mode, pred in (("ddp", plans["ddp"].ddp), ("diloco", plans["diloco"].diloco)):
        out[f"predicted_{mode}_tokens_per_s"] = pred.tokens_per_s
        out[f"predicted_{mode}_wan_bytes"] = pred.wan_bytes_per_step * steps
        out[f"{mode}_tokens_per_s_error"] = _rel_err(pred.tokens_per_s,
                                                     measured[f"{mode}_tokens_per_s"])
        out[f"{mode}_wan_bytes_error"] = _rel_err(pred.wan_bytes_per_step * steps,
                                                  measured[f"{mode}_wan_bytes"])
    out["speedup"] = measured["diloco_tokens_per_s"] / measured["ddp_tokens_per_s"]
    out["predicted_speedup"] = (out["predicted_diloco_tokens_per_s"]
                                / out["predicted_ddp_tokens_per_s"])
    out["loss_gap"] = measured["diloco_final_loss"] / measured["ddp_final_loss"] - 1
    out["final_loss_prediction"] = "not predicted: " + plan.caveat
    errors = [out[k] for k in out if k.endswith("_error")]
    out["targets"] = {"speedup >= 3": out["speedup"] >= 3,
                      "loss_gap <= 0.05": abs(out["loss_gap"]) <= 0.05,
                      "every prediction within 20%": max(errors) <= 0.20}
    return out


def hetero_bench(*, layers: int, batch_seqs: int, slow_factor: float, steps: int,
                 warmup: int = 3) -> dict[str, Any]:
    """Probe per-layer costs, plan the 2-stage pipeline (fast chip, then one ``slow_factor``
    times slower), run the even and the planned split for real, predictions beside them.

    Two probes, on other configurations than the compared runs: per-block/embedding/head costs
    (both ranks at once, ``probe_costs``), and a 1-block-per-stage pipeline with no throttle,
    whose measured step minus its predicted compute gives the fixed cost per micro-batch
    (schedule bookkeeping, p2p wake-ups: large on a loaded host)."""
    from statistics import median

    from suanwang.plan.hetero_pipeline import (
        LayerCosts,
        StageDevice,
        even_split,
        plan_pipeline,
        predict,
    )
    from suanwang.runtime.config import ModelConfig
    from suanwang.runtime.pipeline_run import run_pipelines

    cfg, probe_b, probe_m = ModelConfig(layers=layers), 2, max(2, batch_seqs // 2)
    probe, overhead_run = run_pipelines([
        {"probe": True, "cfg": cfg, "micro_batch_seqs": probe_b},
        {"cfg": ModelConfig(layers=2), "split": [1, 1], "micro_batches": probe_m,
         "micro_batch_seqs": batch_seqs // probe_m, "slow_rank": 1, "slow_factor": 1.0,
         "steps": steps, "warmup": warmup}])
    link_bw = probe["activation_bytes"] / max(probe["link_s"], 1e-9)
    stages = [StageDevice(name="fast", speed=1.0, link_bytes_per_s=link_bw),
              StageDevice(name="slow", speed=1 / slow_factor)]
    costs = LayerCosts(layers=layers, layer_s=probe["block_s"] / probe_b,
                       first_s=probe["embed_s"] / probe_b, last_s=probe["head_s"] / probe_b,
                       activation_bytes_per_seq=probe["activation_bytes"] / probe_b)
    same = [StageDevice(name="a", speed=1.0, link_bytes_per_s=link_bw),
            StageDevice(name="b", speed=1.0)]
    bare = predict(same, LayerCosts(**{**costs.__dict__, "layers": 2}), (1, 1),
                   global_batch_seqs=batch_seqs, micro_batches=probe_m)
    overhead = max(0.0, (median(overhead_run["step_s"]) - bare.step_time_s) / probe_m)
    costs = LayerCosts(**{**costs.__dict__, "overhead_s": overhead})
    planned = plan_pipeline(stages, costs, global_batch_seqs=batch_seqs)
    even = plan_pipeline(stages, costs, global_batch_seqs=batch_seqs,
                         split=even_split(layers, 2))
    runs = run_pipelines([{"cfg": cfg, "split": list(p.split), "micro_batches": p.micro_batches,
                           "micro_batch_seqs": batch_seqs // p.micro_batches, "slow_rank": 1,
                           "slow_factor": slow_factor, "steps": steps, "warmup": warmup}
                          for p in (even, planned)])
    even_s, planned_s = median(runs[0]["step_s"]), median(runs[1]["step_s"])
    out = {"layers": layers, "global_batch_seqs": batch_seqs, "slow_factor": slow_factor,
           "steps": steps, "probe": {k: probe[k] for k in ("block_s", "embed_s", "head_s")},
           "link_s": probe["link_s"], "overhead_s_per_micro_batch": overhead,
           "even_split": list(even.split), "even_micro_batches": even.micro_batches,
           "planned_split": list(planned.split),
           "planned_micro_batches": planned.micro_batches,
           "even_step_s": even_s, "planned_step_s": planned_s,
           "even_step_s_p90": sorted(runs[0]["step_s"])[int(0.9 * steps)],
           "planned_step_s_p90": sorted(runs[1]["step_s"])[int(0.9 * steps)],
           "predicted_even_step_s": even.step_time_s, "predicted_step_s": planned.step_time_s,
           "predicted_bubble_fraction": planned.bubble_fraction,
           "speedup": even_s / planned_s - 1,
           "predicted_error": _rel_err(planned.step_time_s, planned_s),
           "predicted_even_error": _rel_err(even.step_time_s, even_s),
           "final_loss_even": runs[0]["losses"][-1], "final_loss_planned": runs[1]["losses"][-1]}
    out["targets"] = {"planned >= 15% faster than even": out["speedup"] >= 0.15,
                      "predicted within 20%": out["predicted_error"] <= 0.20}
    return out


def _show(title: str, result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(result)
        return
    table(title, ["metric", "value"],
          [[k, json.dumps(v) if isinstance(v, list | dict) else v] for k, v in result.items()])


def register(app: typer.Typer, bench: typer.Typer) -> None:
    @bench.command("wan")
    def bench_wan_cmd(
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
        csv_: CsvOpt = False,
        work_dir: Path | None = typer.Option(None, "--work-dir", help="Keep runs here."),
        steps: int = typer.Option(100, "--steps", min=2, max=100_000,
                                  help="Steps per mode (same tokens)."),
        outer_every_steps: int = typer.Option(20, "--outer-every-steps", min=1,
                                              help="DiLoCo H."),
        mbps: float = typer.Option(100.0, "--mbps", min=0.001, help="Link bandwidth, Mb/s."),
        latency_ms: float = typer.Option(30.0, "--latency-ms", min=0.0, help="Link latency."),
        batch_seqs: int = typer.Option(8, "--batch-seqs", min=2, max=4096,
                                       help="Global batch, sequences of 128 tokens."),
    ) -> None:
        """Sync DDP vs DiLoCo, tiny model, 2 centers x 1 rank over an emulated WAN link:
        tokens/s, final loss, WAN bytes, with the plan's predictions beside them."""
        from suanwang.cli.runtime_cmd import _work
        from suanwang.runtime.wan_bench import bench_wan

        with _work(work_dir) as work:
            measured = bench_wan(work, steps=steps, outer_every_steps=outer_every_steps,
                                 bits_per_s=mbps * 1e6, latency_s=latency_ms / 1e3,
                                 batch_seqs=batch_seqs)
        _show("suanwang bench wan", wan_report(measured), as_json)

    @bench.command("hetero")
    def bench_hetero_cmd(
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
        csv_: CsvOpt = False,
        layers: int = typer.Option(8, "--layers", min=2, max=128, help="GPT blocks (tiny model)."),
        batch_seqs: int = typer.Option(16, "--batch-seqs", min=1, max=4096,
                                       help="Global batch, sequences of 128 tokens."),
        slow_factor: float = typer.Option(2.0, "--slow-factor", min=1.0,
                                          help="The second chip is this many times slower."),
        steps: int = typer.Option(10, "--steps", min=2, max=10_000, help="Timed steps per split."),
    ) -> None:
        """A 2-stage pipeline (torch.distributed.pipelining, gloo) on a fast and an emulated
        slow chip: even layer split vs the planner's split, with its predicted step time."""
        _show("suanwang bench hetero", hetero_bench(layers=layers, batch_seqs=batch_seqs,
                                                    slow_factor=slow_factor, steps=steps),
              as_json)
