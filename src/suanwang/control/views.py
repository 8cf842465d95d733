"""The scheduler's view of stored jobs: ``sched.JobView`` per job and ``sched.PoolView`` per pool.

Pools come from the simulator's own construction (:func:`suanwang.sim.cluster.from_federation`:
same names, speeds, prices, power, PUE), with ``accelerator`` set to the pool key
``center/accelerator`` so that a job's ``accelerators`` set can name pools (plan, constraints,
failover). A JobView carries: gang size and speed-1.0 estimate from the plan, submit time =
``jobs.created_at``, progress ``done_s`` = checkpointed fraction x estimate, ``restarts`` = earlier
attempts, and the allowed pools (the last failure's ``next_pools`` when it set any). Views are
cached per job and dropped whenever the controller changes the job.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from suanwang.backends.local import RUNTIME_PREEMPT_GRACE_S
from suanwang.control.planning import checkpoint_interval_s
from suanwang.core.federation import Federation
from suanwang.core.jobspec import TrainingSpec, load_job_spec
from suanwang.sched.state import JobView, PoolView
from suanwang.sim.cluster import from_federation
from suanwang.store import dispatch as q
from suanwang.store.models import Job

MIN_POOL_SPEED = 1e-3
"""Speed given to a pool whose generic speed is 0 (the simulator's reference model cannot train
there, e.g. a CPU pool: ``sim.cluster.pool_speed``). The live controller runs there the jobs
the planner placed there (the tiny GPT on ``local/CPU-local``), and a policy treats speed 0 as
"cannot run"; 1e-3 is the floor ``sched.placement.throughput_ratio`` used before pool speeds came
from ``plan.tokens_per_s``, so ``MAX_SLOWDOWN`` still keeps jobs allowed on faster pools off it."""


def build_pools(fed: Federation) -> list[PoolView]:
    """The federation's pools as the policy sees them in the live controller (see module doc);
    speeds floored at :data:`MIN_POOL_SPEED`."""
    return [replace(p, accelerator=p.name, speed=max(p.speed, MIN_POOL_SPEED))
            for p in from_federation(fed).pools]


@dataclass
class JobInfo:
    """A job as the controller schedules it (from its row and its latest attempt)."""

    job_id: int
    tenant: str
    kind: str
    plan: dict[str, Any]
    view: JobView | None
    next_n: int
    progress: float
    failures: int


class ViewCache:
    """JobInfo per job id, loaded in bulk from the store and dropped on change."""

    def __init__(self, fed: Federation) -> None:
        self.fed = fed
        self._info: dict[int, JobInfo] = {}
        self._tenants: dict[int, str] = {}
        self._steps: dict[int, int] = {}

    def forget(self, job_id: int) -> None:
        self._info.pop(job_id, None)

    def load(self, s: Session, job_ids: list[int]) -> None:
        missing = [i for i in set(job_ids) if i not in self._info]
        if not missing:
            return
        jobs = q.jobs_by_id(s, missing)
        latest = q.latest_attempts(s, missing)
        if any(j.tenant_id not in self._tenants for j in jobs.values()):
            self._tenants = q.tenant_names(s)
        for j in jobs.values():
            self._info[j.id] = self._make(j, latest.get(j.id))

    def _make(self, j: Job, last) -> JobInfo:
        detail = dict(last.detail or {}) if last is not None else {}
        progress = float(detail.get("progress", 0.0))
        failures = int(detail.get("failures", 0))
        plan = j.plan or {}
        tenant = self._tenants.get(j.tenant_id, str(j.tenant_id))
        view = None
        if plan.get("pools"):
            pools = detail.get("next_pools") if last is not None and last.state != "PENDING" \
                else None
            allowed = frozenset(pools or plan["pools"])
            est = float(plan["estimate_s"])
            c = j.spec.get("constraints", {})
            ckpt = min((checkpoint_interval_s(p) for p in plan["pools"].values()), default=0.0)
            view = JobView(job_id=j.id, user=tenant, tenant=tenant,
                           num_devices=int(plan["devices"]), submit_s=j.created_at.timestamp(),
                           priority=j.priority, estimate_s=est,
                           requested_s=float(j.spec.get("walltime_s", 0.0)),
                           accelerators=allowed, preemptible=bool(c.get("preemptible", True)),
                           checkpoint_interval_s=ckpt, done_s=min(progress, 0.999) * est,
                           restarts=(last.n + 1) if last is not None else 0,
                           # the runtime commits a final checkpoint on SIGTERM within its grace
                           # (a bound on the save); a batch command may not checkpoint at all
                           preempt_save_s=RUNTIME_PREEMPT_GRACE_S if j.kind == "training"
                           else None)
        return JobInfo(job_id=j.id, tenant=tenant, kind=j.kind, plan=plan, view=view,
                       next_n=(last.n + 1) if last is not None else 0, progress=progress,
                       failures=failures)

    def info(self, job_id: int) -> JobInfo:
        return self._info[job_id]

    def queued_view(self, job_id: int) -> JobView | None:
        info = self._info.get(job_id)
        return info.view if info is not None else None

    def running_view(self, job_id: int) -> JobView | None:
        """The view of a RUNNING job: its latest attempt is the current run, so ``restarts``
        counts the attempts before it (the queued view counts them all, for the next one)."""
        info = self._info.get(job_id)
        if info is None or info.view is None:
            return None
        return replace(info.view, restarts=max(info.next_n - 1, 0))

    @staticmethod
    def plan_pools(job: Job) -> list[str]:
        return list((job.plan or {}).get("pools", {}))

    def total_steps(self, job: Job) -> int:
        n = self._steps.get(job.id)
        if n is None:
            from suanwang.control.runtime_job import total_steps

            spec = load_job_spec(job.spec)
            n = total_steps(spec) if isinstance(spec, TrainingSpec) else 0
            self._steps[job.id] = n
        return n
