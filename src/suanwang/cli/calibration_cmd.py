"""``suanwang calibration show|reset`` and ``suanwang bench calibration``: the closed loop in
which measured runs correct the planner per center x accelerator (issue #15 part 3)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from suanwang.cli.output import CsvOpt, console, print_json, table

calibration = typer.Typer(help="Per center x accelerator corrections learned from measured runs.",
                          no_args_is_help=True)

# (layers, hidden, global batch seqs): three jobs to learn from, then an unseen configuration
LEARN = ((4, 128, 8), (4, 128, 16), (2, 128, 8))
UNSEEN = (6, 128, 12)


def _file(path: Path | None):
    from suanwang.store.calibration_file import CalibrationFile

    return CalibrationFile(path)


@calibration.command("show")
def show_cmd(
    file: Path | None = typer.Option(None, "--file",
                                     help="Default $SUANWANG_HOME/calibration.json."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    csv_: CsvOpt = False,
) -> None:
    """The current corrections (refitted from the recorded runs) with their provenance."""
    corr = _file(file).corrections()
    if as_json:
        print_json([c.to_dict() for c in corr.values()])
        return
    rows = [[c.center, c.accelerator, c.step_factor, c.restart_factor, c.stall_factor,
             len(c.provenance["step"]["jobs"])] for c in corr.values()]
    table("Calibration (measured / predicted, median of recent jobs)",
          ["center", "accelerator", "step x", "restart x", "stall x", "jobs"], rows)
    if not rows:
        console.print("no measured runs recorded yet", style="dim")


@calibration.command("reset")
def reset_cmd(
    file: Path | None = typer.Option(None, "--file"),
    center: str | None = typer.Option(None, "--center", help="Only this center."),
    accelerator: str | None = typer.Option(None, "--accelerator", help="Only this chip."),
) -> None:
    """Forget recorded runs (all, or one center / accelerator): predictions revert to the
    uncorrected efficiency profile."""
    n = _file(file).reset(center=center, accelerator=accelerator)
    console.print(f"dropped {n} recorded run(s)")


def predict_tiny(layers: int, hidden: int, batch_seqs: int) -> float:
    """The perf model's step time for the tiny GPT on the local center's 2 CPU ranks (dp=2,
    micro-batches of 2; bf16 is the model's only training precision, the runtime runs fp32 on
    CPU: a constant the correction absorbs)."""
    from suanwang.catalog import load_federation
    from suanwang.catalog.efficiency import get_efficiency
    from suanwang.core.model import ModelSpec
    from suanwang.core.parallelism import Parallelism
    from suanwang.perf.predict import predict
    from suanwang.plan.placement import pool_cluster

    pool = load_federation(None).center("local").pool("CPU-local")
    spec = ModelSpec(name=f"tiny-{layers}x{hidden}", layers=layers, hidden=hidden, heads=4,
                     kv_heads=4, ffn_hidden=4 * hidden, vocab=256, seq_len=128)
    return predict(spec, pool_cluster(pool, 2), Parallelism(dp=2, micro_batch=2), seq_len=128,
                   global_batch_seqs=batch_seqs, precision="bf16",
                   profile=get_efficiency(pool.accelerator.name)).step_time_s


def measure_tiny(run_dir: Path, layers: int, hidden: int, batch_seqs: int, steps: int
                 ) -> dict[str, float]:
    """A real supervised run on this host: per step after 3 warm-up steps, the CPU seconds of
    the busiest rank (``cpu_step_s``: what the calibration records, see ``cli/cpu_sampler.py``)
    and the wall-clock median (``wall_step_s``: includes other tenants' share of the cores)."""
    from suanwang.cli.cpu_sampler import CpuSampler
    from suanwang.runtime.config import from_dict
    from suanwang.runtime.metrics import _median, read_events
    from suanwang.runtime.supervisor import Supervisor

    cfg = from_dict({"name": "calib", "model": {"layers": layers, "hidden": hidden,
                                                 "ffn_hidden": 4 * hidden},
                     "data": {"micro_batch_seqs": 2, "global_micro_batches": batch_seqs // 2},
                     "train": {"steps": steps}, "checkpoint": {"every_steps": 0},
                     "run": {"nproc": 2, "run_dir": str(run_dir)}})
    sampler = CpuSampler(run_dir / "events.jsonl")
    sampler.start()
    try:
        ok = Supervisor(cfg, quiet=True).run()["ok"]
    finally:
        sampler.stop()
    if not ok:
        raise RuntimeError(f"calibration run failed: see {run_dir}/events.jsonl")
    steps_ev = [e for e in read_events(run_dir / "events.jsonl") if e["event"] == "step"]
    return {"cpu_step_s": sampler.cpu_per_step(steps_ev, first=3),
            "wall_step_s": _median([e["step_time_s"] for e in steps_ev if e["step"] > 3])}


def closed_loop(work: Path, store_path: Path, *, steps: int = 20) -> dict[str, Any]:
    """Learn from ``LEARN`` on the local center, then predict ``UNSEEN``: errors before/after."""
    from suanwang.plan.calibration import RunRecord, corrected
    from suanwang.store.calibration_file import CalibrationFile

    store = CalibrationFile(store_path)
    rows = []
    for i, (layers, hidden, batch) in enumerate((*LEARN, UNSEEN)):
        raw = predict_tiny(layers, hidden, batch)
        pred = corrected(raw, store.corrections(), center="local", accelerator="CPU-local")
        m = measure_tiny(work / f"job{i}", layers, hidden, batch, steps)
        measured, wall = m["cpu_step_s"], m["wall_step_s"]
        name = f"L{layers} H{hidden} B{batch}"
        rows.append({"job": name, "learned_from": i, "predicted_raw_s": raw,
                     "predicted_s": pred, "measured_s": measured, "measured_wall_s": wall,
                     "wall_error": abs(pred - wall) / wall,
                     "error": abs(pred - measured) / measured,
                     "raw_error": abs(raw - measured) / measured,
                     "unseen": (layers, hidden, batch) == UNSEEN})
        if (layers, hidden, batch) != UNSEEN:
            store.add(RunRecord(job_id=f"calib-{i}-{time.time_ns()}", center="local",
                                accelerator="CPU-local", at_s=time.time(), predicted_step_s=raw,
                                measured_step_s=measured, config=name))
    corr = store.corrections()[("local", "CPU-local")]
    return {"jobs": rows, "first_job_error": rows[0]["error"],
            "unseen_error": rows[-1]["error"], "correction": corr.to_dict(),
            "target_unseen_within_10pct": rows[-1]["error"] <= 0.10}


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.add_typer(calibration, name="calibration")

    @bench.command("calibration")
    def bench_calibration_cmd(
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
        csv_: CsvOpt = False,
        file: Path | None = typer.Option(None, "--file", help="Record into this calibration "
                                         "file (default: a fresh temporary one)."),
        steps: int = typer.Option(20, "--steps", min=8, max=10_000, help="Steps per tiny job."),
    ) -> None:
        """Closed loop on the real local center: tiny jobs run, their measured step times
        correct the planner, then an unseen configuration is predicted."""
        from suanwang.cli.runtime_cmd import _work

        with _work(None) as work:
            result = closed_loop(work, file or work / "calibration.json", steps=steps)
        if as_json:
            print_json(result)
            return
        table("suanwang bench calibration (local / CPU-local)",
              ["job", "raw prediction s", "calibrated s", "measured s", "error", "unseen"],
              [[r["job"], r["predicted_raw_s"], r["predicted_s"], r["measured_s"], r["error"],
                r["unseen"]] for r in result["jobs"]])
