"""``suanwang controller`` (the control loop alone) and ``suanwang bench control``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def controller(
    db: Annotated[str | None, typer.Option(help="Database URL (default $SUANWANG_DB_URL or "
                                                "sqlite $SUANWANG_HOME/suanwang.db).")] = None,
    federation: Annotated[str | None, typer.Option(help="Federation file (default: the "
                                                        "packaged demo federation).")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Attempt state and run directories "
                                                       "(default $SUANWANG_HOME).")] = None,
    tick_s: Annotated[float, typer.Option(min=0.05, help="Seconds between ticks.")] = 1.0,
    policy: Annotated[str, typer.Option(help="Scheduling policy (sched registry).")] = "suanwang",
    sim_speedup: Annotated[float, typer.Option(min=1e-3, help="Virtual seconds per wall "
                                                              "second on sim centers.")] = 60.0,
    retry: Annotated[str, typer.Option(help="retry_same | failover")] = "retry_same",
    max_attempts: Annotated[int, typer.Option(min=1, help="Failed attempts per job.")] = 3,
    slurm: Annotated[bool, typer.Option(help="Use Slurm for slurm centers when reachable "
                                             "(else they run as sim).")] = True,
) -> None:
    """Run the control loop until Ctrl-C: admit, schedule, dispatch, follow, recover, bill."""
    import logging
    import signal
    import threading

    from suanwang.catalog import load_federation
    from suanwang.control.recovery import RetryPolicy
    from suanwang.control.runner import run_controller
    from suanwang.sched.registry import get_policy
    from suanwang.store.db import default_url, home_dir

    RetryPolicy(mode=retry, max_attempts=max_attempts)  # bad values: one line, exit 2
    get_policy(policy)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    url = db or default_url()
    typer.echo(f"controller: db {url}, policy {policy}, tick {tick_s}s (Ctrl-C stops)")
    try:
        run_controller(db_url=url, federation=load_federation(federation),
                       data_dir=data_dir or home_dir(), stop=stop, tick_s=tick_s, policy=policy,
                       sim_speedup=sim_speedup, retry=retry, max_attempts=max_attempts,
                       slurm=slurm)
    except KeyboardInterrupt:
        stop.set()


def bench_control(
    pending: Annotated[int, typer.Option(min=1, max=10_000_000,
                                         help="Jobs submitted at once.")] = 1000,
    running: Annotated[int, typer.Option(min=1, max=10_000_000,
                                         help="Jobs running at once.")] = 10_000,
    ticks: Annotated[int, typer.Option(min=1, max=10_000,
                                       help="Ticks timed at full load.")] = 5,
    policy: Annotated[str, typer.Option(help="Scheduling policy.")] = "suanwang",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Controller benchmark: submit->dispatch p95, tick time and RSS with N jobs running."""
    import logging

    from suanwang.catalog import load_federation
    from suanwang.control.bench import run_bench

    logging.getLogger("suanwang.control").setLevel(logging.ERROR)
    out = run_bench(load_federation(), pending=pending, running=running, ticks=ticks,
                    policy=policy)
    if as_json:
        typer.echo(json.dumps(out, indent=1))
        return
    for k, v in out.items():
        typer.echo(f"{k:>16}: {v}")


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.command("controller")(controller)
    bench.command("control")(bench_control)
