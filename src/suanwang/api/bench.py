"""``suanwang bench api``: submissions/s, reads/s and tail latency of one ``suanwang serve``.

For each database (SQLite file; PostgreSQL started hermetically by scripts/pg-local.sh), a fresh
database gets ``tenants`` tenants, then one ``suanwang serve --no-controller --workers W``
(W uvicorn worker processes) is started, and ``clients`` closed-loop connections
(``api.loadgen``) run two
phases of ``duration_s`` each:

1. submit: ``POST /api/v1/jobs`` with a small batch spec (accepted = 201);
2. read: ``GET /api/v1/jobs/{id}`` of the tenant's own jobs (3 of 4 requests) and
   ``GET /api/v1/jobs?limit=20`` (1 of 4).

Reported per database: ``submit_per_s`` and ``read_per_s`` (successful requests / phase
seconds), latency percentiles ``p50_ms``/``p99_ms`` over both phases (and per phase), and
``errors`` (non-2xx answers, timeouts and broken connections). The controller is not running,
so this measures the API and the store, not scheduling.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from suanwang.api.loadgen import Tally, json_body, run_load

BENCH_SPEC = {"kind": "batch", "name": "bench", "command": "true", "devices": 1,
              "accelerator": "CPU-2xEPYC9654", "walltime_s": 60}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


def _tenants(url: str, n: int) -> list[str]:
    from suanwang.store.db import make_engine, session_factory
    from suanwang.store.migrate import upgrade
    from suanwang.store.tenants import create_tenant

    upgrade(url)
    engine = make_engine(url)
    tokens = []
    with session_factory(engine, write=True)() as s:
        for i in range(n):
            tokens.append(create_tenant(s, f"bench-{i}", balance=Decimal(1000))[1])
        s.commit()
    engine.dispose()
    return tokens


def _serve(url: str, port: int, log: Path, workers: int) -> subprocess.Popen:
    env = {**os.environ, "SUANWANG_LOG": "warning"}
    proc = subprocess.Popen([sys.executable, "-m", "suanwang", "serve", "--db", url, "--port",
                             str(port), "--no-controller", "--workers", str(workers)],
                            stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, env=env)
    import httpx

    t0 = time.monotonic()
    while time.monotonic() - t0 < 120:
        if proc.poll() is not None:
            raise RuntimeError(f"suanwang serve exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("suanwang serve did not answer /healthz in 120 s")


def tree_cpu_s(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by process ``pid`` and its live descendants
    (Linux /proc; None elsewhere). Lets the bench report server CPU per request, which a loaded
    machine does not distort the way it distorts requests per second."""
    tick = os.sysconf("SC_CLK_TCK")
    total, stack = 0.0, [pid]
    try:
        while stack:
            p = stack.pop()
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
    except (OSError, ValueError, IndexError):
        return None if total == 0 else total
    return total


def _phase_stats(t: Tally, kinds: tuple[str, ...], seconds: float) -> dict:
    lat = [x for k in kinds for x in t.latencies.get(k, [])]
    return {"ok_per_s": sum(t.ok.get(k, 0) for k in kinds) / seconds,
            "requests": len(lat), "errors": sum(t.errors.get(k, 0) for k in kinds),
            "p50_ms": _percentile(lat, 0.5) * 1e3, "p99_ms": _percentile(lat, 0.99) * 1e3}


