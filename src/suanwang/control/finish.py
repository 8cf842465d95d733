"""Recording what an attempt did: runtime events into job metrics, an ended attempt into usage,
its job's next state and the bill. Each function works inside the caller's write transaction,
so an ended attempt is metered, transitioned and settled atomically — or not at all, and the
next tick (or a restarted controller) does it again from the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from suanwang.backends.base import AttemptState, Backend, BackendStatus, Handle
from suanwang.control.recovery import RetryPolicy, decide
from suanwang.control.runtime_events import (
    CHECKPOINT_EVENTS,
    NOTES,
    STEP_DETAIL,
    checkpoint_step,
    is_new_checkpoint,
    note_detail,
)
from suanwang.core.federation import Federation
from suanwang.store import dispatch as q
from suanwang.store import jobs as repo
from suanwang.store.base import utcnow
from suanwang.store.billing import settle
from suanwang.store.billing.energy import energy_kwh
from suanwang.store.models import Job, JobEvent, JobMetric
from suanwang.store.usage import record_usage

LIVE = ("PENDING", "RUNNING")


def ts(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)


@dataclass
class AttemptInfo:
    """What the controller keeps in memory about one attempt (rebuilt from the store)."""

    id: int
    job_id: int
    n: int
    center: str
    handle: Handle | None
    detail: dict[str, Any]


def ingest_events(s: Session, backend: Backend, a: AttemptInfo, *, total_steps: int,
                  job_state: str) -> bool:
    """Read the attempt's new runtime events; steps -> job_metrics; committed checkpoints ->
    progress and a ``checkpoint`` job event (once per step); failures, restarts, preemption,
    checkpoint fallback/damage, rollbacks, stragglers, ... -> job events named by
    :data:`~suanwang.control.runtime_events.NOTES` (from = to = ``job_state``, the job's reason
    is left alone). The cursor moves in the same transaction, so every event is ingested exactly
    once. Returns True if anything was read."""
    if a.handle is None:
        return False
    cursor = int(a.detail.get("cursor", 0))
    events, new = backend.events(a.handle, cursor)
    if new == cursor:
        return False
    metrics: list[Any] = []
    for e in events:
        kind = e.get("event")
        if kind == "step":
            metrics.append(JobMetric(
                job_id=a.job_id, attempt_id=a.id, step=int(e.get("step", 0)),
                at=ts(e.get("t")) or utcnow(),
                loss=e.get("loss"), tokens_per_s=e.get("tokens_per_s"), mfu=e.get("mfu"),
                detail={**{k: e.get(k) for k in STEP_DETAIL if k in e}, "attempt": a.n}))
        elif kind in CHECKPOINT_EVENTS:
            if not is_new_checkpoint(e, a.detail.get("ckpt_step")):
                continue  # the same commit seen as ckpt_persisted + ckpt_committed
            step = checkpoint_step(e)
            if step is not None:
                a.detail["ckpt_step"] = step
            p = e.get("progress")
            if p is None and step is not None and total_steps:
                p = min(1.0, step / total_steps)
            if p is not None:
                a.detail["progress"] = max(float(a.detail.get("progress", 0.0)), float(p))
                a.detail["checkpoints"] = int(a.detail.get("checkpoints", 0)) + 1
            metrics.append(_event(a, e, job_state, "checkpoint", progress=p))
        elif kind in NOTES:
            if kind == "straggler":
                a.detail["stragglers"] = sorted({*a.detail.get("stragglers", []),
                                                 int(e.get("rank", -1))})
            metrics.append(_event(a, e, job_state, NOTES[kind]))
    s.add_all(metrics)
    a.detail["cursor"] = new
    q.set_attempt(s, a.id, detail=dict(a.detail))
    return True


def _event(a: AttemptInfo, e: dict[str, Any], state: str, reason: str, **extra: Any
           ) -> JobEvent:
    detail = note_detail(e)
    detail.update({"attempt": a.n, "center": a.center, "runtime_attempt": e.get("attempt")},
                  **{k: v for k, v in extra.items() if v is not None})
    return JobEvent(job_id=a.job_id, at=ts(e.get("t")) or utcnow(), from_state=state,
                    to_state=state, reason=reason, detail=detail)


def meter(s: Session, backend: Backend, a: AttemptInfo, fed: Federation, st: BackendStatus,
          now: float) -> None:
    """Append the attempt's usage record (idempotent: unique per attempt)."""
    center = fed.center(a.center)
    acc = a.handle.data.get("accelerator", "") if a.handle else ""
    pool = next((p for p in center.pools if p.accelerator.name == acc), center.pools[0])
    if a.handle is not None:
        u = backend.usage(a.handle)
        dev_s, node_s, started, ended = u.device_seconds, u.node_seconds, u.started_at, u.ended_at
        kwh = u.energy_kwh if u.energy_kwh is not None else energy_kwh(
            dev_s, pool.watts_per_device, center.pue)
    else:
        dev_s = node_s = 0.0
        started = ended = None
        kwh = 0.0
    ended = ended or st.ended_at or now
    started = started or st.started_at or ended
    record_usage(s, attempt_id=a.id, device_seconds=dev_s, node_seconds=node_s,
                 energy_kwh=kwh, started_at=ts(started), ended_at=ts(ended),
                 accelerator=pool.accelerator.name)


