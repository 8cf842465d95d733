"""``suanwang simulate``: replay a trace under several policies side by side;
``suanwang bench sim``: the simulator's speed benchmark (1M jobs, 100K GPUs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from suanwang.cli.output import CsvOpt, console, err_console, print_json, table, working

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

MAX_JOBS = 10_000_000
"""Most jobs a synthetic trace may have (10x the 1M-job benchmark; bounds memory and time)."""
MAX_DEVICES = 10_000_000
"""Most devices of --cluster-gpus / --scale-to (100x the 100K-GPU benchmark; ~5 s to build)."""


def _cluster(federation: Path | None, cluster_gpus: int | None, scale_to: int | None = None):
    cluster = _base_cluster(federation, cluster_gpus)
    if scale_to is None:
        return cluster
    from suanwang.core.errors import ConfigError
    from suanwang.sim.cluster import scaled_accelerator_pools

    if scale_to < 1:
        raise ConfigError(f"must be >= 1 (got {scale_to})", field="scale-to")
    return scaled_accelerator_pools(cluster, scale_to)


def _base_cluster(federation: Path | None, cluster_gpus: int | None):
    from suanwang.core.errors import ConfigError
    from suanwang.sim.cluster import homogeneous, load_cluster

    if (federation is None) == (cluster_gpus is None):
        raise ConfigError("give exactly one of --federation FILE or --cluster-gpus N",
                          field="federation")
    if cluster_gpus is not None:
        return homogeneous(cluster_gpus)
    if federation.is_dir():
        raise ConfigError(f"'{federation}' is a folder; give a federation YAML, 'demo' or the "
                          "Alibaba 2023 nodes CSV", field="federation")
    if federation.suffix.lower() == ".csv":
        from suanwang.sim.traces.alibaba2023 import load_alibaba_nodes

        return load_alibaba_nodes(federation)
    if str(federation) == "demo":
        return load_cluster(None)
    return load_cluster(str(federation))


def _workload(trace: Path | None, fmt: str, jobs: int, devices: int, seed: int, centers,
              models: bool, max_size: int, load: float = 0.9):
    from suanwang.core.errors import ConfigError
    from suanwang.sim.traces import TRACE_FORMATS, load_trace
    from suanwang.sim.traces.synthetic import synthetic_llm

    if fmt == "synthetic":
        if trace is not None:
            raise ConfigError("--trace-format synthetic generates its jobs; drop --trace, or "
                              "give the trace's format", field="trace")
        return synthetic_llm(jobs, devices, seed=seed, centers=centers, with_models=models,
                             max_size=max_size, load=load)
    if trace is None:
        if fmt not in TRACE_FORMATS:  # the format's own error first: it is what is wrong
            return load_trace(Path(), fmt)
        raise ConfigError(f"--trace FILE is required for --trace-format {fmt}", field="trace")
    if trace.is_dir():
        raise ConfigError(f"'{trace}' is a folder; give the trace file", field="trace")
    return load_trace(trace, fmt)


def _run_policies(policies, workload, cluster, opts_for) -> list:
    """Simulate each policy with a progress bar (hidden when ``opts_for`` is told so)."""
    from rich.progress import Progress

    from suanwang.sim.engine import simulate

    results = []
    with Progress(console=err_console, transient=True,  # no stray line off a tty
                  disable=opts_for.quiet or not err_console.is_terminal) as progress:
        for pol in policies:
            task = progress.add_task(f"{pol.name}", total=len(workload))
            opts = opts_for(lambda i, task=task: progress.update(task, completed=i))
            results.append(simulate(workload, cluster, pol, opts))
            progress.update(task, completed=len(workload))
    return results


def _n(v: float) -> str:
    return f"{v:,.0f}"


def _cls(r, label: str) -> str:
    v = r.size_class_mean_jct_s.get(label)
    return "-" if v is None else _n(v)


def _cost(r, cluster) -> str:
    """The run's cost, or n/a when no pool has a price (0 would read as "free")."""
    priced = any(p.price_per_device_hour > 0 for p in cluster.pools)
    return _n(r.cost) if priced else "n/a"


def _identical(results) -> list[tuple[str, str]]:
    """(policy, earlier policy) pairs whose every metric is the same on this trace."""
    seen: dict[str, str] = {}
    pairs = []
    for r in results:
        key = repr(sorted((k, v) for k, v in r.to_dict().items() if k != "wall_s"))
        if key in seen:
            pairs.append((r.policy, seen[key]))
        else:
            seen[key] = r.policy
    return pairs


