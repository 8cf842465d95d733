"""``suanwang where`` (which center, chip and size) and ``suanwang pool`` (one job over parts)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from suanwang.cli.output import CsvOpt, console, err_console, print_json, table, working
from suanwang.cli.params import COUNT, DURATION, UNIT_FORMS

DAY_S = 86400.0


def _deadline_s(deadline: float | None, deadline_days: float | None) -> float | None:
    """--deadline (any duration) or its older spelling --deadline-days, in seconds."""
    from suanwang.core.errors import ConfigError

    if deadline is not None and deadline_days is not None:
        raise ConfigError("give --deadline or --deadline-days, not both", field="--deadline")
    if deadline_days:
        return deadline_days * DAY_S
    return deadline


def where_cmd(
    job: Annotated[Path | None, typer.Argument(help="A job spec YAML (examples/jobs/*.yaml); "
                                               "replaces --model, --tokens and the constraint "
                                               "options.")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model: preset (suanwang "
                                              "catalog models), model file, or inline "
                                              "layers=..,hidden=..,heads=..,vocab=..")] = None,
    tokens: Annotated[float | None, typer.Option(
        parser=COUNT, metavar="COUNT",
        help=f"Tokens to train on: {UNIT_FORMS['count']} (T = 10^12).")] = None,
    federation: Annotated[Path | None, typer.Option(help="Federation YAML (default: demo).")]
    = None,
    objective: Annotated[str, typer.Option(help="Rank by time | cost | energy.")] = "time",
    global_batch: Annotated[int, typer.Option(help="Global batch in sequences.")] = 1024,
    seq_len: Annotated[int | None, typer.Option(help="Sequence length (default: model's).")]
    = None,
    max_devices: Annotated[int | None, typer.Option(help="Largest job size to consider.")] = None,
    deadline: Annotated[float | None, typer.Option(
        "--deadline", parser=DURATION, metavar="DURATION",
        help=f"Drop options slower than this: {UNIT_FORMS['duration']} (bare number = "
             "seconds).")] = None,
    deadline_days: Annotated[float | None, typer.Option(
        "--deadline-days", min=0.0, help="The deadline in days (kept for scripts; "
        "--deadline 30d says the same).")] = None,
    budget: Annotated[float | None, typer.Option(
        min=0.0, help="Drop options costlier than this, in whole units of the federation's "
        "currency (CNY for the demo: 5e6 = 5 million CNY; the table shows millions).")] = None,
    center: Annotated[list[str] | None, typer.Option(help="Only these centers (repeatable).")]
    = None,
    top: Annotated[int, typer.Option(help="Rows to show.")] = 12,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    csv_: CsvOpt = False,
    accelerators: Annotated[Path | None, typer.Option(
        "--accelerators", help="Your accelerators YAML, merged over the catalog.")] = None,
    calibration: Annotated[Path | None, typer.Option(
        "--calibration", help="Correct times, costs and energy by the measured runs in this "
        "file (suanwang calibration show --file).")] = None,
) -> None:
    """Where should I train? Every center, chip and size, ranked by failure-aware time, cost or
    energy, with the Pareto front marked."""
    from rich.progress import Progress

    from suanwang.catalog import load_federation
    from suanwang.catalog.accelerators import use_accelerator_file
    from suanwang.catalog.models import resolve_model
    from suanwang.core.errors import ConfigError
    from suanwang.plan.placement import select_compute

    use_accelerator_file(accelerators)
    fed = load_federation(federation)
    if job is not None:
        kwargs, accel_ok = _spec_search(fed, job)
        if kwargs is None:
            return
    elif model is None or tokens is None:
        raise ConfigError("give a job spec (suanwang where JOB.yaml) or --model and --tokens",
                          field="--model" if model is None else "--tokens")
    else:
        kwargs = {"model": resolve_model(model), "tokens": tokens,
                  "global_batch_seqs": global_batch,
                  "seq_len": seq_len, "max_devices": max_devices,
                  "deadline_s": _deadline_s(deadline, deadline_days),
                  "budget": budget, "centers": tuple(center or ())}
        accel_ok = None
    spec, tokens = kwargs["model"], kwargs["tokens"]
    with Progress(transient=True, console=err_console,  # no bar, no stray line, off a tty
                  disable=json_ or not err_console.is_terminal) as progress:
        task = progress.add_task("searching centers", total=None)
        selection = select_compute(
            fed, **{k: v for k, v in kwargs.items() if k != "model"}, model=spec,
            objective=objective, corrections=_corrections(calibration),
            on_progress=lambda done, total: progress.update(task, completed=done, total=total))
    if accel_ok is not None:
        from suanwang.plan.spec_search import restrict

        selection = restrict(selection, accel_ok)
    if json_:
        print_json({**selection.to_dict(), "options": [o.to_dict() for o in
                                                        selection.options[:top]]})
        return
    rows = []
    for o in selection.options[:top]:
        p = o.plan.parallelism
        rows.append([o.center, o.accelerator, o.devices, o.time_to_train_s / DAY_S,
                     o.cost / 1e6, o.energy_kwh / 1e3, o.plan.mfu, o.goodput.ettr,
                     f"tp{p.tp} pp{p.pp} dp{p.dp} cp{p.cp}", "*" if o.pareto else ""])
    table(f"{spec.name}, {tokens:.3g} tokens: options by {objective}",
          ["center", "chip", "devices", "days", f"cost M{selection.currency}", "MWh", "MFU",
           "ETTR", "layout", "pareto"], rows)
    console.print(f"{selection.searches} pool sizes searched, "
                  f"{selection.configs_evaluated:,} configurations; "
                  f"{len(selection.skipped)} skipped (model does not fit or chip lacks the "
                  "precision); * = Pareto-optimal in time, cost and energy", style="dim")


def _corrections(path: Path | None) -> dict:
    """The corrections learned from the measured runs in ``path`` (none without a file)."""
    if path is None:
        return {}
    from suanwang.core.errors import ConfigError
    from suanwang.store.calibration_file import CalibrationFile

    if not path.is_file():
        raise ConfigError("calibration file not found", field="--calibration", file=str(path))
    return CalibrationFile(path).corrections()


def _spec_search(fed, path: Path):
    """select_compute arguments for a training spec (and an accelerator filter); for a batch
    spec, prints the pools that can run it and returns (None, None)."""
    from suanwang.core.jobspec import BatchSpec, load_job_spec
    from suanwang.plan.spec_search import accelerator_filter, allowed_centers, search_kwargs

    spec = load_job_spec(path)
    if isinstance(spec, BatchSpec):
        _where_batch(fed, spec)
        return None, None
    c = spec.constraints
    centers = allowed_centers(fed, c, file=str(path))
    return search_kwargs(spec, centers), accelerator_filter(fed, c)


def _where_batch(fed, spec) -> None:
    """Pools able to run a batch spec, with the walltime's cost (from the controller's
    planner, so this is what admission would consider)."""
    from suanwang.control.planning import plan_batch

    plan = plan_batch(fed, spec)
    rows = [[key.split("/")[0], key.split("/")[1], plan["devices"], p["nodes"],
             p["time_s"] / 3600, p["cost"]] for key, p in
            sorted(plan["pools"].items(), key=lambda kv: kv[1]["cost"])]
    table(f"{spec.name}: pools that can run it (walltime {spec.walltime_s / 3600:.2f} h)",
          ["center", "node type", "devices", "nodes", "hours", f"cost {fed.currency}"], rows)


def pool_cmd(
    model: Annotated[str, typer.Option("--model", "-m", help="Model: preset, model file, or "
                                       "inline layers=..,hidden=..,heads=..,vocab=..")],
    part: Annotated[list[str], typer.Option(help="CENTER:ACCELERATOR:DEVICES (repeat, >= 2).")],
    federation: Annotated[Path | None, typer.Option(help="Federation YAML (default: demo).")]
    = None,
    global_batch: Annotated[int, typer.Option(help="Global batch in sequences.")] = 1024,
    seq_len: Annotated[int | None, typer.Option(help="Sequence length.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    csv_: CsvOpt = False,
    accelerators: Annotated[Path | None, typer.Option(
        "--accelerators", help="Your accelerators YAML, merged over the catalog.")] = None,
    outer_every_steps: Annotated[int, typer.Option(
        "--outer-every-steps", min=1, help="DiLoCo H for the cross-center option.")] = 20,
) -> None:
    """Pool mixed chips, or two centers in different cities, into one data-parallel job: batch
    split by throughput, gradient sync over the link, and whether it beats going alone; beside
    it a pipeline with one stage per part and, across centers, DiLoCo; which wins and why."""
    from suanwang.catalog import load_federation
    from suanwang.catalog.accelerators import use_accelerator_file
    from suanwang.catalog.models import resolve_model
    from suanwang.plan.pooled import parse_part, pooled_plan

    use_accelerator_file(accelerators)
    fed = load_federation(federation)
    from suanwang.plan.pool_options import pool_options

    spec = resolve_model(model)
    with working(f"planning {len(part)} parts, pipeline and DiLoCo options", quiet=json_):
        plan = pooled_plan(fed, spec, tuple(parse_part(p) for p in part),
                           global_batch_seqs=global_batch, seq_len=seq_len)
        options = pool_options(fed, spec, plan, outer_every_steps=outer_every_steps)
    if json_:
        print_json({**plan.to_dict(), "options": options})
        return
    rows = [[pp.part.center, pp.part.accelerator, pp.part.devices, pp.batch_seqs,
             pp.plan.step_time_s, pp.plan.mfu,
             f"tp{pp.plan.parallelism.tp} pp{pp.plan.parallelism.pp} dp{pp.plan.parallelism.dp}"]
            for pp in plan.parts]
    table(f"Pooled {model}: batch {plan.global_batch_seqs} split by throughput",
          ["center", "chip", "devices", "batch share", "compute s", "MFU", "layout"], rows)
    verdict = "worth it" if plan.worth_it else "NOT worth it"
    console.print(
        f"gradient sync {plan.sync_s:.2f} s over {plan.link_bits_per_s / 1e9:,.0f} Gb/s; "
        f"step {plan.step_time_s:.2f} s; {plan.tokens_per_s:,.0f} tokens/s = "
        f"{plan.speedup_vs_best_single:.2f}x the best single part "
        f"({plan.best_single.part.label}) → [bold]{verdict}[/]. A global batch of "
        f"{plan.batch_for_10pct_sync} would hide the sync behind 10% overhead.")
    _print_options(options)


def _print_options(options: dict) -> None:
    """The pipeline and DiLoCo options beside the DP split, and the verdict."""
    pipe = options["pipeline"]
    if pipe["feasible"]:
        console.print(f"pipeline, one stage per part: layers {pipe['split']}, "
                      f"{pipe['micro_batches']} micro-batches, step {pipe['step_time_s']:.2f} s, "
                      f"{pipe['tokens_per_s']:,.0f} tokens/s, bubble "
                      f"{pipe['bubble_fraction']:.0%}")
    else:
        console.print(f"pipeline, one stage per part: not feasible ({pipe['why']})")
    xc = options.get("crosscenter")
    if xc:
        names = {"ddp": "sync DDP", "diloco": f"DiLoCo H={xc['outer_every_steps']}"}
        for mode, name in names.items():
            m = xc[mode]
            console.print(f"{name}: step {m['step_time_s']:.2f} s, WAN "
                          f"{m['wan_bytes_per_step'] / 1e9:.2f} GB/step, "
                          f"{m['tokens_per_s']:,.0f} tokens/s")
        console.print(f"caveat: {xc['caveat']}", style="dim")
    console.print(f"→ [bold]{options['winner']}[/] wins: {options['why']}")


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.command("where")(where_cmd)
    app.command("pool")(pool_cmd)
