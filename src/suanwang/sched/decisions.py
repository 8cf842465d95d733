"""What a policy returns: start a job on a pool, or preempt a running job (it is requeued)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Start:
    """Start ``job_id`` on ``num_devices`` devices of pool index ``pool`` (a whole gang)."""

    job_id: int
    pool: int
    num_devices: int


@dataclass(frozen=True, slots=True)
class Preempt:
    """Stop ``job_id`` now; it resumes later from its last checkpoint, paying its restart cost."""

    job_id: int


Decision = Start | Preempt
