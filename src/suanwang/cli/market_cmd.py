"""Marketplace and lease commands against a running ``suanwang serve`` (docs/marketplace.md):
``suanwang products list|show|create|update|statement`` and ``suanwang lease
create|list|cancel``. They read ``SUANWANG_URL`` and ``SUANWANG_TOKEN`` like ``submit``; an HTTP
4xx (a 409 lease conflict names the earliest start that fits) is one line and exit code 2."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

import typer

from suanwang.cli.client_cmd import Client, JsonOpt, money
from suanwang.cli.output import CsvOpt, console, print_json, table
from suanwang.core.errors import ConfigError

products = typer.Typer(help="Browse, list and price marketplace products (software, models, "
                       "datasets).", no_args_is_help=True)
lease = typer.Typer(help="Lease dedicated capacity at a center for a time window.",
                    no_args_is_help=True)


def _product_rows(rows: list[dict]) -> list[list[Any]]:
    return [[p["name"], p["version"], p["kind"], p["title"],
             ", ".join(p["centers"]) or p["home_center"] or "",
             f"{p['price']} / {p['price_unit']}"] for p in rows]


@products.command("list")
def list_cmd(kind: Annotated[str | None, typer.Option(help="software | model | dataset")] = None,
             q: Annotated[str | None, typer.Option("--search", "-q",
                                                   help="Text in name/title/description.")] = None,
             center: Annotated[str | None, typer.Option(help="Installed or stored there.")] = None,
             mine: Annotated[bool, typer.Option(help="Only products I provide.")] = False,
             json_: JsonOpt = False,
             csv_: CsvOpt = False) -> None:
    """Products (latest versions), optionally filtered."""
    params = {k: v for k, v in (("kind", kind), ("q", q), ("center", center)) if v}
    if mine:
        params["mine"] = "true"
    doc = Client().call("GET", "/products", params=params)
    if json_:
        print_json(doc)
        return
    table("Products", ["name", "v", "kind", "title", "where", "price"],
          _product_rows(doc["data"]))


@products.command("show")
def show_cmd(name: str, json_: JsonOpt = False,
                        csv_: CsvOpt = False) -> None:
    """One product with its version history."""
    doc = Client().call("GET", f"/products/{name}")
    if json_:
        print_json(doc)
        return
    p = doc["product"]
    console.print(f"[bold]{p['name']}[/] v{p['version']} ({p['kind']}) {p['title']} "
                  f"{p['release']}\n{p['description']}", highlight=False)
    table("Versions", ["name", "v", "kind", "title", "where", "price"],
          _product_rows(doc["versions"]))


def _body(**kw: Any) -> dict:
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in kw.items()
            if v not in (None, [], "")}


@products.command("create")
def create_cmd(name: str,
               kind: Annotated[str, typer.Option(help="software | model | dataset")],
               price: Annotated[Decimal, typer.Option(help="Price per --price-unit.")],
               price_unit: Annotated[str, typer.Option(
                   help="use | node_hour | device_hour | gb")] = "node_hour",
               center: Annotated[list[str] | None, typer.Option(
                   "--center", help="Where software is installed (repeat).")] = None,
               home_center: Annotated[str | None, typer.Option(
                   help="Where a model/dataset is stored.")] = None,
               size_bytes: Annotated[int | None, typer.Option(min=0)] = None,
               title: str = "", release: str = "", description: str = "",
               json_: JsonOpt = False) -> None:
    """List a new product; you become its provider."""
    doc = Client().call("POST", "/products", json=_body(
        name=name, kind=kind, price=price, price_unit=price_unit, centers=center or [],
        home_center=home_center, size_bytes=size_bytes, title=title, release=release,
        description=description))
    if json_:
        print_json(doc)
    else:
        console.print(f"product {doc['name']} v{doc['version']} listed", highlight=False)


@products.command("update")
def update_cmd(name: str,
               price: Annotated[Decimal | None, typer.Option()] = None,
               price_unit: Annotated[str | None, typer.Option()] = None,
               center: Annotated[list[str] | None, typer.Option("--center")] = None,
               description: Annotated[str | None, typer.Option()] = None,
               json_: JsonOpt = False) -> None:
    """Add a version of your product (a price change is a new version)."""
    doc = Client().call("PATCH", f"/products/{name}", json=_body(
        price=price, price_unit=price_unit, centers=center, description=description))
    if json_:
        print_json(doc)
    else:
        console.print(f"product {doc['name']} v{doc['version']}", highlight=False)


@products.command("statement")
def statement_cmd(period: Annotated[str | None, typer.Option(help="YYYY-MM")] = None,
                  json_: JsonOpt = False,
                  csv_: CsvOpt = False) -> None:
    """What your products earned in a month."""
    doc = Client().call("GET", "/provider-statement", params={"period": period} if period
                        else {})
    if json_:
        print_json(doc)
        return
    table(f"Statement {doc['period']} ({doc['currency']})",
          ["product", "v", "kind", "lines", "quantity", "amount"],
          [[p["name"], p["version"], p["kind"], p["lines"], p["quantity"], p["amount"]]
           for p in doc["products"]] + [["total", "", "", "", "", doc["total"]]])


@products.command("seed")
def seed_cmd(db: Annotated[str | None, typer.Option(help="Database URL (default: "
                                                      "$SUANWANG_DB_URL or ~/.suanwang).")] = None
             ) -> None:
    """On the server host: add the demo provider, its five products and a WAN price."""
    from suanwang.catalog import load_federation
    from suanwang.store.db import default_url, make_engine, session_factory
    from suanwang.store.market_seed import seed_demo_products
    from suanwang.store.migrate import upgrade

    url = db or default_url()
    upgrade(url)
    with session_factory(make_engine(url), write=True)() as s:
        made = seed_demo_products(s, [c.name for c in load_federation().centers])
        s.commit()
    console.print(f"{made} demo product(s) added", highlight=False)


def _when(text: str | None, field: str) -> datetime:
    if not text:
        return datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"not an ISO 8601 time: {text!r}", field=field) from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


MAX_LEASE_HOURS = 87_600.0
"""Longest lease ``lease create --hours`` accepts: 10 years (87,600 h)."""


def _window(start: str | None, hours: float) -> tuple[datetime, datetime]:
    """(start, end) of a lease; ConfigError naming --hours or --start if either is out of
    range (more than MAX_LEASE_HOURS, or an end past datetime's year 9999)."""
    if not hours <= MAX_LEASE_HOURS:  # also NaN
        raise ConfigError(f"must be at most {MAX_LEASE_HOURS:,.0f} (10 years; got {hours:g})",
                          field="--hours")
    t0 = _when(start, "--start")
    try:
        return t0, t0 + timedelta(hours=hours)
    except OverflowError:
        raise ConfigError(f"start + {hours:g} h is past the year 9999 (got {t0.isoformat()})",
                          field="--start") from None


@lease.command("create")
def lease_create_cmd(center: Annotated[str, typer.Option()],
                     accelerator: Annotated[str, typer.Option()],
                     devices: Annotated[int, typer.Option(min=1)],
                     hours: Annotated[float, typer.Option(
                         min=0.01, help=f"Length (at most {MAX_LEASE_HOURS:,.0f}).")] = 24.0,
                     start: Annotated[str | None, typer.Option(
                         help="ISO 8601 (UTC if no zone); default: in a minute")] = None,
                     json_: JsonOpt = False) -> None:
    """Lease DEVICES of ACCELERATOR at CENTER for HOURS from START (billed whole)."""
    t0, t1 = _window(start, hours)
    doc = Client().call("POST", "/leases", json={
        "center": center, "accelerator": accelerator, "devices": devices,
        "start": t0.isoformat(), "end": t1.isoformat()})
    if json_:
        print_json(doc)
    else:
        console.print(f"lease {doc['id']}: {doc['devices']} x {doc['accelerator']} at "
                      f"{doc['center']} {doc['start']} .. {doc['end']}, "
                      f"{money(doc['amount'])} CNY", highlight=False, soft_wrap=True)


@lease.command("list")
def lease_list_cmd(json_: JsonOpt = False,
                   csv_: CsvOpt = False) -> None:
    """Your leases."""
    doc = Client().call("GET", "/leases")
    if json_:
        print_json(doc)
        return
    table("Leases", ["id", "center", "accelerator", "devices", "start", "end", "state",
                     "amount CNY"],
          [[x["id"], x["center"], x["accelerator"], x["devices"], x["start"][:16],
            x["end"][:16], x["state"], money(x["amount"])] for x in doc["data"]])


@lease.command("cancel")
def lease_cancel_cmd(lease_id: Annotated[int, typer.Argument(min=1)],
                     json_: JsonOpt = False) -> None:
    """Cancel a lease (refunded before its start; ends now after it)."""
    doc = Client().call("POST", f"/leases/{lease_id}/cancel")
    if json_:
        print_json(doc)
    else:
        console.print(f"lease {doc['id']}: {doc['state']}", highlight=False)


@lease.command("impact")
def lease_impact_cmd(
        tenant: Annotated[str, typer.Option(help="Lease holder (a trace tenant, e.g. t0).")]
        = "t0",
        lease_devices: Annotated[int, typer.Option(min=1, help="Devices leased.")] = 128,
        start_h: Annotated[float, typer.Option(min=0, help="Lease start (trace hours).")] = 0.0,
        hours: Annotated[float | None, typer.Option(min=0.01, help="Lease length (default: "
                                                    "the whole trace).")] = None,
        jobs: Annotated[int, typer.Option(min=10, max=1_000_000)] = 2000,
        devices: Annotated[int, typer.Option(min=8, help="Cluster devices.")] = 512,
        load: Annotated[float, typer.Option(min=0.05, max=2.0)] = 0.8,
        policy: Annotated[str, typer.Option(help="Inner scheduling policy.")] = "fifo",
        seed: int = 0, json_: JsonOpt = False,
                       csv_: CsvOpt = False) -> None:
    """Simulate a synthetic trace without and with a lease: what it saves the holder and
    costs the other tenants in wait time (sim.leases)."""
    from suanwang.sched.registry import get_policy
    from suanwang.sim.cluster import homogeneous
    from suanwang.sim.leases import SimLease, lease_impact
    from suanwang.sim.traces.synthetic import synthetic_llm

    get_policy(policy)
    w = synthetic_llm(jobs, devices, seed=seed, load=load)
    if w.tenants is not None and tenant not in w.tenants:
        raise ConfigError(f"no tenant {tenant!r} in the trace ({', '.join(w.tenants[:4])}, ...)",
                          field="tenant")
    c = homogeneous(devices)
    end = float(w.submit_s[-1]) if hours is None else start_h * 3600 + hours * 3600
    doc = lease_impact(w, c, lambda: get_policy(policy), [SimLease(
        tenant=tenant, pool=c.pools[0].name, devices=lease_devices, start_s=start_h * 3600,
        end_s=end)])
    if json_:
        print_json(doc)
        return
    rows = [[label, who, doc[label][who]["jobs"], f"{doc[label][who]['mean_wait_s'] / 3600:.1f}",
             f"{doc[label][who]['p99_wait_s'] / 3600:.1f}",
             f"{doc[label][who]['mean_jct_s'] / 3600:.1f}"]
            for label in ("without", "with") for who in ("holders", "others")]
    table(f"Lease of {lease_devices}/{devices} devices for {tenant} ({doc['policy']})",
          ["run", "jobs of", "jobs", "mean wait h", "p99 wait h", "mean JCT h"], rows)
    console.print(f"others wait {doc['others_extra_mean_wait_s'] / 3600:+.1f} h and finish "
                  f"{doc['others_extra_mean_jct_s'] / 3600:+.1f} h later on average; "
                  f"the holder saves {doc['holders_mean_wait_saved_s'] / 3600:.1f} h; "
                  f"{doc['with']['preemptions']} preemption(s)", highlight=False)


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.add_typer(products, name="products")
    app.add_typer(lease, name="lease")
