"""``run_controller``: the controller's entry point (``suanwang controller``, ``suanwang serve``).

Migrates the store to head, records the federation's centers (and their seeded prices), builds
one backend per center, then runs :meth:`Controller.tick` every ``tick_s`` seconds until
``stop`` is set. A tick that raises is logged and the loop goes on (the next tick starts from
the store again); nothing in memory is needed to resume, so the process may be killed at any
moment and restarted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from suanwang.control.centers import make_centers
from suanwang.control.reconcile import Controller, TickStats
from suanwang.control.recovery import RetryPolicy
from suanwang.core.federation import Federation
from suanwang.store.db import make_engine, session_factory
from suanwang.store.dispatch import set_center_backend

log = logging.getLogger("suanwang.control")


def build_controller(*, db_url: str, federation: Federation, data_dir: Path,
                     policy: str = "suanwang", sim_speedup: float = 60.0,
                     retry: str = "retry_same", max_attempts: int = 3, slurm: bool = True,
                     sim_failures: bool = False) -> Controller:
    """Migrate, sync centers (recording the backend each one really uses: a Slurm center
    without a reachable cluster shows as ``sim``), and return a ready :class:`Controller`."""
    from suanwang.store.centers import sync_centers
    from suanwang.store.migrate import upgrade

    upgrade(db_url)
    engine = make_engine(db_url)
    with session_factory(engine, write=True)() as s:
        sync_centers(s, federation)
        s.commit()
    centers = make_centers(federation, Path(data_dir), sim_speedup=sim_speedup,
                           sim_failures=sim_failures, slurm=slurm)
    for note in centers.notes:
        log.warning("%s", note)
    with session_factory(engine, write=True)() as s:  # say which centers are simulated
        for c in federation.centers:
            set_center_backend(s, c.name, centers.effective[c.name])
        s.commit()
    return Controller(engine=engine, federation=federation, centers=centers,
                      data_dir=Path(data_dir), policy=policy,
                      retry=RetryPolicy(mode=retry, max_attempts=max_attempts))


def run_controller(*, db_url: str, federation: Federation, data_dir: Path,
                   stop: threading.Event, tick_s: float = 1.0, policy: str = "suanwang",
                   sim_speedup: float = 60.0, retry: str = "retry_same", max_attempts: int = 3,
                   slurm: bool = True, sim_failures: bool = False,
                   on_tick: Callable[[TickStats], None] | None = None) -> None:
    """Run the control loop until ``stop`` is set (see module doc).

    ``sim_speedup``: virtual seconds per wall second on simulated centers. ``retry``:
    retry_same | failover; ``max_attempts``: failed attempts allowed per job. ``slurm``: use the
    Slurm backend for ``slurm`` centers when reachable (else they run as sim, with a warning).
    ``on_tick`` sees each tick's statistics (the demo's progress display, tests).
    """
    ctl = build_controller(db_url=db_url, federation=federation, data_dir=data_dir,
                           policy=policy, sim_speedup=sim_speedup, retry=retry,
                           max_attempts=max_attempts, slurm=slurm, sim_failures=sim_failures)
    while not stop.is_set():
        t0 = time.monotonic()
        try:
            stats = ctl.tick()
            if on_tick is not None:
                on_tick(stats)
        except Exception:  # a bad tick must not stop the platform; the next one re-reads
            log.exception("controller tick failed; retrying next tick")
        stop.wait(max(0.0, tick_s - (time.monotonic() - t0)))
