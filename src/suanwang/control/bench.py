"""``suanwang bench control``: dispatch latency and tracking cost of the live controller.

Runs the real controller (admission with quota and balance holds, the ``suanwang`` policy,
attempts persisted before submit, one poll per center per tick, usage and settlement) on a
fresh SQLite store over the demo federation with every center simulated (``local`` and Slurm
centers included, as sim), so the numbers measure the controller, not the jobs:

1. **dispatch**: ``pending`` single-device batch jobs are inserted at once (one transaction, as
   a burst of API submissions) and the controller ticks back to back until every one is
   dispatched; the delay of a job is from its submit time (``jobs.created_at``) to the moment
   its backend handle was recorded (the attempt is on the center), after the commit.
   Reported: p50/p95/max (``dispatch_p95_s``).
2. **tracking**: more jobs are added until ``running`` are RUNNING at once (walltime 10^6 s, so
   none ends), then ``ticks`` more ticks are timed: ``tick_s`` is their median (max reported
   too), ``polls_per_tick`` the backend polls per tick (one per center with live attempts).
3. ``rss_bytes``: the process's peak resident set (``ru_maxrss``) at the end.
"""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from suanwang.control.runner import build_controller
from suanwang.core.federation import Federation
from suanwang.store import dispatch as q
from suanwang.store import jobs as repo
from suanwang.store.db import make_engine, session_factory
from suanwang.store.tenants import create_tenant

TENANTS = 4


def _all_sim(fed: Federation) -> Federation:
    return replace(fed, centers=tuple(replace(c, backend="sim") for c in fed.centers))


def _spec(i: int) -> dict[str, Any]:
    return {"kind": "batch", "name": f"b{i}", "command": "true", "devices": 1,
            "walltime_s": 1e6}


def _submit(engine, tenants: list[int], start: int, n: int) -> None:
    with session_factory(engine, write=True)() as s:
        repo.create_jobs(s, [(tenants[i % len(tenants)], _spec(i))
                             for i in range(start, start + n)])
        s.commit()


def _pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))] if s else 0.0


def run_bench(fed: Federation, *, pending: int = 1000, running: int = 10_000, ticks: int = 5,
              policy: str = "suanwang") -> dict[str, Any]:
    """Run both phases (module doc) and return the results (seconds, bytes, counts)."""
    fed = _all_sim(fed)
    with tempfile.TemporaryDirectory(prefix="suanwang-bench-control-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        ctl = build_controller(db_url=url, federation=fed, data_dir=Path(tmp), policy=policy,
                               sim_speedup=1.0, slurm=False)
        engine = make_engine(url)
        with session_factory(engine, write=True)() as s:
            tenants = [create_tenant(s, f"bench{i}", balance=Decimal(10) ** 9)[0].id
                       for i in range(TENANTS)]
            s.commit()
        _submit(engine, tenants, 0, pending)
        delays: list[float] = []
        t0 = time.perf_counter()
        while len(delays) < pending and time.perf_counter() - t0 < 600:
            delays += ctl.tick().dispatch_delays_s
        dispatch_wall = time.perf_counter() - t0
        _submit(engine, tenants, pending, max(0, running - pending))
        t1 = time.perf_counter()
        while time.perf_counter() - t1 < 1200:
            ctl.tick()
            with session_factory(engine)() as s:
                n_running = len(q.job_ids_in(s, ("RUNNING",)))
            if n_running >= running:
                break
        fill_wall = time.perf_counter() - t1
        stats = [ctl.tick() for _ in range(ticks)]
        with session_factory(engine)() as s:
            n_running = len(q.job_ids_in(s, ("RUNNING",)))
    tick_s = [x.tick_s for x in stats]
    return {
        "dispatch_p95_s": round(_pct(delays, 95), 3),
        "dispatch_p50_s": round(_pct(delays, 50), 3),
        "dispatch_max_s": round(max(delays, default=0.0), 3),
        "dispatched": len(delays), "pending": pending,
        "dispatch_wall_s": round(dispatch_wall, 2),
        "running_jobs": n_running, "fill_wall_s": round(fill_wall, 2),
        "tick_s": round(statistics.median(tick_s), 3) if tick_s else None,
        "tick_max_s": round(max(tick_s), 3) if tick_s else None,
        "polls_per_tick": stats[-1].polls if stats else 0,
        "tick_phases_s": {k: round(v, 3) for k, v in stats[-1].phases_s.items()} if stats
        else {},
        "rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "policy": policy, "centers": len(fed.centers),
        "targets": {"dispatch_p95_s": 2.0, "tick_s": 1.0, "rss_bytes": 2 * 2**30},
    }
