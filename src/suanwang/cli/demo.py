"""``make demo``: the platform on embedded defaults, end to end, in one command.

Starts the store (a fresh SQLite file under ``.demo/``), the controller (demo federation:
``local`` runs real processes, the other centers are simulated; ``beijing-ai`` is Slurm in the
file and runs as sim when no Slurm answers — the demo says so) and the API + dashboard on
http://127.0.0.1:8765. Creates a tenant, submits the tiny training job (examples/jobs/
tiny-local.yaml), a CPU batch job and a training job the planner places on a simulated center;
shows progress live (Rich); kills the training attempt's process tree once (kill -9: a node
failure) and shows the controller's recovery from the latest checkpoint; prints the invoice
lines; then keeps serving until Ctrl-C (``--exit-when-done`` stops instead). The dashboard URL is
printed with the demo tenant's whole token (to sign in; also in ``HOME/tenant-token``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from suanwang.cli.output import fitted_table

ROOT = Path(__file__).resolve().parents[3]
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")
SIM_JOB = {"kind": "training", "name": "gpt-1.7b-sim", "model": "gpt-1.7b", "tokens": 2e10,
           "global_batch": 512, "constraints": {"exclude_centers": ["local"],
                                                "max_devices": 64}}
console = Console()


def _table(R, ids) -> Table:
    from suanwang.store import jobs as repo

    rows = []
    with R() as s:
        for i in ids:
            j = repo.get_job(s, i, tenant_id=None)
            atts = repo.attempts(s, i)
            ms = repo.metrics(s, i, limit=100000)
            where = f"{atts[-1].center} ({atts[-1].backend})" if atts else "-"
            rows.append([str(i), j.name, j.state, j.reason or "", where, str(len(atts)),
                         str(ms[-1].step) if ms else "", f"{ms[-1].loss:.3f}" if ms else ""])
    # fitted: at 80 columns cells fold at word boundaries instead of shrinking to one letter
    return fitted_table("jobs (live from the store)", ["id", "name", "state", "reason", "where",
                                                       "attempts", "step", "loss"], rows)


def _inject(R, job_id: int) -> str | None:
    """kill -9 the running attempt's whole process tree once it has a checkpoint."""
    from suanwang.store import jobs as repo

    with R() as s:
        atts = repo.attempts(s, job_id)
        if not atts or atts[-1].state != "RUNNING" or not atts[-1].handle:
            return None
        if int(atts[-1].detail.get("checkpoints", 0)) < 1:
            return None
        pid = int(atts[-1].handle["native_id"])
    os.killpg(pid, signal.SIGKILL)
    return f"injected a node failure: kill -9 of attempt {atts[-1].n} (process group {pid})"


def _invoice(R, tenant_id: int) -> Table:
    from suanwang.store.models import InvoiceLine

    with R() as s:
        rows = [[str(ln.job_id), ln.kind, ln.description, str(ln.quantity), str(ln.unit_price),
                 str(ln.amount)]
                for ln in s.query(InvoiceLine).filter(InvoiceLine.tenant_id == tenant_id).all()]
    return fitted_table("invoice lines", ["job", "kind", "description", "quantity",
                                          "unit price", "amount"], rows)


