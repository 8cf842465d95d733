"""The reconcile loop: one idempotent :meth:`Controller.tick` at a time.

A tick reads the store and the backends, decides, *persists the decision*, then acts:

1. **observe**: one ``poll`` per center with every live attempt's handle; an attempt that started
   moves its job DISPATCHED -> RUNNING; one that ended is metered (usage record), its remaining
   runtime events ingested, its job moved by :mod:`~suanwang.control.recovery` (SUCCEEDED /
   FAILED / CANCELLED, settled in the same transaction, or RETRYING back into the queue).
2. **metrics**: new runtime events of running training attempts -> job metrics and progress.
3. **cancel**: jobs with ``cancel_requested_at``: queued ones end CANCELLED now, running ones get
   ``backend.cancel`` (they end when a poll sees them stop).
4. **admit**: PENDING jobs are planned (:mod:`~suanwang.control.planning`, once per job), checked
   against the tenant's quota and get a balance hold of their quote (P's billing functions);
   otherwise they stay PENDING with the reason (quota | insufficient_balance | infeasible).
5. **schedule**: ADMITTED + RETRYING jobs become a queue of ``sched.JobView`` and live capacity
   a ``sched.ClusterState``; the policy's ``decide(state, queue, now_s)`` — the function the
   simulator calls — returns starts (and preemptions). Each start is written as an attempt row
   plus the job's DISPATCHED transition, and committed *before* anything is submitted.
6. **dispatch**: every attempt row without a handle is submitted (idempotent on its key) and
   its handle recorded. A crash between 5 and 6 leaves rows without handles: the next tick
   submits them; a crash after a submit but before its handle was stored submits again and gets
   the same attempt back (never a second run).

Pool names in the policy's state are ``center/accelerator`` keys (PoolView.accelerator too), so
a job's allowed pools — plan, constraints, failover exclusions — are one ``accelerators`` set.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

from suanwang.backends.base import AttemptState, BackendStatus, Handle, attempt_key
from suanwang.control.calibrate import calibration_file, record_attempt
from suanwang.control.centers import Centers
from suanwang.control.finish import LIVE, AttemptInfo, finish, ingest_events, lost_status, meter
from suanwang.control.leasing import decide as lease_decide
from suanwang.control.planning import checkpoint_interval_s
from suanwang.control.recovery import RetryPolicy
from suanwang.control.submitting import attempt_spec
from suanwang.control.views import ViewCache, build_pools
from suanwang.core.federation import Federation
from suanwang.sched.decisions import Preempt, Start
from suanwang.sched.registry import get_policy
from suanwang.sched.state import ClusterState, RunningView
from suanwang.store import dispatch as q
from suanwang.store import jobs as repo
from suanwang.store.db import session_factory
from suanwang.store.models import Attempt

CAPACITY_EVERY_S = 5.0
log = logging.getLogger("suanwang.control")


@dataclass
class TickStats:
    """What one tick did (for the benchmark and the demo)."""

    tick_s: float = 0.0
    polls: int = 0
    live: int = 0
    admitted: int = 0
    dispatched: int = 0
    ended: int = 0
    phases_s: dict[str, float] = field(default_factory=dict)
    dispatch_delays_s: list[float] = field(default_factory=list)  # submit -> handle recorded


class Controller:
    """The control loop over one store and one federation (see module doc)."""

    def __init__(self, *, engine: Engine, federation: Federation, centers: Centers,
                 data_dir: Path, policy: str = "suanwang", retry: RetryPolicy | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.read = session_factory(engine)
        self.write = session_factory(engine, write=True)
        self.fed = federation
        self.centers = centers
        self.data_dir = Path(data_dir)
        self.policy = get_policy(policy)
        self.retry = retry or RetryPolicy()
        self.clock = clock
        self.pools = build_pools(federation)
        self.pool_index = {p.name: i for i, p in enumerate(self.pools)}
        self.views = ViewCache(federation)
        self.attempts: dict[int, AttemptInfo] = {}
        self.live: list[Any] = []
        self.cancelling: set[int] = set()
        self._capacity_at = 0.0

    # -- the tick ---------------------------------------------------------------------------
    def tick(self) -> TickStats:
        """One reconcile pass; safe to interrupt (kill -9) anywhere and to run again."""
        st = TickStats()
        t0 = time.perf_counter()
        for name, phase in (("observe", self._observe), ("metrics", self._metrics),
                            ("cancel", self._cancel), ("leases", self._leases),
                            ("admit", self._admit),
                            ("schedule", self._schedule), ("dispatch", self._dispatch),
                            ("capacity", self._capacity)):
            p0 = time.perf_counter()
            phase(st)
            st.phases_s[name] = time.perf_counter() - p0
        st.tick_s = time.perf_counter() - t0
        return st

    # -- 1. observe ---------------------------------------------------------------------------
    def _load_attempts(self, ids: list[int]) -> None:
        missing = [i for i in ids if i not in self.attempts or self.attempts[i].handle is None]
        if not missing:
            return
        with self.read() as s:
            for a in q.attempts_by_id(s, missing).values():
                self.attempts[a.id] = AttemptInfo(
                    id=a.id, job_id=a.job_id, n=a.n, center=a.center,
                    handle=Handle.from_json(a.handle) if a.handle else None,
                    detail=dict(a.detail or {}))

    def _observe(self, st: TickStats) -> None:
        with self.read() as s:
            self.live = list(q.live_attempts(s))
        live_ids = {r.id for r in self.live}
        for gone in [i for i in self.attempts if i not in live_ids]:
            del self.attempts[gone]
        self._load_attempts([r.id for r in self.live])
        by_center: dict[str, list[Any]] = {}
        for r in self.live:
            if self.attempts[r.id].handle is not None:
                by_center.setdefault(r.center, []).append(r)
        changes: list[tuple[Any, BackendStatus]] = []
        for center, rows in by_center.items():
            try:
                statuses = self.centers.backends[center].poll(
                    [self.attempts[r.id].handle for r in rows])
            except Exception:  # one unreachable center must not stall the others
                log.exception("poll of center %s failed; its attempts keep their state", center)
                continue
            st.polls += 1
            for r in rows:
                s_ = statuses.get(self.attempts[r.id].handle.key)
                if s_ is not None and s_.state.value != r.state:
                    changes.append((r, s_))
        st.live = len(self.live)
        if changes:
            self._apply(changes, st)

    def _apply(self, changes: list[tuple[Any, BackendStatus]], st: TickStats) -> None:
        now = self.clock()
        with self.write() as s:
            jobs = q.jobs_by_id(s, {r.job_id for r, _ in changes})
            for r, status in changes:
                a, job = self.attempts[r.id], jobs[r.job_id]
                backend = self.centers.backends[r.center]
                if status.state is AttemptState.RUNNING or (
                        status.state.terminal and status.started_at is not None):
                    # it started (perhaps and ended between two polls): record the start first
                    t = status.started_at or now
                    if q.set_attempt(s, a.id, only_from=("PENDING",), state="RUNNING",
                                     started_at=_dt(t)) and job.state == "DISPATCHED":
                        repo.transition(s, job.id, "RUNNING", allowed={"DISPATCHED"},
                                        reason="started", detail={"attempt": a.n,
                                                                  "center": a.center},
                                        now=_dt(t))
                if not status.state.terminal:
                    continue
                self._drain_events(s, a, job)
                meter(s, backend, a, self.fed, status, now)
                ended = finish(s, a, status, job=job, policy=self.retry,
                               plan_pools=tuple(self.views.plan_pools(job)), now=now)
                if ended:
                    st.ended += 1
                if ended == "SUCCEEDED" and job.kind == "training":  # feeds the calibration
                    record_attempt(s, job, a.id, store=calibration_file(self.data_dir), now=now)
                self.views.forget(job.id)
            s.commit()

    def _drain_events(self, s, a: AttemptInfo, job) -> None:
        if job.kind != "training" or a.handle is None:
            return
        backend = self.centers.backends[a.center]
        while ingest_events(s, backend, a, total_steps=self.views.total_steps(job),
                            job_state=job.state):
            pass

    # -- 2. metrics ---------------------------------------------------------------------------
    def _metrics(self, st: TickStats) -> None:
        running = [self.attempts[r.id] for r in self.live
                   if r.state == "RUNNING" and self.attempts[r.id].handle is not None
                   and self.attempts[r.id].handle.data.get("kind") == "training"]
        if not running:
            return
        with self.write() as s:
            jobs = q.jobs_by_id(s, {a.job_id for a in running})
            for a in running:
                ingest_events(s, self.centers.backends[a.center], a,
                              total_steps=self.views.total_steps(jobs[a.job_id]),
                              job_state=jobs[a.job_id].state)
            s.commit()

    # -- 3. cancel ----------------------------------------------------------------------------
    def _cancel(self, st: TickStats) -> None:
        with self.read() as s:
            jobs = q.cancel_requested(s)
        if not jobs:
            return
        live_by_job = {r.job_id: r for r in self.live}
        now = self.clock()
        with self.write() as s:
            for job in jobs:
                r = live_by_job.get(job.id)
                if r is None and job.state in ("PENDING", "ADMITTED", "RETRYING"):
                    repo.transition(s, job.id, "CANCELLED", reason="cancelled", now=_dt(now))
                    from suanwang.store.billing import settle

                    settle(s, job.id)
                    self.views.forget(job.id)
                elif r is not None and job.id not in self.cancelling:
                    a = self.attempts[r.id]
                    backend = self.centers.backends[a.center]
                    backend.cancel(a.handle or Handle(backend=backend.kind, center=a.center,
                                                      key=_key(a), native_id=""))
                    self.cancelling.add(job.id)
            s.commit()

    def _leases(self, st: TickStats) -> None:
        """Leases on Slurm centers -> Slurm reservations (control.leasing)."""
        from suanwang.control.leasing import sync_reservations

        sync_reservations(self)

    # -- 4. admit -----------------------------------------------------------------------------
    def _admit(self, st: TickStats) -> None:
        from suanwang.control.admission import admit_pending

        st.admitted = admit_pending(self, self.clock())

    # -- 5. schedule --------------------------------------------------------------------------
    def _state(self, now: float) -> ClusterState:
        free = [0] * len(self.pools)
        for center, backend in self.centers.backends.items():
            for cap in backend.capacity():
                i = self.pool_index.get(f"{center}/{cap.accelerator}")
                if i is not None:
                    free[i] = cap.free_devices
        running: dict[int, RunningView] = {}
        tenant_devices: dict[str, int] = {}
        for r in self.live:
            a = self.attempts[r.id]
            view = self.views.running_view(a.job_id)
            i = self.pool_index.get(a.detail.get("pool", ""))
            if a.handle is None and i is not None:
                free[i] = max(0, free[i] - r.devices)  # decided, not yet known to the backend
            if view is None or i is None:
                continue
            start = float(a.detail.get("dispatched_at", now))
            # on a simulated center time runs `speedup` x faster: the policy sees the virtual
            # elapsed time, so its expected end matches the center's (one clock per job)
            speed = float(getattr(self.centers.backends[a.center], "speedup", 1.0))
            running[view.job_id] = RunningView(job=view, pool=i,
                                               start_s=now - (now - start) * speed)
            tenant_devices[view.tenant] = tenant_devices.get(view.tenant, 0) + view.num_devices
        return ClusterState(pools=self.pools, free=free, running=running,
                            tenant_devices=tenant_devices)

    def _schedule(self, st: TickStats) -> None:
        with self.read() as s:
            ids = q.job_ids_in(s, ("ADMITTED", "RETRYING"))
            self.views.load(s, ids + [r.job_id for r in self.live])
        queue = [v for v in (self.views.queued_view(i) for i in ids) if v is not None]
        if not queue:
            return
        now = self.clock()
        state = self._state(now)
        decisions = lease_decide(self, state, queue, now)  # leases honoured (#13)
        starts = [d for d in decisions if isinstance(d, Start)]
        preempts = [d for d in decisions if isinstance(d, Preempt)]
        if not starts and not preempts:
            return
        with self.write() as s:
            rows, moves = [], []
            for d in starts:
                self._persist_start(d, state, now, st, rows, moves)
            moved = set(q.transition_many(s, moves, "DISPATCHED", allowed={"ADMITTED", "RETRYING"},
                                          reason="placed", now=_dt(now)))
            rows = [r for r in rows if r["job_id"] in moved]
            if rows:
                s.connection().execute(insert(Attempt), rows)
            for d in preempts:
                for r in self.live:
                    if r.job_id == d.job_id:
                        self.attempts[r.id].detail["preempt"] = True
                        q.set_attempt(s, r.id, detail=dict(self.attempts[r.id].detail))
            s.commit()
        for d in preempts:
            for r in self.live:
                a = self.attempts[r.id]
                if r.job_id == d.job_id and a.handle is not None:
                    self.centers.backends[a.center].cancel(a.handle)

    def _persist_start(self, d: Start, state: ClusterState, now: float, st: TickStats,
                       rows: list[dict], moves: list[tuple[int, dict, dict]]) -> None:
        """Queue the attempt row and the job's DISPATCHED move of one start decision."""
        view = self.views.queued_view(d.job_id)
        pool = self.pools[d.pool]
        info = self.views.info(d.job_id)
        center, acc = pool.center, pool.name.split("/", 1)[1]
        plan_pool = info.plan["pools"].get(pool.name, {})
        detail = {"key": attempt_key(d.job_id, info.next_n, info.plan.get("run_id", "")),
                  "pool": pool.name, "predicted_run_s": state.run_s(view, d.pool),
                  "checkpoint_interval_s": checkpoint_interval_s(plan_pool),
                  "progress": info.progress, "progress_at_start": info.progress,
                  "failures": info.failures,
                  "dispatched_at": now}
        kind = self.centers.effective[center]
        rows.append({"job_id": d.job_id, "n": info.next_n, "center": center, "backend": kind,
                     "accelerator": acc, "devices": d.num_devices,
                     "nodes": int(plan_pool.get("nodes", 1)), "state": "PENDING",
                     "detail": detail, "created_at": _dt(now)})
        placement = {"center": center, "accelerator": acc, "devices": d.num_devices,
                     "backend": kind, "attempt": info.next_n}
        moves.append((d.job_id, placement, {"placement": placement}))
        self.views.forget(d.job_id)

    # -- 6. dispatch --------------------------------------------------------------------------
    def _dispatch(self, st: TickStats) -> None:
        with self.read() as s:
            todo = list(q.undispatched(s))
        if not todo:
            return
        self._load_attempts([r.id for r in todo])
        now = self.clock()
        with self.read() as s:
            jobs = q.jobs_by_id(s, {r.job_id for r in todo})
        handles: dict[int, Handle] = {}
        failed: dict[int, str] = {}
        dropped: list[int] = []
        for r in todo:
            a = self.attempts[r.id]
            if jobs[r.job_id].cancel_requested_at is not None:  # never start a cancelled job
                backend = self.centers.backends[r.center]
                backend.cancel(Handle(backend=backend.kind, center=r.center, key=_key(a),
                                      native_id=""))
                dropped.append(r.id)
                continue
            try:
                spec = attempt_spec(self, a, jobs[r.job_id], r)
                handles[r.id] = self.centers.backends[r.center].submit(spec)
            except Exception as exc:  # the center refused it: the attempt ends, job retries
                failed[r.id] = f"submit failed: {exc}"
        with self.write() as s:
            st.dispatched = q.set_handles(s, {aid: h.to_json() for aid, h in handles.items()})
            for aid, h in handles.items():
                self.attempts[aid].handle = h
            ends = [(aid, lost_status(why, now)) for aid, why in failed.items()]
            ends += [(aid, BackendStatus(state=AttemptState.CANCELLED, reason="cancelled before "
                                         "start", ended_at=now)) for aid in dropped]
            for aid, status in ends:
                a = self.attempts[aid]
                job = q.jobs_by_id(s, [a.job_id])[a.job_id]
                meter(s, self.centers.backends[a.center], a, self.fed, status, now)
                finish(s, a, status, job=job, policy=self.retry,
                       plan_pools=tuple(self.views.plan_pools(job)), now=now)
                self.views.forget(job.id)
            s.commit()
        done = self.clock()
        st.dispatch_delays_s += [done - jobs[self.attempts[aid].job_id].created_at.timestamp()
                                 for aid in handles if self.attempts[aid].n == 0]

    # -- 7. capacity (for the API / dashboard) ---------------------------------------------------
    def _capacity(self, st: TickStats) -> None:
        now = self.clock()
        if now - self._capacity_at < CAPACITY_EVERY_S:
            return
        self._capacity_at = now
        from suanwang.store.centers import set_capacity

        with self.write() as s:
            for center, backend in self.centers.backends.items():
                set_capacity(s, center, {c.accelerator: {"free": c.free_devices,
                                                         "total": c.total_devices}
                                         for c in backend.capacity()}, now=_dt(now))
            s.commit()


def _dt(t: float):
    from suanwang.control.finish import ts

    return ts(t)


def _key(a: AttemptInfo) -> str:
    return a.detail.get("key") or attempt_key(a.job_id, a.n)


__all__ = ["LIVE", "Controller", "TickStats"]