def _print_table(results, workload, cluster, estimator: str, node_aware: bool) -> None:
    from suanwang.sim.metrics import SIZE_CLASSES

    rows = [[r.policy, _n(r.mean_jct_s), _n(r.p50_jct_s), _n(r.p99_jct_s), _n(r.mean_wait_s),
             _n(r.p99_wait_s), _n(r.max_wait_s), _n(r.p99_queued_s), _n(r.max_queued_s),
             str(r.waits_over_7d),
             f"{r.mean_bounded_slowdown:,.1f}", f"{r.p99_bounded_slowdown:,.0f}",
             *(_cls(r, c[0]) for c in SIZE_CLASSES), f"{r.utilization:.3f}",
             _n(r.makespan_s), f"{r.ettr:.3f}", _cost(r, cluster), _n(r.energy_kwh),
             f"{r.preemptions}/{r.failures}", f"{r.finished}/{r.jobs}"] for r in results]
    capacity = "node-aware" if node_aware else "pooled"
    table(f"{workload.name} on {cluster.name} ({cluster.devices} devices, {capacity}, "
          f"{estimator} estimates)",
          ["policy", "mean JCT s", "p50 JCT s", "p99 JCT s", "mean wait s", "p99 wait s",
           "max wait s", "p99 queued s", "max queued s", "wait>7d", "bsld mean", "bsld p99",
           *(f"JCT {c[0]} dev s" for c in SIZE_CLASSES), "util", "makespan s", "ETTR",
           f"cost {cluster.currency}".strip(), "energy kWh", "preempt/fail", "finished"], rows)


def _print_notes(results, workload) -> None:
    for note in workload.notes:
        console.print(f"note: {note}", style="dim")
    for policy, same in _identical(results):
        console.print(f"note: {policy} scheduled this trace exactly as {same} did (same metrics;"
                      " e.g. priority = backfill when no job has a priority)", style="dim")
    dropped = max(r.constraints_dropped for r in results)
    if dropped:
        console.print(f"note: {dropped} jobs asked only for accelerator types this cluster "
                      "lacks; their constraint was dropped", style="dim")
    rejected = max(r.rejected for r in results)
    if rejected:
        console.print(f"note: {rejected} jobs need more devices than any one pool has and "
                      "were rejected", style="dim")


class _Options:
    """Builds the SimOptions of one policy's run from the command's flags."""

    def __init__(self, *, quiet: bool, **kw) -> None:
        self.quiet = quiet
        self.kw = kw

    def __call__(self, progress):
        from suanwang.sim.engine import SimOptions

        return SimOptions(progress=progress, **self.kw)


def _plot_path(plot: str | None) -> Path | None:
    """``--plot`` as given: an empty value is refused (a Path would read it as the current
    folder and scatter the plots there); '.' is the current folder."""
    if plot is None:
        return None
    if not plot.strip():
        from suanwang.core.errors import ConfigError

        raise ConfigError("is empty; give a folder for the plots, e.g. --plot plots",
                          field="plot")
    return Path(plot)


def _plot_folder(plot: Path) -> None:
    """Make the ``--plot`` folder before simulating, so a bad path fails in a second, not
    after the run."""
    from suanwang.core.errors import ConfigError

    if plot.exists() and not plot.is_dir():
        raise ConfigError(f"'{plot}' is a file; give a folder for the plots", field="plot")
    try:
        plot.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create folder '{plot}': {e.strerror}", field="plot") from None


def simulate_run(*, trace: Path | None, trace_format: str, federation: Path | None,
                 cluster_gpus: int | None, policy: str, json_: bool, plot: Path | None,
                 failures: bool, estimator: str, jobs: int, models: bool,
                 sched_interval: float, seed: int, node_aware: bool | None,
                 load: float = 0.9, scale_to: int | None = None,
                 preemption: str = "graceful") -> None:
    """The body of ``suanwang simulate`` (see :func:`register`)."""
    from suanwang.core.errors import ConfigError
    from suanwang.sched.registry import get_policy

    if estimator not in ("history", "oracle"):
        raise ConfigError("use history or oracle", field="estimator")
    if preemption not in ("graceful", "lossy"):
        raise ConfigError("use graceful or lossy", field="preemption")
    graceful_preemption = preemption == "graceful"
    policies = [get_policy(n) for n in (p.strip() for p in policy.split(",")) if n]
    if not policies:
        raise ConfigError("give at least one policy, e.g. --policy backfill,suanwang",
                          field="policy")
    if plot is not None:
        _plot_folder(plot)
    cluster = _cluster(federation, cluster_gpus, scale_to)
    if node_aware is None:
        node_aware = cluster_gpus is not None
    capacity = max(int(sum(p.devices * p.speed for p in cluster.pools)), 1)
    workload = _workload(trace, trace_format, jobs, capacity, seed,
                         sorted({p.center for p in cluster.pools}), models,
                         max(p.devices for p in cluster.pools), load)
    workload.graceful_preemption = graceful_preemption
    opts_for = _Options(quiet=json_, estimator=estimator, failures=failures, seed=seed,
                        timeline=plot is not None, sched_interval_s=sched_interval,
                        node_aware=node_aware)
    results = _run_policies(policies, workload, cluster, opts_for)
    paths = []
    if plot is not None:
        from suanwang.sim.plots import write_plots

        paths = write_plots(results, plot, title=f"({workload.name}, {cluster.name})")
    if json_:
        print_json({"trace": workload.name, "cluster": cluster.name,
                    "devices": cluster.devices, "node_aware": node_aware,
                    "estimator": estimator, "graceful_preemption": graceful_preemption,
                    "policies": {r.policy: r.to_dict() for r in results}})
        return
    _print_table(results, workload, cluster, estimator, node_aware)
    _print_notes(results, workload)
    if paths:
        console.print("plots: " + ", ".join(str(p) for p in paths), style="dim")


