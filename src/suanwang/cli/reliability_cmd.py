"""``suanwang reliability``: job MTBF, checkpoint interval (Young/Daly) and expected ETTR."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from suanwang.cli.output import CsvOpt
from suanwang.core.errors import ConfigError

_FLAG_OF_FIELD = {
    "job_mtbf_s": "--mtbf-s", "stall_s": "--ckpt-stall-s", "restart_s": "--restart-s",
    "persist_s": "--persist-s", "interval_s": "--interval-s", "compute_time_s": "--compute-s",
    "devices": "--gpus", "devices_per_node": "--gpus-per-node",
    "failure_rate_multiplier": "--failure-multiplier", "method": "--method",
    "accelerator": "--accelerator", "tokens": "--tokens", "top": "--top",
}


def _flag_error(exc: ConfigError) -> ConfigError:
    """The library names its keyword arguments; on the command line, name the flag."""
    flag = _FLAG_OF_FIELD.get(exc.field or "")
    if flag is None or exc.file:
        return exc
    return ConfigError(exc.detail, field=flag)


def reliability(
    accelerator: Annotated[str | None, typer.Option(
        help="Accelerator name (catalog); with --gpus gives the job MTBF from catalog rates.")]
    = None,
    gpus: Annotated[int | None, typer.Option(help="Devices the job holds.")] = None,
    gpus_per_node: Annotated[int, typer.Option(help="Devices per node.")] = 8,
    failure_multiplier: Annotated[float, typer.Option(
        help="Center x pool failure-rate multiplier.")] = 1.0,
    mtbf_s: Annotated[float | None, typer.Option(
        help="Job MTBF in seconds (instead of --accelerator/--gpus).")] = None,
    ckpt_stall_s: Annotated[float | None, typer.Option(
        help="Blocking time per checkpoint, s (sync: whole write; async: staging). Derived "
             "from --model (and --center's storage) when not given.")] = None,
    restart_s: Annotated[float | None, typer.Option(
        help="Restart cost per failure, s (detect + reschedule + init + load). Derived from "
             "--model when not given.")] = None,
    persist_s: Annotated[float | None, typer.Option(
        help="Background persist time of an async save, s (0 = sync; derived from --model "
             "when not given, else 0).")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="Model (preset, file or inline): derive the checkpoint stall, "
        "persist and restart times from the planner's best layout of it on --accelerator x "
        "--gpus (its unique checkpoint bytes over the storage bandwidth).")] = None,
    center: Annotated[str | None, typer.Option(
        help="Center whose storage write bandwidth the derived times use (with --model; "
             "default: the planner's 100 GB/s).")] = None,
    federation: Annotated[Path | None, typer.Option(
        help="Federation YAML for --center (default: demo).")] = None,
    global_batch: Annotated[int, typer.Option(
        min=1, help="Global batch in sequences for the --model layout.")] = 1024,
    interval_s: Annotated[float | None, typer.Option(
        help="Use this checkpoint interval (compute s) instead of the optimum.")] = None,
    method: Annotated[str, typer.Option(help="Interval: young | daly | optimal.")] = "daly",
    compute_s: Annotated[float | None, typer.Option(
        help="Failure-free compute time of the run, s: report its expected time to train. "
             "Without it, report the steady state.")] = None,
    target_ettr: Annotated[float | None, typer.Option(
        help="Also report the longest restart and stall that reach this ETTR.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    csv_: CsvOpt = False,
) -> None:
    """Job MTBF, optimal checkpoint interval and expected effective training time (ETTR)."""
    try:
        ckpt_stall_s, persist_s, restart_s = _checkpoint_times(
            model, center, federation, global_batch, accelerator, gpus, gpus_per_node,
            ckpt_stall_s, persist_s, restart_s)
        _run(accelerator, gpus, gpus_per_node, failure_multiplier, mtbf_s, ckpt_stall_s,
             restart_s, persist_s, interval_s, method, compute_s, target_ettr, json_)
    except ConfigError as exc:
        raise _flag_error(exc) from None


def _checkpoint_times(model, center, federation, global_batch, accelerator, gpus,
                      gpus_per_node, stall_s, persist_s, restart_s):
    """(stall, persist, restart) seconds: as given, else derived from --model's best layout
    (:func:`suanwang.plan.goodput.plan_checkpoint_cost`, the planner's own checkpoint cost)."""
    if model is None:
        if center is not None:
            raise ConfigError("--center needs --model (the checkpoint size comes from it)",
                              field="--center")
        missing = [f for f, v in (("--ckpt-stall-s", stall_s), ("--restart-s", restart_s))
                   if v is None]
        if missing:
            raise ConfigError(f"give {' and '.join(missing)}, or --model (with --accelerator "
                              "and --gpus) to derive them", field=missing[0])
        return stall_s, persist_s or 0.0, restart_s
    if accelerator is None or gpus is None:
        raise ConfigError("--model needs --accelerator and --gpus (the layout to checkpoint)",
                          field="--model")
    from suanwang.catalog import get_accelerator, load_federation
    from suanwang.catalog.efficiency import get_efficiency
    from suanwang.catalog.models import resolve_model
    from suanwang.core.hardware import Cluster
    from suanwang.plan import search
    from suanwang.plan.goodput import DEFAULT_STORAGE_BYTES_PER_S, plan_checkpoint_cost

    storage = DEFAULT_STORAGE_BYTES_PER_S
    if center is not None:
        storage = load_federation(federation).center(center).storage_write_bytes_per_s
    spec, acc = resolve_model(model), get_accelerator(accelerator)
    cluster = Cluster.of(acc, gpus, gpus_per_node)
    best = search(spec, cluster, global_batch_seqs=global_batch,
                  profile=get_efficiency(acc.name), top=1).plans[0]
    ckpt, restart = plan_checkpoint_cost(spec, cluster, best, storage_bytes_per_s=storage)
    return (ckpt.stall_s if stall_s is None else stall_s,
            ckpt.persist_s if persist_s is None else persist_s,
            restart.total_s if restart_s is None else restart_s)


def _job_mtbf(accelerator, gpus, gpus_per_node, failure_multiplier, mtbf_s):
    from suanwang.catalog.failure_rates import get_failure_rate
    from suanwang.reliability import rates

    if mtbf_s is not None:
        if accelerator is not None or gpus is not None:
            raise ConfigError("give either --mtbf-s or --accelerator with --gpus, not both",
                              field="--mtbf-s")
        return mtbf_s, None
    if accelerator is None or gpus is None:
        raise ConfigError("give --mtbf-s, or --accelerator and --gpus to use catalog rates",
                          field="--mtbf-s")
    from suanwang.catalog import get_accelerator

    name = get_accelerator(accelerator).name  # unknown names are an error listing known ones
    rate = get_failure_rate(name)
    m = rates.job_mtbf_from_rate(rate, devices=gpus, devices_per_node=gpus_per_node,
                                 multiplier=failure_multiplier)
    return m, {"accelerator": name, "gpus": gpus, "gpus_per_node": gpus_per_node,
               "failure_multiplier": failure_multiplier, **rate.to_dict()}


def _run(accelerator, gpus, gpus_per_node, failure_multiplier, mtbf_s, ckpt_stall_s, restart_s,
         persist_s, interval_s, method, compute_s, target_ettr, json_) -> None:
    from suanwang.cli.output import print_json
    from suanwang.core.units import DAY_S, human_seconds
    from suanwang.reliability import goodput, interval

    m, provenance = _job_mtbf(accelerator, gpus, gpus_per_node, failure_multiplier, mtbf_s)
    kw = {"job_mtbf_s": m, "stall_s": ckpt_stall_s, "persist_s": persist_s,
          "restart_s": restart_s, "interval_s": interval_s, "method": method}
    est = (goodput.assess(compute_time_s=compute_s, **kw) if compute_s is not None
           else goodput.steady_state(**kw))
    out = {
        "mode": "run" if compute_s is not None else "steady_state",
        "job_mtbf_s": m,
        "failures_per_day": DAY_S / m,
        "young_interval_s": est.young_interval_s,
        "daly_interval_s": est.daly_interval_s,
        "optimal_interval_s": interval.optimal_interval_s(
            stall_s=est.stall_s, job_mtbf_s=m, persist_s=est.persist_s, restart_s=restart_s),
        "interval_s": est.interval_s,
        "ettr": est.ettr,
        "expected_lost_work_s": est.expected_lost_work_s,
        "waste": est.waste_fractions,
        "stall_s": est.stall_s, "persist_s": est.persist_s, "restart_s": est.restart_s,
    }
    if compute_s is not None:
        out |= {"compute_time_s": est.compute_time_s, "time_to_train_s": est.time_to_train_s,
                "expected_failures": est.expected_failures,
                "expected_interruptions": est.expected_interruptions,
                "segments": est.segments}
    if target_ettr is not None:
        if not 0 < target_ettr < 1:
            raise ConfigError(f"must be in (0, 1) (got {target_ettr})", field="--target-ettr")
        out["target"] = {
            "ettr": target_ettr,
            "max_restart_s": goodput.max_restart_s(
                target_ettr=target_ettr, job_mtbf_s=m, stall_s=est.stall_s,
                persist_s=est.persist_s, method=method),
            "max_stall_s": goodput.max_stall_s(
                target_ettr=target_ettr, job_mtbf_s=m, restart_s=restart_s,
                persist_s=est.persist_s, method=method),
        }
    if provenance:
        out["failure_rate"] = provenance
    if est.persist_s + est.stall_s >= m:
        out["warning"] = (f"a checkpoint takes {human_seconds(est.stall_s + est.persist_s)} to "
                          f"become durable but the job fails every {human_seconds(m)} on "
                          "average: few checkpoints survive; use faster storage, smaller "
                          "checkpoints or fewer devices")
    if json_:
        print_json(out)
        return
    _print_table(out, est, method, persist_s, compute_s, target_ettr, provenance)


def _print_table(out, est, method, persist_s, compute_s, target_ettr, provenance) -> None:
    from suanwang.cli.output import console, csv_mode, table
    from suanwang.core.units import human_seconds as _human

    plain = csv_mode()  # --csv: seconds and fractions as plain numbers, the unit in a column

    def human_seconds(v: float) -> str | tuple[float, str]:
        return (v, "s") if plain else _human(v)

    def pct(v: float) -> str | tuple[float, str]:
        return (v, "fraction") if plain else f"{v:.2%}"

    m = out["job_mtbf_s"]
    rows = [
        ["job MTBF", human_seconds(m), f"{out['failures_per_day']:.2f} failures/day"],
        ["Young interval", human_seconds(est.young_interval_s), "√(2δM), Young 1974"],
        ["Daly interval", human_seconds(est.daly_interval_s), "Daly 2006"],
        ["exact optimum", human_seconds(out["optimal_interval_s"]), "renewal model"],
        ["interval used", human_seconds(est.interval_s),
         f"method {method}" + (", ≥ persist" if persist_s else "")],
        ["ETTR", pct(est.ettr), out["mode"].replace("_", " ")],
        ["lost work / failure", human_seconds(est.expected_lost_work_s), "redone compute+stall"],
    ]
    rows += [[f"waste: {k.replace('_', ' ')}", pct(v), ""]
             for k, v in est.waste_fractions.items()]
    if compute_s is not None:
        rows += [["time to train", human_seconds(est.time_to_train_s),
                  f"compute {_human(est.compute_time_s)}"],
                 ["expected failures", est.expected_failures if plain
                  else f"{est.expected_failures:.1f}",
                  f"{est.expected_interruptions:.1f} interrupt work"]]
    if target_ettr is not None:
        t = out["target"]
        for key, label in (("max_restart_s", "max restart"), ("max_stall_s", "max stall")):
            v = t[key]
            rows.append([f"{label} for {target_ettr:.0%}",
                         human_seconds(v) if v is not None else "unreachable",
                         "others as given"])
    if plain:
        rows = [[q, *(v if isinstance(v, tuple) else (v, "")), note] for q, v, note in rows]
    table("Reliability: failures, checkpoint interval, effective training time",
          ["quantity", "value", "unit", "note"] if plain else ["quantity", "value", "note"], rows)
    if provenance:
        console.print(f"Failure rate: class {provenance['accelerator_class']}"
                      f"{' (assumed)' if provenance['assumed'] else ''}; "
                      f"{provenance['sources'][0]}", style="dim")
    if "warning" in out:
        console.print(f"[bold yellow]warning:[/] {out['warning']}")


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.command("reliability")(reliability)
