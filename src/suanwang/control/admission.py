"""Admission: PENDING -> ADMITTED once the job has a plan, fits its tenant's quota and its
predicted cost is held against the tenant's balance.

* plan: :func:`suanwang.control.planning.plan_job` (stored in ``jobs.plan`` with a random
  ``run_id`` that makes its attempt keys and run directory unique across stores); a job no pool
  can ever run ends FAILED with reason ``infeasible`` and the planner's explanation.
* quota (``quotas`` row, 0 = unlimited): devices held by the tenant's live attempts and queued
  jobs + this job's gang <= ``max_devices``; running + queued jobs < ``max_running_jobs``.
* hold: P's ``quote(session, spec, placement)`` for every pool the plan allows, the largest
  one held (whichever pool the policy picks, the hold covers it) through one
  ``store.billing.HoldBatch`` per tick — ``place_hold``'s rules, decided in order, with one
  balance lock per tenant and one bulk ledger insert; settlement later charges the actual
  usage and releases it.

A job that waits keeps state PENDING and gets a job event only when its reason changes.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from suanwang.control.calibrate import calibrate_plan, corrections_for
from suanwang.control.finish import ts
from suanwang.control.market import plan_with_products
from suanwang.core.errors import ConfigError, InfeasibleError, NotFoundError
from suanwang.store import dispatch as q
from suanwang.store import jobs as repo
from suanwang.store.billing import HoldBatch, quote, rounding
from suanwang.store.models import Job

if TYPE_CHECKING:
    from suanwang.control.reconcile import Controller

MAX_PER_TICK = 5000


def _hold_amount(s: Session, job: Job, plan: dict, cache: dict) -> Decimal:
    best = Decimal(0)
    # jobs differing only in their name share quotes (one C-encoded key per job)
    spec_key = json.dumps({k: v for k, v in job.spec.items() if k != "name"}, sort_keys=True,
                          default=str)
    for key, p in plan["pools"].items():
        center, acc = key.split("/", 1)
        ck = (spec_key, key)
        if ck not in cache:
            cache[ck] = quote(s, job.spec, {"center": center, "accelerator": acc,
                                            "devices": plan["devices"], "nodes": p["nodes"],
                                            "duration_s": p["time_s"]})
            # + the WAN transfer charge of attached data (plan.market), rounded up
            cache[ck] += rounding.hold(Decimal(p.get("transfer_cost", "0")))
        best = max(best, cache[ck])
    return best


def _wait(s: Session, job: Job, reason: str, detail: dict) -> None:
    if job.reason != reason:
        repo.note(s, job.id, reason=reason, detail=detail)


def admit_pending(ctl: Controller, now: float) -> int:
    """Admit what can be admitted (one write transaction); returns the number admitted."""
    with ctl.read() as s:
        unplanned = [(j.id, j.spec) for j in q.jobs_in(s, ("PENDING",), limit=MAX_PER_TICK)
                     if j.plan is None]
        if not unplanned and not q.job_ids_in(s, ("PENDING",)):
            return 0
    plans: dict[int, dict | Exception] = {}
    corrections = corrections_for(ctl.data_dir) if unplanned else {}
    for job_id, spec in unplanned:  # outside the write transaction: planning takes time
        try:
            plans[job_id] = calibrate_plan(plan_with_products(ctl.fed, spec, read=ctl.read),
                                           corrections)
        except (InfeasibleError, ConfigError, NotFoundError) as exc:
            plans[job_id] = exc
    admitted = 0
    moves: list = []
    cache: dict = {}
    with ctl.write() as s:
        pending = q.jobs_in(s, ("PENDING",), limit=MAX_PER_TICK)
        pending = [j for j in pending if j.cancel_requested_at is None]
        used, running = q.tenant_load(s)
        quotas = q.quotas(s)
        holds = HoldBatch(s, (j.tenant_id for j in pending), (j.id for j in pending))
        for job in pending:
            plan = job.plan or plans.get(job.id)
            if plan is None:
                continue  # arrived after the planning pass: next tick
            if isinstance(plan, Exception):
                exc = plan
                repo.transition(s, job.id, "FAILED", allowed={"PENDING"}, reason="infeasible",
                                detail={"error": str(exc)[:500]}, message=str(exc)[:1000],
                                now=ts(now))
                continue
            n = int(plan["devices"])
            max_dev, max_jobs = quotas.get(job.tenant_id, (0, 0))
            if (max_dev and used.get(job.tenant_id, 0) + n > max_dev) or (
                    max_jobs and running.get(job.tenant_id, 0) >= max_jobs):
                _wait(s, job, "quota", {"devices": n, "max_devices": max_dev,
                                        "max_running_jobs": max_jobs})
                continue
            amount = _hold_amount(s, job, plan, cache)
            if not holds.hold(job.tenant_id, job.id, amount):
                _wait(s, job, "insufficient_balance", {"hold": str(amount)})
                continue
            plan = {**plan, "run_id": plan.get("run_id") or uuid.uuid4().hex[:10]}
            moves.append((job.id, {"hold": str(amount), "devices": n,
                                   "pools": sorted(plan["pools"])},
                          {"plan": plan, "quote": amount}))
            used[job.tenant_id] = used.get(job.tenant_id, 0) + n
            running[job.tenant_id] = running.get(job.tenant_id, 0) + 1
        holds.write()
        admitted = len(q.transition_many(s, moves, "ADMITTED", allowed={"PENDING"},
                                         reason="admitted", now=ts(now)))
        s.commit()
    return admitted