def bench_one(url: str, *, clients: int, duration_s: float, tenants: int, workdir: Path,
              workers: int) -> dict:
    """Both phases against one fresh server on ``url``; returns the result dict."""
    tokens = _tenants(url, tenants)
    port = _free_port()
    proc = _serve(url, port, workdir / "serve.log", workers)
    try:
        body = json_body(BENCH_SPEC)
        cpu0 = tree_cpu_s(proc.pid)
        sub = run_load(host="127.0.0.1", port=port, tokens=tokens, clients=clients,
                       duration_s=duration_s,
                       next_request=lambda i: ("POST", "/api/v1/jobs", body),
                       kind_of=lambda r: "submit")
        cpu1 = tree_cpu_s(proc.pid)
        # reads: each client reads its own tenant's jobs (another tenant's id would be a 404)
        own_ids = _ids_by_token(url, tokens)
        cpu2 = tree_cpu_s(proc.pid)
        reads = _read_phase(port, tokens, own_ids, clients, duration_s)
        cpu3 = tree_cpu_s(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    s = _phase_stats(sub, ("submit",), duration_s)
    r = _phase_stats(reads, ("show", "list"), duration_s)
    if None not in (cpu0, cpu1, cpu2, cpu3):
        s["server_cpu_ms_per_request"] = (cpu1 - cpu0) * 1e3 / max(1, s["requests"])
        r["server_cpu_ms_per_request"] = (cpu3 - cpu2) * 1e3 / max(1, r["requests"])
    all_lat = [x for t in (sub, reads) for v in t.latencies.values() for x in v]
    return {"submit_per_s": round(s["ok_per_s"], 1), "read_per_s": round(r["ok_per_s"], 1),
            "p50_ms": round(_percentile(all_lat, 0.5) * 1e3, 2),
            "p99_ms": round(_percentile(all_lat, 0.99) * 1e3, 2),
            "errors": s["errors"] + r["errors"],
            "submit": {k: round(v, 2) for k, v in s.items()},
            "read": {k: round(v, 2) for k, v in r.items()}}


def _ids_by_token(url: str, tokens: list[str]) -> dict[str, list[int]]:
    from sqlalchemy import select

    from suanwang.store.db import make_engine, session_factory
    from suanwang.store.models import Job
    from suanwang.store.tenants import resolve_token

    engine = make_engine(url)
    out = {}
    with session_factory(engine)() as s:
        for tok in tokens:
            tid = resolve_token(s, tok).id
            out[tok] = list(s.execute(select(Job.id).where(Job.tenant_id == tid)).scalars())
    engine.dispose()
    return out


def _read_phase(port: int, tokens: list[str], ids: dict[str, list[int]], clients: int,
                duration_s: float) -> Tally:
    """Reads, each client on its own tenant's jobs (client n uses token n mod len)."""
    rng = random.Random(0)
    own = [ids[tokens[n % len(tokens)]] or [1] for n in range(clients)]

    def request(i: int):
        n = i // 1_000_003
        if i % 4 == 3:
            return ("GET", "/api/v1/jobs?limit=20", None)
        return ("GET", f"/api/v1/jobs/{rng.choice(own[n])}", None)

    return run_load(host="127.0.0.1", port=port, tokens=tokens, clients=clients,
                    duration_s=duration_s, next_request=request,
                    kind_of=lambda r: "list" if "?" in r[1] else "show")


def run_bench(*, databases: tuple[str, ...], clients: int, duration_s: float, tenants: int,
              repo: Path, workers: int = 1) -> dict:
    """Run the bench on each of ``databases`` ("sqlite", "postgres") side by side."""
    out: dict = {"clients": clients, "duration_s": duration_s, "tenants": tenants,
                 "server": f"suanwang serve --no-controller --workers {workers}",
                 "cpus": os.cpu_count(), "load_avg_1m_before": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory(prefix="suanwang-bench-") as tmp:
        root = Path(tmp)
        for db in databases:
            work = root / db
            work.mkdir()
            if db == "sqlite":
                out[db] = bench_one(f"sqlite:///{work / 'bench.db'}", clients=clients,
                                    duration_s=duration_s, tenants=tenants, workdir=work,
                                    workers=workers)
                continue
            script = repo / "scripts" / "pg-local.sh"
            pg = subprocess.run([str(script), "start", str(work / "pg")], capture_output=True,
                                text=True, timeout=120)
            if pg.returncode != 0:
                out[db] = {"error": f"PostgreSQL did not start: {pg.stderr.strip()[-300:]}"}
                continue
            try:
                out[db] = bench_one(pg.stdout.strip().splitlines()[-1], clients=clients,
                                    duration_s=duration_s, tenants=tenants, workdir=work,
                                    workers=workers)
            finally:
                subprocess.run([str(script), "stop", str(work / "pg")], timeout=60,
                               capture_output=True)
    return out