def _serve(url: str, fed, port: int) -> str:
    try:
        import uvicorn

        from suanwang.api.app import create_app
    except ImportError as exc:
        return f"API not started ({exc})"
    server = uvicorn.Server(uvicorn.Config(create_app(url, federation=fed), host="127.0.0.1",
                                           port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    return f"API + dashboard: http://127.0.0.1:{port}/"


def _start(home: Path, port: int):
    """Fresh store, controller thread, API thread; returns (url, read, write, stop, thread)."""
    import logging

    from suanwang.catalog import load_federation
    from suanwang.control.runner import run_controller
    from suanwang.store.db import make_engine, session_factory
    from suanwang.store.migrate import upgrade

    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    url = f"sqlite:///{home / 'suanwang.db'}"
    fed = load_federation()
    upgrade(url)
    engine = make_engine(url)
    stop = threading.Event()
    logging.basicConfig(level=logging.WARNING, format="[controller] %(message)s")
    ctl = threading.Thread(target=run_controller, daemon=True, kwargs={
        "db_url": url, "federation": fed, "data_dir": home, "stop": stop, "tick_s": 0.5,
        "sim_speedup": 3600.0})
    ctl.start()
    console.print(f"[bold]store[/] {url}\n[bold]controller[/] started (policy suanwang; local "
                  "= real processes, other centers simulated 3600x faster)")
    console.print(_serve(url, fed, port))
    return session_factory(engine), session_factory(engine, write=True), stop, ctl


def sign_in(port: int, token: str, home: Path) -> str:
    """The line that lets a person sign in to the dashboard: URL + the demo tenant's whole
    token (a local demo tenant; the token is also written to ``HOME/tenant-token``, mode 0600,
    for scripts)."""
    path = home / "tenant-token"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    return (f"dashboard: http://127.0.0.1:{port}/  sign in with the token of tenant demo-lab: "
            f"{token}  (also in {path})")


def _submit(W) -> tuple[int, list[int], str]:
    from suanwang.core.jobspec import load_job_spec, spec_to_dict
    from suanwang.store import jobs as repo
    from suanwang.store.tenants import create_tenant

    with W() as s:
        tenant, token = create_tenant(s, "demo-lab", balance=Decimal(100000))
        specs = [spec_to_dict(load_job_spec(ROOT / "examples/jobs/tiny-local.yaml")),
                 spec_to_dict(load_job_spec(ROOT / "examples/jobs/batch-cpu.yaml")),
                 spec_to_dict(load_job_spec(SIM_JOB))]
        ids = [j.id for j in repo.create_jobs(s, [(tenant.id, sp) for sp in specs])]
        from suanwang.catalog import load_federation
        from suanwang.store.market_seed import seed_demo_products

        seed_demo_products(s, [c.name for c in load_federation().centers])  # marketplace
        s.commit()
    console.print(f"tenant [bold]demo-lab[/] (balance 100000 CNY); submitted jobs {ids}")
    return tenant.id, ids, token


def _watch(R, ids: list[int], timeout_s: float = 900.0) -> None:
    """Live table until every job ended; injects the node failure into the first job."""
    from suanwang.store import jobs as repo

    injected = None
    t0 = time.time()
    with Live(_table(R, ids), console=console, refresh_per_second=2) as live:
        while time.time() - t0 < timeout_s:
            time.sleep(0.5)
            live.update(_table(R, ids))
            if injected is None and (injected := _inject(R, ids[0])):
                console.print(f"[red]{injected}[/]")
            with R() as s:
                done = all(repo.get_job(s, i, tenant_id=None).state in TERMINAL for i in ids)
            if done:
                live.update(_table(R, ids))  # the final states, not the previous refresh
                return


def _recovery(R, job_id: int) -> None:
    from suanwang.store import jobs as repo

    with R() as s:
        for e in repo.events(s, job_id):
            if e.from_state != e.to_state:
                console.print(f"  job {job_id}: {e.from_state or '-'} -> {e.to_state} "
                              f"({e.reason})")
        for a in repo.attempts(s, job_id):
            d = a.detail or {}
            console.print(f"  attempt {a.n} on {a.center}: started from "
                          f"{100 * float(d.get('progress_at_start', 0)):.0f}% of the work, "
                          f"ended {a.state}"
                          f"{' (' + d['reason'] + ')' if d.get('reason') else ''}, checkpointed "
                          f"{100 * float(d.get('progress', 0)):.0f}%")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m suanwang.cli.demo")
    ap.add_argument("--exit-when-done", action="store_true",
                    help="stop once every job ended (scripts, tests)")
    ap.add_argument("--home", default=".demo", help="data directory (wiped first)")
    ap.add_argument("--port", type=int, default=8765)
    args = ap.parse_args(argv)
    from suanwang.store import jobs as repo

    t0 = time.time()
    home = Path(args.home).resolve()
    R, W, stop, ctl = _start(home, args.port)
    tenant_id, ids, token = _submit(W)
    login = sign_in(args.port, token, home)
    console.print(escape(login), soft_wrap=True)  # never wrapped: the token stays copyable
    _watch(R, ids)
    _recovery(R, ids[0])
    with R() as s:
        ok = all(repo.get_job(s, i, tenant_id=None).state == "SUCCEEDED" for i in ids)
    console.print(_invoice(R, tenant_id))
    console.print(f"[bold green]demo done[/] in {time.time() - t0:.0f} s" if ok
                  else "[bold red]a job did not succeed[/]")
    if not args.exit_when_done:
        console.print(escape(f"serving the API; {login}; Ctrl-C stops"), soft_wrap=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    stop.set()
    ctl.join(timeout=5)
    return 0 if ok else 1


def run() -> int:
    """``main`` with Ctrl-C ending the demo quietly at any point."""
    try:
        return main()
    except KeyboardInterrupt:
        console.print("stopped")
        return 130


if __name__ == "__main__":
    sys.exit(run())
