"""``suanwang predict|plan|validate`` and ``suanwang bench planner``: the performance model.

Heavy-ish imports (numpy, the model) happen inside the commands so ``suanwang --help`` stays fast.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from suanwang.cli.output import CsvOpt, console, print_json, table, working
from suanwang.cli.params import COUNT, UNIT_FORMS
from suanwang.core.errors import ConfigError
from suanwang.core.textfile import read_text

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
AccelFileOpt = Annotated[Path | None, typer.Option(
    "--accelerators", help="Your accelerators YAML (catalog format), merged over the catalog.")]
MODEL_HELP = ("Model: a preset (suanwang catalog models), a model YAML/JSON file, or inline "
              "dimensions layers=32,hidden=4096,heads=32,vocab=32000[,kv_heads=..,ffn_hidden=..,"
              "ffn_kind=swiglu,head_size=..,experts=..,top_k=..].")


def use_accelerators(path: Path | None) -> None:
    """Apply ``--accelerators FILE`` (merged over the catalog for this command)."""
    from suanwang.catalog.accelerators import use_accelerator_file

    use_accelerator_file(path)

BENCH_CASES = (  # (label, model preset, accelerator, GPUs, global batch in sequences)
    ("MT-NLG 530B on 5,120 A100", "mt-nlg-530b", "A100-SXM-80GB", 5120, 1920),
    ("Llama-3 405B on 16,384 H100", "llama3-405b", "H100-SXM", 16384, 2048),
)


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.command("predict")(predict_cmd)
    app.command("plan")(plan_cmd)
    app.command("validate")(validate_cmd)
    bench.command("planner")(bench_planner)


def predict_cmd(scenario: Annotated[Path, typer.Argument(help="SCENARIO.yaml")],
                json_: JsonOpt = False,
                csv_: CsvOpt = False, accelerators: AccelFileOpt = None) -> None:
    """Predict step time, throughput, MFU and memory of one fixed configuration."""
    from suanwang.catalog.fields import read_yaml
    from suanwang.perf.scenario import parse_scenario

    use_accelerators(accelerators)
    p = parse_scenario(read_yaml(scenario), file=str(scenario)).predict()
    if json_:
        print_json(p.to_dict())
        return
    par = p.parallelism
    console.print(f"[bold]{p.model}[/] on {p.num_gpus} x {p.accelerator} ({p.precision}), "
                  f"tp={par.tp} pp={par.pp} dp={par.dp} cp={par.cp} vp={par.vp} "
                  f"mb={par.micro_batch} zero={par.zero_stage} recompute={par.recompute} "
                  f"sp={par.sequence_parallel} attention={p.stack.attention}; "
                  f"profile {p.profile}")
    table("Step time", ["part", "seconds", "share"],
          [[k, v, v / p.step_time_s] for k, v in p.time_breakdown_s.items()]
          + [["step", p.step_time_s, 1.0]])
    table("Memory per GPU (heaviest stage)", ["part", "GB"],
          [[k, v / 1e9] for k, v in p.memory_bytes.items()]
          + [["total", p.memory_bytes_per_gpu / 1e9], ["HBM", p.hbm_bytes / 1e9]])
    console.print(f"tokens/s {p.tokens_per_s:,.0f}  model TFLOP/s per GPU "
                  f"{p.model_tflops_per_gpu:.1f}  MFU {p.mfu:.3f}  fits: "
                  f"{'yes' if p.fits else '[red]NO[/]'}")


def plan_cmd(
    model: Annotated[str, typer.Option(help=MODEL_HELP)],
    accelerator: Annotated[str, typer.Option(help="Accelerator name.")],
    gpus: Annotated[int, typer.Option(help="Number of GPUs.")],
    global_batch: Annotated[int, typer.Option(help="Global batch in sequences.")] = 2048,
    seq_len: Annotated[int | None, typer.Option(help="Sequence length (model's).")] = None,
    tokens: Annotated[float | None, typer.Option(
        parser=COUNT, metavar="COUNT",
        help=f"Training tokens ({UNIT_FORMS['count']}): adds time to train.")] = None,
    top: Annotated[int, typer.Option(help="Plans to show.")] = 10,
    gpus_per_node: Annotated[int, typer.Option(help="GPUs per node.")] = 8,
    inter_node_gbps: Annotated[float | None, typer.Option(
        help="Inter-node Gb/s (gigabits per second) per GPU (accelerator's NIC).")] = None,
    precision: Annotated[str, typer.Option(help="Training precision.")] = "bf16",
    storage_gb_per_s: Annotated[float, typer.Option(
        "--storage-gb-per-s",
        help="Checkpoint storage bandwidth in GB/s (gigaBYTES per second, aggregate), for the "
             "failure-aware time to train. (--inter-node-gbps is in gigaBITS per second.)")]
    = 100.0,
    attention: Annotated[str, typer.Option(help="flash | materialized.")] = "flash",
    cross_entropy: Annotated[str, typer.Option(help="fused | fp32 | chunked (logit memory).")]
    = "fused",
    ep: Annotated[int, typer.Option(help="Expert-parallel size (MoE models).")] = 1,
    accelerators: AccelFileOpt = None,
    json_: JsonOpt = False,
    csv_: CsvOpt = False,
    tp: Annotated[int | None, typer.Option(
        "--tp", min=1, help="Hold tensor parallelism at this size; search the rest.")] = None,
    pp: Annotated[int | None, typer.Option(
        "--pp", min=1, help="Hold pipeline stages at this count; search the rest.")] = None,
    cp: Annotated[int | None, typer.Option(
        "--cp", min=1, help="Hold context parallelism at this size; search the rest.")] = None,
    dp: Annotated[int | None, typer.Option(
        "--dp", min=1, help="Hold data parallelism at this size; search the rest.")] = None,
) -> None:
    """Rank parallel configurations by predicted step time (exhaustive vectorised search)."""
    started = time.perf_counter()
    from suanwang.catalog import get_accelerator
    from suanwang.catalog.efficiency import get_efficiency
    from suanwang.catalog.models import resolve_model
    from suanwang.core.hardware import Cluster
    from suanwang.perf.stack import Stack
    from suanwang.plan import assess_plan, search

    use_accelerators(accelerators)
    spec = resolve_model(model)
    acc = get_accelerator(accelerator)
    t0 = time.perf_counter()
    with _flag_errors():
        if storage_gb_per_s <= 0:
            raise ConfigError(f"must be > 0 (got {storage_gb_per_s})", field="storage_gb_per_s")
        stack = Stack(attention=attention, cross_entropy=cross_entropy, ep=ep)
        cluster = Cluster.of(acc, gpus, gpus_per_node, inter_node_gbps)
        fixed = {k: v for k, v in (("tp", tp), ("pp", pp), ("cp", cp), ("dp", dp))
                 if v is not None}
        with working(f"searching layouts of {spec.name} on {gpus} x {acc.name}", quiet=json_):
            res = search(spec, cluster, global_batch_seqs=global_batch, seq_len=seq_len,
                         precision=precision, profile=get_efficiency(acc.name), top=top,
                         tokens=tokens, stack=stack, fixed=fixed)
    search_s = time.perf_counter() - t0
    plans = [p.to_dict() for p in res.plans]
    if tokens:
        for d, p in zip(plans, res.plans, strict=True):
            g = assess_plan(spec, cluster, p, tokens=tokens,
                            storage_bytes_per_s=storage_gb_per_s * 1e9)
            d["time_to_train_failure_free_s"] = d.pop("time_to_train_s")
            d.update(g.to_dict())
    out = {"model": spec.name, "accelerator": acc.name, "gpus": gpus,
           "global_batch_seqs": global_batch, "configs_evaluated": res.configs_evaluated,
           "configs_feasible": res.configs_feasible, "rejected": res.rejected,
           "search_time_s": search_s, "plans": plans}
    if json_:
        print_json(out)
        return
    cols = ["tp", "pp", "dp", "cp", "vp", "mb", "zero", "recompute", "sp", "step s", "MFU",
            "mem GB"] + (["days"] if tokens else [])
    rows = [[d["tp"], d["pp"], d["dp"], d["cp"], d["vp"], d["micro_batch"], d["zero_stage"],
             d["recompute"], d["sequence_parallel"], d["step_time_s"], d["mfu"],
             d["memory_bytes_per_gpu"] / 1e9] + ([d["time_to_train_s"] / 86400] if tokens else [])
            for d in plans]
    table(f"{spec.name} on {gpus} x {acc.name}, batch {global_batch}", cols, rows)
    console.print(f"{res.configs_evaluated:,} configurations evaluated, {res.configs_feasible:,} "
                  f"feasible, search {search_s:.3f} s, total {time.perf_counter() - started:.3f} s")
    for reason, count in res.rejected.items():
        console.print(f"  rejected {count:,}: {reason}", style="dim")


FLAGS = {"num_gpus": "--gpus", "gpus_per_node": "--gpus-per-node",
         "inter_node_gbps_per_gpu": "--inter-node-gbps", "seq_len": "--seq-len",
         "global_batch_seqs": "--global-batch", "tokens": "--tokens", "top": "--top",
         "precision": "--precision", "storage_gb_per_s": "--storage-gb-per-s",
         "attention": "--attention", "cross_entropy": "--cross-entropy", "ep": "--ep"}


@contextmanager
def _flag_errors() -> Iterator[None]:
    """Re-raise a ConfigError about an API field as one about the command-line flag it came from."""
    try:
        yield
    except ConfigError as exc:
        if exc.file or exc.field not in FLAGS:
            raise
        raise ConfigError(exc.detail, entry=exc.entry, field=FLAGS[exc.field]) from None


def validate_cmd(runs: Annotated[list[Path], typer.Argument(
                     help="One or more CSVs in published_runs.csv format (scored together).")],
                 holdout: Annotated[bool, typer.Option(
                     help="Out-of-sample error: refit the profiles without the scored rows (2-fold "
                          "split, and leave-one-publication-out).")] = False,
                 json_: JsonOpt = False, accelerators: AccelFileOpt = None,
                 csv_: CsvOpt = False) -> None:
    """Predict each published run and compare with its measured step time."""
    from suanwang.catalog import load_accelerators
    from suanwang.catalog.efficiency import get_efficiency
    from suanwang.perf.validate import parse_runs, validate

    rows = []
    for path in runs:
        text = read_text(path, what="runs CSV", kind="a CSV in published_runs.csv format")
        rows += parse_runs(text, file=str(path))
    use_accelerators(accelerators)
    accs = load_accelerators()
    if holdout:
        from suanwang.perf.calibrate import holdout_report

        with working("refitting profiles without the held-out rows", quiet=json_):
            out = holdout_report(rows, accs, get_efficiency)
        if json_:
            print_json(out)
            return
        for name, rep in out.items():
            console.print(f"{name}: median |error| {rep['median_abs_error_pct']:.1f}%  "
                          f"p90 {rep['p90_abs_error_pct']:.1f}%  ({len(rep['rows'])} rows)")
        for src, r in out["leave_one_source_out"]["per_source"].items():
            console.print(f"  held out {src}: {r['rows']} rows, median |error| "
                          f"{r['median_abs_error_pct']:.1f}%", style="dim")
        return
    rep = validate(rows, accs, get_efficiency)
    if json_:
        print_json(rep.to_dict())
        return
    table("Predicted vs measured step time", ["id", "predicted s", "measured s", "error %",
                                              "assumed for unknown cells"],
          [[r.id, r.predicted_step_time_s, r.measured_step_time_s, r.error_pct,
            "; ".join(r.assumptions)] for r in rep.rows])
    console.print(f"median |error| {rep.median_abs_error_pct():.1f}%  "
                  f"p90 |error| {rep.p90_abs_error_pct():.1f}%  over {len(rep.rows)} rows")
    for i, why in rep.skipped:
        console.print(f"skipped {i}: {why}", style="yellow")


def bench_planner(repeat: Annotated[int, typer.Option(
                      min=1, max=1000, help="Runs per case (median).")] = 5,
                  json_: JsonOpt = False) -> None:
    """Planner speed: configurations per second and wall time on two reference cases."""
    import statistics

    from suanwang.catalog import get_accelerator, get_model
    from suanwang.catalog.efficiency import get_efficiency
    from suanwang.core.hardware import Cluster
    from suanwang.plan import search

    results = []
    for label, model, acc_name, gpus, batch in BENCH_CASES:
        spec, acc = get_model(model), get_accelerator(acc_name)
        cluster = Cluster.of(acc, gpus, 8)
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            res = search(spec, cluster, global_batch_seqs=batch, profile=get_efficiency(acc.name),
                         top=10)
            times.append(time.perf_counter() - t0)
        wall = statistics.median(times)
        results.append({"case": label, "configs_evaluated": res.configs_evaluated,
                        "configs_feasible": res.configs_feasible, "wall_time_s": wall,
                        "configs_per_s": res.configs_evaluated / wall,
                        "best": res.plans[0].to_dict(), "repeat": repeat})
    if json_:
        print_json({"benchmark": "planner", "results": results})
        return
    table("Planner benchmark (median wall time)", ["case", "configs", "feasible", "wall s",
                                                   "configs/s"],
          [[r["case"], r["configs_evaluated"], r["configs_feasible"], r["wall_time_s"],
            r["configs_per_s"]] for r in results])
