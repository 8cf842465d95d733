"""``suanwang serve`` (API + controller + dashboard) and ``suanwang tenants`` (server host)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from suanwang.cli.output import CsvOpt, console, print_json

tenants = typer.Typer(help="Tenants on this server host (writes the database directly).",
                      no_args_is_help=True)
DbOpt = Annotated[str | None, typer.Option("--db", help="Database URL (sqlite:///FILE or "
                                           "postgresql://...); default $SUANWANG_DB_URL or "
                                           "$SUANWANG_HOME/suanwang.db.")]


def serve_cmd(
    db: DbOpt = None,
    federation: Annotated[Path | None, typer.Option(help="Federation YAML (default: demo).")]
    = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    no_controller: Annotated[bool, typer.Option("--no-controller", help="Serve the API only "
                                                "(run `suanwang controller` apart).")] = False,
    data_dir: Annotated[Path | None, typer.Option(help="Where attempts run (default "
                                                  "$SUANWANG_HOME/runs).")] = None,
    tick_s: Annotated[float, typer.Option(min=0.05, help="Controller tick (s).")] = 1.0,
    sim_speedup: Annotated[float, typer.Option(min=0.001, help="Virtual seconds per wall "
                                               "second on simulated centers.")] = 60.0,
    workers: Annotated[int, typer.Option(min=1, max=64, help="API worker processes (the "
                                         "controller runs once, in the parent).")] = 1,
) -> None:
    """Run the platform: REST API under /api/v1, the controller in a thread, the dashboard at /.

    Migrates the database first. Stop with Ctrl-C (the controller finishes its tick)."""
    import threading

    import uvicorn

    from suanwang.api.app import create_app
    from suanwang.catalog import load_federation
    from suanwang.store.db import default_url, home_dir
    from suanwang.store.migrate import upgrade

    url = db or default_url()
    upgrade(url)
    fed = load_federation(federation)
    if workers == 1:
        app = create_app(url, federation=fed)
    else:  # each worker process builds its own app from the environment (api.app.app_from_env)
        _sync_centers(url, fed)
        os.environ.update({"SUANWANG_SERVE_DB": url,
                           "SUANWANG_SERVE_FEDERATION": str(federation or "")})
        app = "suanwang.api.app:app_from_env"
    stop = threading.Event()
    ctl = None
    if not no_controller:
        ctl = _start_controller(url, fed, data_dir or home_dir() / "runs", stop, tick_s,
                                sim_speedup)
    console.print(f"suanwang serving http://{host}:{port}/api/v1 on {_safe(url)}"
                  f"{'' if ctl else ' (no controller)'}", highlight=False)
    try:
        uvicorn.run(app, host=host, port=port, log_level=os.environ.get("SUANWANG_LOG", "warning"),
                    access_log=False, workers=workers, factory=workers > 1)
    finally:
        stop.set()
        if ctl is not None:
            ctl.join(timeout=30)


def _sync_centers(url: str, fed) -> None:
    from suanwang.store.centers import sync_centers
    from suanwang.store.db import make_engine, session_factory

    engine = make_engine(url)
    with session_factory(engine, write=True)() as s:
        sync_centers(s, fed)
        s.commit()
    engine.dispose()


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _start_controller(url: str, fed, data_dir: Path, stop, tick_s: float, sim_speedup: float):
    """The controller in a daemon thread (None, with a warning, if it is not installed)."""
    import threading

    try:
        from suanwang.control.runner import run_controller
    except ImportError as exc:
        console.print(f"[yellow]controller not available ({exc}); serving the API only[/]")
        return None
    thread = threading.Thread(
        target=run_controller, name="suanwang-controller", daemon=True,
        kwargs={"db_url": url, "federation": fed, "data_dir": data_dir, "stop": stop,
                "tick_s": tick_s, "sim_speedup": sim_speedup})
    thread.start()
    return thread


@tenants.command("create")
def tenants_create(
    name: Annotated[str, typer.Argument(help="Tenant name (letters, digits, . _ -).")],
    db: DbOpt = None,
    balance: Annotated[str, typer.Option(help="Initial prepaid balance (<= 4 decimals).")] = "0",
    admin: Annotated[bool, typer.Option("--admin", help="May use /api/v1/admin.")] = False,
    max_devices: Annotated[int, typer.Option(min=0, help="Quota: devices in use at once "
                                             "(0 = unlimited).")] = 0,
    json_: Annotated[bool, typer.Option("--json", help="Print {tenant, token} as JSON.")]
    = False,
) -> None:
    """Create a tenant and print its API token (shown once; only its hash is stored)."""
    from suanwang.store.db import default_url, make_engine, session_factory
    from suanwang.store.migrate import upgrade
    from suanwang.store.tenants import create_tenant

    amount = _money(balance)
    _check_name(name)
    url = db or default_url()
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_factory(engine, write=True)() as s:
            tenant, token = create_tenant(s, name, balance=amount, is_admin=admin,
                                          max_devices=max_devices)
            s.commit()
            doc = {"tenant": {"id": tenant.id, "name": tenant.name, "is_admin": admin,
                              "balance": str(amount)}, "token": token}
    finally:
        engine.dispose()
    if json_:
        print_json(doc)
    else:
        console.print(f"tenant {name} (id {doc['tenant']['id']}), balance {amount}\n"
                      f"token (shown once): {token}", highlight=False)


@tenants.command("token")
def tenants_token(
    name: Annotated[str, typer.Argument(help="Tenant name.")],
    db: DbOpt = None,
    revoke_old: Annotated[bool, typer.Option("--revoke-old", help="Revoke the tenant's other "
                                             "tokens (a lost or leaked token).")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print {tenant, token} as JSON.")]
    = False,
) -> None:
    """Issue a new API token for a tenant (shown once), optionally revoking the old ones.
    A revoked token may keep working up to 5 s in a running server (its token cache)."""
    from suanwang.core.errors import NotFoundError
    from suanwang.store.db import default_url, make_engine, session_factory
    from suanwang.store.migrate import upgrade
    from suanwang.store.tenants import get_tenant, issue_token, revoke_tokens

    url = db or default_url()
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_factory(engine, write=True)() as s:
            tenant = get_tenant(s, name)
            if tenant is None:
                raise NotFoundError(f"no tenant {name!r} (suanwang tenants list)")
            revoked = revoke_tokens(s, tenant.id) if revoke_old else 0
            token = issue_token(s, tenant.id)
            s.commit()
            doc = {"tenant": {"id": tenant.id, "name": tenant.name}, "token": token,
                   "revoked": revoked}
    finally:
        engine.dispose()
    if json_:
        print_json(doc)
    else:
        console.print(f"tenant {name}: new token (shown once): {token}"
                      f"{f'; {revoked} old token(s) revoked' if revoke_old else ''}",
                      highlight=False)


@tenants.command("list")
def tenants_list(db: DbOpt = None,
                 json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
                 csv_: CsvOpt = False,
                 ) -> None:
    """Tenants with their balances."""
    from sqlalchemy import select

    from suanwang.cli.output import table
    from suanwang.store.db import default_url, make_engine, session_factory
    from suanwang.store.migrate import upgrade
    from suanwang.store.models import Balance, Tenant

    url = db or default_url()
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine)() as s:
        rows = s.execute(select(Tenant, Balance).join(Balance, Balance.tenant_id == Tenant.id)
                         .order_by(Tenant.id)).all()
        docs = [{"id": t.id, "name": t.name, "is_admin": t.is_admin, "balance": str(b.amount),
                 "held": str(b.held)} for t, b in rows]
    engine.dispose()
    if json_:
        print_json(docs)
        return
    table("Tenants", ["id", "name", "admin", "balance", "held"],
          [[d["id"], d["name"], d["is_admin"], d["balance"], d["held"]] for d in docs])


def _money(text: str):
    from decimal import Decimal, DecimalException

    from suanwang.core.errors import ConfigError
    from suanwang.store.tenants import MAX_AMOUNT, check_amount

    try:
        value = Decimal(text)
        return check_amount(value)
    except DecimalException:  # 1e400: quantize overflows the context
        raise ConfigError(f"not a number between 0 and {MAX_AMOUNT} with at most 4 decimals: "
                          f"{text!r}", field="--balance") from None


def _check_name(name: str) -> None:
    import re

    from suanwang.core.errors import ConfigError
    from suanwang.core.jobspec import NAME_PATTERN

    if not re.match(NAME_PATTERN, name):
        raise ConfigError(f"1-63 letters, digits, '.', '_' or '-' (got {name!r})", field="NAME")




def bench_api_cmd(
    db: Annotated[str, typer.Option(help="sqlite | postgres | both (side by side).")] = "both",
    clients: Annotated[int, typer.Option(min=1, max=1024, help="Concurrent connections.")] = 64,
    duration_s: Annotated[float, typer.Option(min=1, help="Seconds per phase (submit, read).")]
    = 60.0,
    tenants: Annotated[int, typer.Option(min=1, max=1000, help="Tenants the clients act "
                                         "as.")] = 8,
    workers: Annotated[int | None, typer.Option(min=1, max=64, help="Server worker processes "
                                                "(default: the number of CPUs).")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    csv_: CsvOpt = False,
) -> None:
    """API throughput: accepted submissions/s, reads/s, p99 latency and errors of one
    `suanwang serve` (no controller) under N concurrent clients, on SQLite and PostgreSQL."""
    from suanwang.api.bench import run_bench
    from suanwang.core.errors import ConfigError

    choices = {"sqlite": ("sqlite",), "postgres": ("postgres",), "both": ("sqlite", "postgres")}
    if db not in choices:
        raise ConfigError(f"must be sqlite, postgres or both (got {db!r})", field="--db")
    repo = Path(__file__).resolve().parents[3]
    out = run_bench(databases=choices[db], clients=clients, duration_s=duration_s,
                    tenants=tenants, repo=repo, workers=workers or os.cpu_count() or 1)
    if json_:
        print_json(out)
        return
    from suanwang.cli.output import table

    rows = [[name, r.get("submit_per_s"), r.get("read_per_s"), r.get("p50_ms"), r.get("p99_ms"),
             r.get("errors", r.get("error"))] for name, r in out.items() if isinstance(r, dict)]
    table(f"bench api: {clients} clients, {duration_s:g} s per phase",
          ["database", "submit/s", "read/s", "p50 ms", "p99 ms", "errors"], rows)


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.command("serve")(serve_cmd)
    app.add_typer(tenants, name="tenants")
    bench.command("api")(bench_api_cmd)
