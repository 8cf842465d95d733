"""Jobs, their events, metrics, attempts and logs as the API shows them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from suanwang.api.schemas.common import MoneyOut, Out


class JobPublic(Out):
    id: int
    name: str
    kind: str
    state: str
    reason: str | None
    message: str | None
    priority: int
    spec: dict[str, Any]
    placement: dict[str, Any] | None
    plan: dict[str, Any] | None
    quote: MoneyOut | None
    cancel_requested_at: datetime | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    ended_at: datetime | None


class JobsPublic(Out):
    data: list[JobPublic]
    count: int


class EventPublic(Out):
    id: int
    at: datetime
    from_state: str | None
    to_state: str
    reason: str
    detail: dict[str, Any]


class EventsPublic(Out):
    data: list[EventPublic]
    count: int


class MetricPublic(Out):
    step: int
    at: datetime
    loss: float | None
    tokens_per_s: float | None
    mfu: float | None
    detail: dict[str, Any]


class MetricsPublic(Out):
    data: list[MetricPublic]
    count: int


class AttemptLog(Out):
    attempt: int
    center: str
    state: str
    exit_code: int | None
    text: str
    source: str


class LogsPublic(Out):
    job_id: int
    attempts: list[AttemptLog]


class PlanOption(Out):
    center: str
    accelerator: str
    devices: int
    nodes: int
    time_s: float
    checkpoint_interval_s: float  # the plan's failure-aware interval, s (reliability/interval.py)
    checkpoint_every_s: float  # deprecated: the same value under its old name
    planner_cost: float
    hold: MoneyOut
    transfer_s: float = 0.0  # WAN copy of attached models/datasets (plan.market)
    transfer_cost: MoneyOut = Decimal(0)


class PlanPublic(Out):
    kind: str
    devices: int
    estimate_s: float
    source: str
    options: list[PlanOption]
