"""``suanwang simulate``: replay a trace under several policies side by side;
``suanwang bench sim``: the simulator's speed benchmark (1M jobs, 100K GPUs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from suanwang.cli.output import console, print_json, table

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _cluster(federation: Path | None, cluster_gpus: int | None):
    from suanwang.core.errors import ConfigError
    from suanwang.sim.cluster import homogeneous, load_cluster

    if (federation is None) == (cluster_gpus is None):
        raise ConfigError("give exactly one of --federation FILE or --cluster-gpus N",
                          field="federation")
    if cluster_gpus is not None:
        return homogeneous(cluster_gpus)
    if federation.suffix.lower() == ".csv":
        from suanwang.sim.traces.alibaba2023 import load_alibaba_nodes

        return load_alibaba_nodes(federation)
    if str(federation) == "demo":
        return load_cluster(None)
    return load_cluster(str(federation))


def _workload(trace: Path | None, fmt: str, jobs: int, devices: int, seed: int, centers,
              models: bool, max_size: int):
    from suanwang.core.errors import ConfigError
    from suanwang.sim.traces import load_trace
    from suanwang.sim.traces.synthetic import synthetic_llm

    if fmt == "synthetic":
        return synthetic_llm(jobs, devices, seed=seed, centers=centers, with_models=models,
                             max_size=max_size)
    if trace is None:
        raise ConfigError(f"--trace FILE is required for --trace-format {fmt}", field="trace")
    return load_trace(trace, fmt)


def register(app: typer.Typer, bench: typer.Typer) -> None:
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
            "--cluster-gpus", help="One homogeneous cluster of N devices, 8 per node.")] = None,
        policy: Annotated[str, typer.Option(
            "--policy", help="Comma-separated: fifo,backfill,fairshare,priority,suanwang")
        ] = "fifo,backfill,suanwang",
        json_: JsonOpt = False,
        plot: Annotated[Path | None, typer.Option(
            "--plot", help="Write JCT CDF and utilization plots into this folder.")] = None,
        failures: Annotated[bool, typer.Option(
            "--failures/--no-failures", help="Draw failures from the reliability model.")
        ] = False,
        estimator: Annotated[str, typer.Option(
            "--estimator", help="history (online, default) | oracle (true run times: "
            "calibration against published perfect-knowledge numbers only)")] = "history",
        jobs: Annotated[int, typer.Option(
            "--jobs", help="Jobs for --trace-format synthetic.")] = 10000,
        models: Annotated[bool, typer.Option(
            "--models/--no-models", help="Synthetic jobs name the model they train, so each "
            "job's speed per accelerator comes from the planner's throughput model.")] = True,
        sched_interval: Annotated[float, typer.Option(
            "--sched-interval", help="Seconds between policy calls (0 = after every event).")
        ] = 0.0,
        seed: Annotated[int, typer.Option("--seed")] = 0,
    ) -> None:
        """Replay a trace under each policy; one row per policy (JCT, wait, utilization...)."""
        from suanwang.core.errors import ConfigError
        from suanwang.sched.registry import get_policy
        from suanwang.sim.engine import SimOptions, simulate

        if estimator not in ("history", "oracle"):
            raise ConfigError("use history or oracle", field="estimator")
        names = [p.strip() for p in policy.split(",") if p.strip()]
        policies = [get_policy(n) for n in names]
        cluster = _cluster(federation, cluster_gpus)
        centers = sorted({p.center for p in cluster.pools})
        workload = _workload(trace, trace_format, jobs, cluster.devices, seed, centers, models,
                             max(p.devices for p in cluster.pools))
        results = []
        from rich.progress import Progress

        with Progress(console=console, transient=True, disable=json_) as progress:
            for pol in policies:
                task = progress.add_task(f"{pol.name}", total=len(workload))
                opts = SimOptions(estimator=estimator, failures=failures, seed=seed,
                                  timeline=plot is not None, sched_interval_s=sched_interval,
                                  progress=lambda i, task=task: progress.update(task,
                                                                                completed=i))
                results.append(simulate(workload, cluster, pol, opts))
                progress.update(task, completed=len(workload))
        if plot is not None:
            from suanwang.sim.plots import write_plots

            paths = write_plots(results, plot, title=f"({workload.name}, {cluster.name})")
        if json_:
            print_json({"trace": workload.name, "cluster": cluster.name,
                        "devices": cluster.devices, "estimator": estimator,
                        "policies": {r.policy: r.to_dict() for r in results}})
            return
        def n(v: float) -> str:
            return f"{v:,.0f}"

        rows = [[r.policy, n(r.mean_jct_s), n(r.p50_jct_s), n(r.p99_jct_s), n(r.mean_wait_s),
                 f"{r.utilization:.3f}", n(r.makespan_s), f"{r.ettr:.3f}", n(r.cost),
                 n(r.energy_kwh), f"{r.preemptions}/{r.failures}", f"{r.finished}/{r.jobs}"]
                for r in results]
        table(f"{workload.name} on {cluster.name} ({cluster.devices} devices, "
              f"{estimator} estimates)",
              ["policy", "mean JCT s", "p50 JCT s", "p99 JCT s", "mean wait s", "util",
               "makespan s", "ETTR", f"cost {cluster.currency}".strip(), "energy kWh",
               "preempt/fail", "finished"], rows)
        for note in workload.notes:
            console.print(f"note: {note}", style="dim")
        dropped = max(r.constraints_dropped for r in results)
        if dropped:
            console.print(f"note: {dropped} jobs asked only for accelerator types this cluster "
                          "lacks; their constraint was dropped", style="dim")
        rejected = max(r.rejected for r in results)
        if rejected:
            console.print(f"note: {rejected} jobs need more devices than any one pool has and "
                          "were rejected", style="dim")
        if plot is not None:
            console.print("plots: " + ", ".join(str(p) for p in paths), style="dim")

    @bench.command("sim")
    def bench_sim_cmd(
        json_: JsonOpt = False,
        jobs: Annotated[int, typer.Option("--jobs")] = 1_000_000,
        gpus: Annotated[int, typer.Option("--gpus")] = 100_000,
        policy: Annotated[str, typer.Option("--policy")] = "suanwang",
        load: Annotated[float, typer.Option("--load", help="Offered load.")] = 0.9,
        sched_interval: Annotated[float, typer.Option(
            "--sched-interval", help="Seconds between policy calls (0 = every event).")] = 0.0,
        seed: Annotated[int, typer.Option("--seed")] = 0,
    ) -> None:
        """Replay synthetic LLM jobs over a scaled federation (target: 1M jobs, 100K GPUs,
        <= 60 s)."""
        from suanwang.sim.bench import bench_sim

        res = bench_sim(jobs=jobs, gpus=gpus, policy=policy, seed=seed, load=load,
                        sched_interval_s=sched_interval)
        if json_:
            print_json(res)
            return
        table("bench sim", ["jobs", "gpus", "policy", "wall s", "events/s", "target s", "ok"],
              [[res["jobs"], res["gpus"], res["policy"], res["wall_s"], res["events_per_s"],
                res["target_wall_s"], res["meets_target"]]])

    @bench.command("sched")
    def bench_sched_cmd(
        json_: JsonOpt = False,
        traces: Annotated[Path, typer.Option(
            "--traces", help="Folder with the shipped traces.")] = Path("../shared/data/traces"),
    ) -> None:
        """suanwang vs FIFO and EASY backfill on workloads it was not tuned on (ratios)."""
        from suanwang.sim.robustness import robustness

        rows = robustness(traces if traces.is_dir() else None,
                          progress=None if json_ else (lambda n: console.print(f"done: {n}",
                                                                               style="dim")))
        if json_:
            print_json({"cases": rows})
            return
        table("suanwang vs baselines (ratios < 1 are better)",
              ["case", "fifo JCT s", "backfill JCT s", "suanwang JCT s", "vs backfill",
               "vs fifo", "makespan vs bf", "p99 vs bf", "finished"],
              [[r["case"], f"{r['fifo_mean_jct_s']:,.0f}", f"{r['backfill_mean_jct_s']:,.0f}",
                f"{r['suanwang_mean_jct_s']:,.0f}", f"{r['jct_vs_backfill']:.2f}",
                f"{r['jct_vs_fifo']:.2f}", f"{r['makespan_vs_backfill']:.3f}",
                f"{r['p99_vs_backfill']:.2f}", f"{r['finished']}/{r['jobs']}"] for r in rows])