def finish(s: Session, a: AttemptInfo, st: BackendStatus, *, job: Job, policy: RetryPolicy,
           plan_pools: tuple[str, ...], now: float) -> str:
    """Record the attempt's end and move its job (SUCCEEDED / FAILED / CANCELLED: settled in
    this transaction; RETRYING: back to the queue). Returns the job's new state ('' if the
    attempt had already been finished by an earlier run of this step)."""
    detail = {**a.detail, "reason": st.reason, "log_tail": st.log_tail[-4000:]}
    out = decide(policy, kind=job.kind, state=st.state, exit_code=st.exit_code,
                 reason=st.reason, cancel_requested=job.cancel_requested_at is not None,
                 preempted=bool(a.detail.get("preempt")),
                 failures_before=int(a.detail.get("failures", 0)), center=a.center,
                 plan_pools=plan_pools)
    detail["failures"] = int(a.detail.get("failures", 0)) + (1 if out.counts else 0)
    if out.pools is not None:
        detail["next_pools"] = list(out.pools)
    if not q.set_attempt(s, a.id, only_from=LIVE, state=st.state.value, exit_code=st.exit_code,
                         ended_at=ts(st.ended_at or now), detail=detail):
        return ""
    a.detail = detail
    ev = {"attempt": a.n, "center": a.center, "state": st.state.value,
          "exit_code": st.exit_code, "reason": st.reason}
    if st.log_tail and st.state is not AttemptState.SUCCEEDED:
        ev["log_tail"] = st.log_tail[-1000:]
    fields: dict[str, Any] = {}
    if out.job_state == "FAILED":
        fields["message"] = (st.reason + ("\n" + st.log_tail[-800:] if st.log_tail else ""))[:1000]
    repo.transition(s, job.id, out.job_state, reason=out.reason, detail=ev, now=ts(now),
                    allowed=_allowed(out.job_state), **fields)
    if out.job_state in ("SUCCEEDED", "FAILED", "CANCELLED"):
        settle(s, job.id)
    return out.job_state


def _allowed(to_state: str) -> frozenset[str]:
    if to_state == "SUCCEEDED":
        return frozenset({"RUNNING", "DISPATCHED"})
    if to_state == "RETRYING":
        return frozenset({"DISPATCHED", "RUNNING"})
    return frozenset({"DISPATCHED", "RUNNING", "RETRYING", "ADMITTED", "PENDING"})


def lost_status(reason: str, now: float) -> BackendStatus:
    """The status of an attempt its backend refused or lost before it ran."""
    return BackendStatus(state=AttemptState.NODE_FAIL, reason=reason[:200], ended_at=now)
