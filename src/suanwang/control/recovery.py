"""What to do when an attempt ends: pure decisions, no I/O.

* SUCCEEDED -> the job SUCCEEDED.
* CANCELLED because the tenant asked -> the job CANCELLED; because the policy preempted it ->
  the job goes back to the queue (RETRYING, reason ``preempted``) and resumes from its latest
  checkpoint; a preemption never counts against ``max_attempts``. PREEMPTED by the center: same.
* FAILED: a batch job's own non-zero exit is final (retrying a failing command does not fix it);
  a training run exiting 2 refused its config (final); any other training failure is retried.
* NODE_FAIL (process tree or node lost): retried.

A retry is allowed while the job has had fewer than ``max_attempts`` failed attempts. Where it
may run: ``retry_same`` pins it to the center that failed (its checkpoints are there);
``failover`` excludes that center (when another allowed center exists). Either way it resumes
from its latest checkpoint (the runtime's run directory for real centers, the checkpointed
progress fraction for simulated ones).
"""

from __future__ import annotations

from dataclasses import dataclass

from suanwang.backends.base import AttemptState
from suanwang.core.errors import ConfigError

MODES = ("retry_same", "failover")
CONFIG_EXIT_CODE = 2  # python -m suanwang.runtime: the job file or a rank refused the config


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """``mode``: retry_same | failover; ``max_attempts``: failed attempts allowed per job."""

    mode: str = "retry_same"
    max_attempts: int = 3

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"must be one of {', '.join(MODES)} (got {self.mode!r})",
                              field="retry")
        if self.max_attempts < 1:
            raise ConfigError(f"must be >= 1 (got {self.max_attempts})", field="max-attempts")


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """``job_state``: SUCCEEDED | FAILED | CANCELLED | RETRYING; ``pools``: the pool keys the
    retry may use (None = all the plan allows); ``counts``: whether it used up an attempt."""

    job_state: str
    reason: str
    pools: tuple[str, ...] | None = None
    counts: bool = False


def decide(policy: RetryPolicy, *, kind: str, state: AttemptState, exit_code: int | None,
           reason: str, cancel_requested: bool, preempted: bool, failures_before: int,
           center: str, plan_pools: tuple[str, ...]) -> Outcome:
    """The job's next state after an attempt ended in ``state`` (see module doc)."""
    if state is AttemptState.SUCCEEDED:
        return Outcome(job_state="SUCCEEDED", reason="succeeded")
    if cancel_requested:
        return Outcome(job_state="CANCELLED", reason="cancelled")
    if state is AttemptState.PREEMPTED or (state is AttemptState.CANCELLED and preempted):
        return Outcome(job_state="RETRYING", reason="preempted")
    if state is AttemptState.CANCELLED:
        return Outcome(job_state="CANCELLED", reason=reason or "cancelled by the center")
    if state is AttemptState.FAILED and (kind == "batch" or exit_code == CONFIG_EXIT_CODE):
        why = f"exit code {exit_code}" if exit_code is not None else (reason or "failed")
        return Outcome(job_state="FAILED", reason=why[:64])
    label = "node_fail" if state is AttemptState.NODE_FAIL else "failed"
    if failures_before + 1 >= policy.max_attempts:
        return Outcome(job_state="FAILED", reason=f"{label}: {policy.max_attempts} attempts"[:64],
                       counts=True)
    same = tuple(p for p in plan_pools if p.startswith(center + "/"))
    other = tuple(p for p in plan_pools if not p.startswith(center + "/"))
    pools = same if policy.mode == "retry_same" else (other or same)
    return Outcome(job_state="RETRYING", reason=label, pools=pools or None, counts=True)
