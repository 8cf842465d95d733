"""``suanwang bench wan`` and ``suanwang bench hetero``: cross-center and mixed-chip training,
planned and measured side by side (issue #15). Heavy imports happen inside the commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from suanwang.cli.output import print_json, table


def _rel_err(predicted: float, measured: float) -> float:
    return abs(predicted - measured) / measured if measured else float("nan")


def wan_report(measured: dict[str, Any]) -> dict[str, Any]:
    """Measured bench numbers + the plan's predictions beside them, errors and targets."""
    from suanwang.plan.crosscenter import plan_sync

    plan = plan_sync(params=measured["params"], compute_s=measured["probe_step_s"],
                     tokens_per_step=measured["tokens_per_step"], centers=2,
                     link_bits_per_s=measured["link_bits_per_s"],
                     latency_s=measured["latency_s"],
                     outer_every_steps=measured["outer_every_steps"],
                     grad_bytes_per_param=4.0, delta_bytes_per_param=4.0)
    steps = measured["steps"]
    out = dict(measured)
    for mode, pred in (("ddp", plan.ddp), ("diloco", plan.diloco)):
        out[f"predicted_{mode}_tokens_per_s"] = pred.tokens_per_s
        out[f"predicted_{mode}_wan_bytes"] = pred.wan_bytes_per_step * steps
        out[f"{mode}_tokens_per_s_error"] = _rel_err(pred.tokens_per_s,
                                                     measured[f"{mode}_tokens_per_s"])
        out[f"{mode}_wan_bytes_error"] = _rel_err(pred.wan_bytes_per_step * steps,
                                                  measured[f"{mode}_wan_bytes"])
    out["speedup"] = measured["diloco_tokens_per_s"] / measured["ddp_tokens_per_s"]
    out["predicted_speedup"] = plan.diloco_speedup
    out["loss_gap"] = measured["diloco_final_loss"] / measured["ddp_final_loss"] - 1
    out["final_loss_prediction"] = "not predicted: " + plan.caveat
    errors = [out[k] for k in out if k.endswith("_error")]
    out["targets"] = {"speedup >= 3": out["speedup"] >= 3,
                      "loss_gap <= 0.05": abs(out["loss_gap"]) <= 0.05,
                      "every prediction within 20%": max(errors) <= 0.20}
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
        work_dir: Path | None = typer.Option(None, "--work-dir", help="Keep runs here."),
        steps: int = typer.Option(100, "--steps", min=2, help="Steps per mode (same tokens)."),
        outer_every_steps: int = typer.Option(20, "--outer-every-steps", min=1,
                                              help="DiLoCo H."),
        mbps: float = typer.Option(100.0, "--mbps", min=0.001, help="Link bandwidth, Mb/s."),
        latency_ms: float = typer.Option(30.0, "--latency-ms", min=0.0, help="Link latency."),
    ) -> None:
        """Sync DDP vs DiLoCo, tiny model, 2 centers x 1 rank over an emulated WAN link:
        tokens/s, final loss, WAN bytes, with the plan's predictions beside them."""
        from suanwang.cli.runtime_cmd import _work
        from suanwang.runtime.wan_bench import bench_wan

        with _work(work_dir) as work:
            measured = bench_wan(work, steps=steps, outer_every_steps=outer_every_steps,
                                 bits_per_s=mbps * 1e6, latency_s=latency_ms / 1e3)
        _show("suanwang bench wan", wan_report(measured), as_json)
