"""Client commands against a running ``suanwang serve``: submit, jobs, show, logs, cancel,
usage, bill, balance. They read ``SUANWANG_URL`` (default http://127.0.0.1:8000) and
``SUANWANG_TOKEN``; an HTTP 4xx becomes one line naming the problem and exit code 2."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from suanwang.cli.output import CsvOpt, console, print_json, table
from suanwang.core.errors import ConfigError, NotFoundError, SuanwangError

DEFAULT_URL = "http://127.0.0.1:8000"
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


class Client:
    """A thin HTTP client of /api/v1 (httpx, imported lazily)."""

    def __init__(self, url: str | None = None, token: str | None = None) -> None:
        import httpx

        self.url = (url or os.environ.get("SUANWANG_URL") or DEFAULT_URL).rstrip("/")
        token = token or os.environ.get("SUANWANG_TOKEN")
        if not token:
            raise ConfigError("set SUANWANG_TOKEN to a token from `suanwang tenants create`",
                              field="SUANWANG_TOKEN")
        self.http = httpx.Client(base_url=self.url + "/api/v1", timeout=30,
                                 headers={"Authorization": f"Bearer {token}"})

    def call(self, method: str, path: str, **kw) -> Any:
        import httpx

        try:
            r = self.http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise SuanwangError(f"cannot reach {self.url} ({exc}); is `suanwang serve` running "
                                "and SUANWANG_URL right?") from None
        if r.status_code == 404:
            detail = _detail(r) if _is_json(r) else ""
            if not detail or detail == "Not Found":  # no route: not a suanwang API at all
                raise ConfigError(f"no suanwang API at {self.url} (HTTP 404 for /api/v1{path}); "
                                  "check SUANWANG_URL")
            raise NotFoundError(detail)
        if r.status_code == 422:
            body = r.json()
            raise ConfigError(body.get("message") or _detail(r))
        if r.status_code in (401, 403):
            raise ConfigError(f"{_detail(r)} (check SUANWANG_TOKEN)", field="SUANWANG_TOKEN")
        if r.status_code >= 400:
            raise SuanwangError(f"server answered {r.status_code}: {_detail(r)}")
        return r.json()


def _is_json(r) -> bool:
    return r.headers.get("content-type", "").startswith("application/json")


def _detail(r) -> str:
    try:
        d = r.json().get("detail")
    except ValueError:
        return r.text[:200]
    return d if isinstance(d, str) else str(d)[:300]


def submit_cmd(spec: Annotated[Path, typer.Argument(help="Job spec YAML (docs/platform.md).")],
               json_: JsonOpt = False) -> None:
    """Submit a job spec; prints the job id and state."""
    from suanwang.core.jobspec import load_job_spec, spec_to_dict

    body = spec_to_dict(load_job_spec(spec))
    job = Client().call("POST", "/jobs", json=body)
    if json_:
        print_json(job)
    else:
        console.print(f"job {job['id']} {job['name']}: {job['state']}", highlight=False)


def jobs_cmd(state: Annotated[str | None, typer.Option(help="Only jobs in this state.")] = None,
             limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
             json_: JsonOpt = False, csv_: CsvOpt = False) -> None:
    """Your jobs, newest first."""
    params: dict[str, Any] = {"limit": limit}
    if state:
        params["state"] = state.upper()
    doc = Client().call("GET", "/jobs", params=params)
    if json_:
        print_json(doc)
        return
    table("Jobs", ["id", "name", "kind", "state", "reason", "center", "created"],
          [[j["id"], j["name"], j["kind"], j["state"], j["reason"] or "",
            (j["placement"] or {}).get("center", ""), j["created_at"][:19]]
           for j in doc["data"]])


def job_line(job: dict) -> str:
    """One line for ``show``: state, reason with its detail (``job['message']``, e.g. "unknown
    center(s) mars"), quote in CNY and placement center; absent values read ``n/a``, never
    ``None``."""
    reason = job.get("reason") or ""
    if job.get("message"):
        reason = f"{reason}: {job['message']}" if reason else job["message"]
    quote = "n/a" if job.get("quote") is None else f"{money(job['quote'])} CNY"
    placement = job.get("placement") or {}
    where = placement.get("center") or "n/a"
    if placement.get("accelerator"):
        where += f" ({placement.get('devices', '?')} x {placement['accelerator']})"
    return (f"job {job['id']} {job['name']} ({job['kind']}): {job['state']}"
            f"{' ' + reason if reason else ''}  quote {quote}  placement {where}")


def money(value: Any) -> str:
    """A money amount from the API (a JSON number) as a plain decimal with up to 4 places
    (``12403.2``, never ``1.24e+04``)."""
    from decimal import Decimal

    text = format(Decimal(str(value)).quantize(Decimal("0.0001")), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def show_cmd(job_id: Annotated[int, typer.Argument(min=1)], json_: JsonOpt = False) -> None:
    """One job with its events."""
    c = Client()
    job = c.call("GET", f"/jobs/{job_id}")
    events = c.call("GET", f"/jobs/{job_id}/events")["data"]
    if json_:
        print_json({**job, "events": events})
        return
    console.print(job_line(job), highlight=False, markup=False, soft_wrap=True)
    table("Events", ["at", "from", "to", "reason"],
          [[e["at"][:19], e["from_state"] or "", e["to_state"], e["reason"]] for e in events])


def logs_cmd(job_id: Annotated[int, typer.Argument(min=1)],
             follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new "
                                                  "output until the job ends.")] = False,
             interval_s: Annotated[float, typer.Option(min=0.2)] = 2.0) -> None:
    """Output of the job's attempts (the tail; -f follows)."""
    c = Client()
    seen: dict[int, str] = {}
    while True:
        doc = c.call("GET", f"/jobs/{job_id}/logs")
        for a in doc["attempts"]:
            old, new = seen.get(a["attempt"], ""), a["text"]
            chunk = new[len(old):] if new.startswith(old) else new
            if chunk:
                typer.echo(chunk, nl=False)
            seen[a["attempt"]] = new
        if not follow or c.call("GET", f"/jobs/{job_id}")["state"] in TERMINAL:
            return
        time.sleep(interval_s)


def cancel_cmd(job_id: Annotated[int, typer.Argument(min=1)]) -> None:
    """Ask the controller to cancel a job."""
    job = Client().call("POST", f"/jobs/{job_id}/cancel")
    # The API answers 202 with the job either way (cancel is idempotent): exit 0 here too.
    if job["state"] in TERMINAL:
        console.print(f"job {job['id']} already finished ({job['state']}); nothing to cancel",
                      highlight=False)
    else:
        console.print(f"job {job['id']}: cancel requested (state {job['state']})",
                      highlight=False)


def _period(value: str | None) -> str | None:
    """``--period`` checked here, so a bad month is one plain sentence (exit 2), not the API
    schema's regular expression."""
    import re

    if value is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise typer.BadParameter(f"must be YYYY-MM with month 01–12 (got {value!r})")
    return value


Period = Annotated[str | None, typer.Option(callback=_period,
                                            help="Month YYYY-MM (default: this month).")]


def usage_cmd(period: Period = None, json_: JsonOpt = False, csv_: CsvOpt = False) -> None:
    """Metered usage, one row per attempt."""
    doc = Client().call("GET", "/usage", params={"period": period} if period else {})
    if json_:
        print_json(doc)
        return
    table("Usage", ["job", "attempt", "center", "chip", "devices", "device-h", "kWh", "ended"],
          [[u["job_id"], u["attempt_id"], u["center"], u["accelerator"], u["devices"],
            u["device_seconds"] / 3600, u["energy_kwh"], u["ended_at"][:19]]
           for u in doc["data"]])


def bill_cmd(period: Period = None, json_: JsonOpt = False, csv_: CsvOpt = False) -> None:
    """The invoice for a month: lines and total."""
    inv = Client().call("GET", "/invoices", params={"period": period} if period else {})
    if json_:
        print_json(inv)
        return
    table(f"Invoice {inv['period']} ({inv['currency']})",
          ["job", "kind", "description", "quantity", "unit", "unit price", "amount"],
          [[li["job_id"] or "", li["kind"], li["description"], li["quantity"], li["unit"],
            li["unit_price"], li["amount"]] for li in inv["lines"]])
    console.print(f"total {inv['total']} {inv['currency']}", highlight=False)


def balance_cmd(json_: JsonOpt = False) -> None:
    """Prepaid balance, open holds and what is available."""
    b = Client().call("GET", "/balance")
    if json_:
        print_json(b)
        return
    console.print(f"{b['tenant']}: balance {b['amount']} {b['currency']}, held {b['held']}, "
                  f"available {b['available']}", highlight=False)


def register(app: typer.Typer, bench: typer.Typer) -> None:
    for name, fn in (("submit", submit_cmd), ("jobs", jobs_cmd), ("show", show_cmd),
                     ("logs", logs_cmd), ("cancel", cancel_cmd), ("usage", usage_cmd),
                     ("bill", bill_cmd), ("balance", balance_cmd)):
        app.command(name)(fn)