def _register_simulate(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate_cmd(
        trace: Annotated[Path | None, typer.Option(
            "--trace", help="Trace file (not needed for --trace-format synthetic).")] = None,
        trace_format: Annotated[str, typer.Option(
            "--trace-format", help="dirlab | alibaba2023 | swf | synthetic")] = "dirlab",
        federation: Annotated[Path | None, typer.Option(
            "--federation", help="Federation YAML ('demo' = packaged demo), or the Alibaba "
            "2023 nodes CSV.")] = None,
        cluster_gpus: Annotated[int | None, typer.Option(
            "--cluster-gpus", min=1, max=MAX_DEVICES,
            help="One homogeneous cluster of N devices, 8 per node.")] = None,
        policy: Annotated[str, typer.Option(
            "--policy", help="Comma-separated list of: fifo, backfill, fairshare, priority, "
            "suanwang (e.g. backfill,suanwang).")
        ] = "fifo,backfill,suanwang",
        json_: JsonOpt = False,
        csv_: CsvOpt = False,
        plot: Annotated[str | None, typer.Option(
            "--plot", help="Write JCT CDF and utilization plots into this folder.")] = None,
        failures: Annotated[bool, typer.Option(
            "--failures/--no-failures", help="Draw failures from the reliability model.")
        ] = False,
        estimator: Annotated[str, typer.Option(
            "--estimator", help="history (online, default) | oracle (true run times: "
            "calibration against published perfect-knowledge numbers only)")] = "history",
        jobs: Annotated[int | None, typer.Option(
            "--jobs", min=1, max=MAX_JOBS,
            help="Jobs for --trace-format synthetic (default 10000).")] = None,
        models: Annotated[bool | None, typer.Option(
            "--models/--no-models", help="Synthetic jobs name the model they train, so each "
            "job's speed per accelerator comes from the planner's throughput model (default: "
            "on).", show_default=False)] = None,
        sched_interval: Annotated[float, typer.Option(
            "--sched-interval", help="Seconds between policy calls (0 = after every event).")
        ] = 0.0,
        seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed (>= 0).")] = 0,
        node_aware: Annotated[bool | None, typer.Option(
            "--node-aware/--pooled", help="Place gangs on nodes (<= 1 node: within one node; "
            "larger: whole free nodes) or count devices per pool only. Default: node-aware "
            "with --cluster-gpus, pooled with --federation.", show_default=False)] = None,
        load: Annotated[float | None, typer.Option(
            "--load", help="Offered load of --trace-format synthetic (1.0 = the cluster's "
            "speed-weighted capacity, sum of devices x pool speed; default 0.9).")] = None,
        scale_to: Annotated[int | None, typer.Option(
            "--scale-to", min=1, max=MAX_DEVICES,
            help="Scale the cluster's accelerator pools to about N devices "
            "(node counts rounded; e.g. the Alibaba nodes file down to a contended size).")
        ] = None,
        preemption: Annotated[str, typer.Option(
            "--preemption", help="graceful: a preempted job commits a final checkpoint on the "
            "signal and loses one save (suanwang's runtime); lossy: it loses its work since "
            "its last periodic checkpoint, as on a failure.")] = "graceful",
    ) -> None:
        """Replay a trace under each policy; one row per policy (JCT, wait to first start,
        queued time incl. resuming after preemption, utilization, ETTR, preemptions...)."""
        from suanwang.sim.traces import TRACE_FORMATS

        if trace_format != "synthetic" and trace_format in TRACE_FORMATS:  # (else: its error)
            given = [name for name, v in (("--jobs", jobs), ("--load", load),
                                          ("--models/--no-models", models)) if v is not None]
            if given:
                from suanwang.core.errors import ConfigError

                raise ConfigError(f"{given[0]} is for --trace-format synthetic only; a trace "
                                  "brings its own jobs", field=given[0].lstrip("-").split("/")[0])
        jobs = 10000 if jobs is None else jobs
        load = 0.9 if load is None else load
        models = True if models is None else models
        simulate_run(trace=trace, trace_format=trace_format, federation=federation,
                     cluster_gpus=cluster_gpus, policy=policy, json_=json_,
                     plot=_plot_path(plot),
                     failures=failures, estimator=estimator, jobs=jobs, models=models,
                     sched_interval=sched_interval, seed=seed, node_aware=node_aware,
                     load=load, scale_to=scale_to, preemption=preemption)


def _register_bench(bench: typer.Typer) -> None:
    @bench.command("sim")
    def bench_sim_cmd(
        json_: JsonOpt = False,
        csv_: CsvOpt = False,
        contended: Annotated[bool, typer.Option(
            "--contended", help="The long-queue case: offered load >= 1.1 of the "
            "speed-weighted capacity, node-aware, failures on (defaults 100,000 jobs, "
            "10,000 GPUs, load 1.1). Without it: the idle-queue case (1M jobs, 100K GPUs, "
            "load 0.9 in reference-device seconds).")] = False,
        jobs: Annotated[int | None, typer.Option(
            "--jobs", min=1, max=MAX_JOBS, help="Synthetic jobs (default: 1,000,000; "
            "--contended 100,000).", show_default=False)] = None,
        gpus: Annotated[int | None, typer.Option(
            "--gpus", min=1, max=MAX_DEVICES, help="Devices: the demo federation scaled to "
            "about N, whole nodes (default: 100,000; --contended 10,000).",
            show_default=False)] = None,
        policy: Annotated[str, typer.Option(
            "--policy", help="One policy: fifo, backfill, fairshare, priority or suanwang.")
        ] = "suanwang",
        load: Annotated[float | None, typer.Option(
            "--load", help="Offered load (default: 0.9; --contended 1.1, at least 1.1).",
            show_default=False)] = None,
        sched_interval: Annotated[float, typer.Option(
            "--sched-interval", help="Seconds between policy calls (0 = every event).")] = 0.0,
        seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed (>= 0).")] = 0,
    ) -> None:
        """Simulator speed: idle-queue case (1M jobs, 100K GPUs, <= 60 s) or --contended
        (100K jobs, 10K GPUs, long queue, <= 60 s); reports jobs/s, events/s, queue length."""
        from suanwang.sim.bench import bench_sim

        d_jobs, d_gpus, d_load = ((100_000, 10_000, 1.1) if contended
                                  else (1_000_000, 100_000, 0.9))
        with working(f"simulating {jobs or d_jobs:,} jobs on {gpus or d_gpus:,} GPUs",
                     quiet=json_):
            res = bench_sim(jobs=jobs or d_jobs, gpus=gpus or d_gpus, policy=policy, seed=seed,
                            load=d_load if load is None else load, contended=contended,
                            sched_interval_s=sched_interval)
        if json_:
            print_json(res)
            return
        table(f"bench sim ({res['case']})",
              ["jobs", "gpus", "policy", "load", "wall s", "jobs/s", "events/s",
               "mean queue", "peak queue", "target s", "ok"],
              [[res["jobs"], res["gpus"], res["policy"], res["load"], f"{res['wall_s']:.1f}",
                f"{res['jobs_per_s']:,.0f}", f"{res['events_per_s']:,.0f}",
                f"{res['mean_queue_len']:,.0f}", res["peak_queue_len"], res["target_wall_s"],
                res["meets_target"]]])

    @bench.command("sched")
    def bench_sched_cmd(
        json_: JsonOpt = False,
        csv_: CsvOpt = False,
        traces: Annotated[Path | None, typer.Option(
            "--traces", help="Folder with the shipped traces (default ../shared/data/traces; "
            "without them only the synthetic cases run).")] = None,
        case: Annotated[str | None, typer.Option(
            "--case", help="Comma-separated case names to run (default: all; a wrong "
            "name lists the known ones).")] = None,
        seeds: Annotated[int, typer.Option(
            "--seeds", min=1, max=100, help="Runs of each synthetic case (seed offsets 0..N-1); "
            "with N > 1 a summary gives median ratios and how many seeds met every "
            "target. Trace cases run once.")] = 1,
    ) -> None:
        """Every policy on 14 workloads (Helios, Alibaba, synthetic; docs/scheduling.md says
        which of them chose which suanwang parameter), judged against the
        scheduling targets (mean JCT <= 0.8x EASY and lowest of all, p99 and max wait <= EASY's;
        wait = submission to first start), with queued time (every wait, incl. resuming after a
        preemption), makespan, ETTR and preemptions beside them."""
        from suanwang.core.errors import ConfigError
        from suanwang.sim.robustness import missing_traces, robustness, summary

        if traces is not None and not traces.is_dir():
            raise ConfigError(f"{traces} is not a folder; give the folder holding the shipped "
                              "traces (../shared/data/traces)", field="traces")
        folder = traces if traces is not None else Path("../shared/data/traces")
        only = [c.strip() for c in (case or "").split(",") if c.strip()]
        if case is not None and not only:
            raise ConfigError("give at least one case name (or leave --case out for all)",
                              field="case")
        missing = missing_traces(folder)
        if missing and not only:
            err_console.print(f"note: trace cases skipped: {', '.join(missing)} not in "
                              f"{folder} (pass --traces DIR)", style="dim")
        try:
            rows = robustness(folder, only=only, seeds=seeds,
                              progress=None if json_ or csv_ else (
                                  lambda n: err_console.print(f"done: {n}", style="dim")))
        except ValueError as e:
            raise ConfigError(str(e), field="case") from None
        if json_:
            print_json({"cases": rows, "summary": summary(rows)})
            return
        _print_robustness(rows)
        if seeds > 1:
            _print_summary(summary(rows))


def _print_summary(rows: list[dict]) -> None:
    table("per case over its seeds (median ratios to EASY backfill; wait = submission to "
          "first start, queued = every wait incl. resuming after preemption or failure)",
          ["case", "seeds", "median mean vs bf", "median p99 wait vs bf",
           "median max wait vs bf", "median p99 queued vs bf", "median max queued vs bf",
           "seeds meeting every target", "... and queued <= bf"],
          [[r["case"], r["seeds"], r["median_mean_jct_vs_backfill"],
            r["median_p99_wait_vs_backfill"], r["median_max_wait_vs_backfill"],
            r["median_p99_queued_vs_backfill"], r["median_max_queued_vs_backfill"],
            f"{r['met']}/{r['seeds']}", f"{r['met_with_queued']}/{r['seeds']}"]
           for r in rows])


def _print_robustness(rows: list[dict]) -> None:
    ratio = ("mean_jct_vs_backfill", "p99_wait_vs_backfill", "max_wait_vs_backfill")
    table("suanwang vs EASY backfill (bf) per case (targets: mean <= 0.80, waits <= 1.00; "
          "wait = submission to first start, queued = every wait incl. resuming after "
          "preemption or failure)",
          ["case", "seed", "devices", "backfill mean JCT s", "suanwang mean JCT s", "mean vs bf",
           "p99 wait vs bf", "max wait vs bf", "p99 queued vs bf", "max queued vs bf",
           "p99 JCT vs bf", "makespan vs bf",
           "util suanwang", "util bf", "ETTR suanwang", "ETTR bf", "preemptions suanwang",
           "lowest mean", "no-wait bound vs bf", "sjf-unguarded mean vs bf",
           "sjf-unguarded p99 wait vs bf", "sjf-unguarded max wait vs bf", "verdict"],
          [[r["case"], r["seed"], r["devices"], _n(r["policies"]["backfill"]["mean_jct_s"]),
            _n(r["policies"]["suanwang"]["mean_jct_s"]), *(r[k] for k in ratio),
            r["p99_queued_vs_backfill"], r["max_queued_vs_backfill"],
            r["p99_jct_vs_backfill"], r["makespan_vs_backfill"],
            r["policies"]["suanwang"]["utilization"], r["policies"]["backfill"]["utilization"],
            f'{r["policies"]["suanwang"]["ettr"]:.3f}', f'{r["policies"]["backfill"]["ettr"]:.3f}',
            r["policies"]["suanwang"]["preemptions"],
            "yes" if r["lowest_mean_jct"] else f"no ({r['best_other_mean_jct']})",
            r["no_wait_bound_vs_backfill"], *(r["sjf_unguarded"][k] for k in ratio),
            r["verdict"]] for r in rows])


def register(app: typer.Typer, bench: typer.Typer) -> None:
    """Add ``simulate`` to ``app`` and ``sim`` / ``sched`` to the ``bench`` group."""
    _register_simulate(app)
    _register_bench(bench)
