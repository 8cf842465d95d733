"""A workload: the jobs a simulation replays, stored column-wise (cheap for a million jobs).

``runtime_s`` is the TRUE run time on a speed-1.0 device; only the simulator reads it (to know
when a job ends). Policies see :class:`suanwang.sched.state.JobView`, built at arrival, which
carries estimates but never this column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from suanwang.core.errors import ConfigError


@dataclass(kw_only=True)
class Workload:
    """Jobs sorted by submission time. Optional columns may be None (then defaults apply).

    ``users``/``tenants`` are name tables indexed by ``user``/``tenant``; ``constraints`` a
    table of allowed accelerator sets indexed by ``constraint`` (-1 = any). ``estimate_s`` is a
    planner prediction (NaN = none: the driver's estimator predicts), ``requested_s`` a user
    wall-time limit (0 = none). ``data_center`` indexes ``centers`` (-1 = no data to stage).
    ``model`` indexes ``models`` (catalog model names, -1 = unknown): jobs with a model get
    job-specific speeds per accelerator from the planner's throughput model.
    ``checkpoint_stall_s`` is the blocking time of one checkpoint save: with the job MTBF of a
    gang on a pool it gives the run's failure-aware ``checkpoint_interval_s`` (the engine asks
    the reliability model); ``restart_cost_s`` is paid when a run resumes.
    ``graceful_preemption``: a preempted run commits a final checkpoint on the signal (taking
    ``checkpoint_stall_s``) and keeps its work, as suanwang's runtime does (docs/runtime.md:
    0 lost steps over 5 preemptions in ``bench preempt``); False = jobs that do not checkpoint
    on a signal lose their work since the last periodic checkpoint, as on a failure.
    """

    name: str
    submit_s: np.ndarray
    runtime_s: np.ndarray
    num_devices: np.ndarray
    user: np.ndarray
    users: list[str]
    tenant: np.ndarray | None = None
    tenants: list[str] | None = None
    estimate_s: np.ndarray | None = None
    requested_s: np.ndarray | None = None
    priority: np.ndarray | None = None
    constraint: np.ndarray | None = None
    constraints: list[frozenset[str]] = field(default_factory=list)
    data_center: np.ndarray | None = None
    centers: list[str] = field(default_factory=list)
    data_bytes: np.ndarray | None = None
    model: np.ndarray | None = None
    models: list[str] = field(default_factory=list)
    checkpoint_stall_s: float = 30.0
    restart_cost_s: float = 120.0
    graceful_preemption: bool = True
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.graceful_preemption, bool):
            raise ConfigError(f"must be true or false (got {self.graceful_preemption!r})",
                              field="graceful_preemption")
        n = len(self.submit_s)
        for col in ("runtime_s", "num_devices", "user"):
            if len(getattr(self, col)) != n:
                raise ConfigError(f"workload column '{col}' has {len(getattr(self, col))} rows, "
                                  f"expected {n}")
        if n and np.any(np.diff(self.submit_s) < 0):
            order = np.argsort(self.submit_s, kind="stable")
            for col in ("submit_s", "runtime_s", "num_devices", "user", "tenant", "estimate_s",
                        "requested_s", "priority", "constraint", "data_center", "data_bytes",
                        "model"):
                arr = getattr(self, col)
                if arr is not None:
                    setattr(self, col, arr[order])

    def __len__(self) -> int:
        return len(self.submit_s)

    @property
    def device_seconds(self) -> float:
        """Total work in device-seconds on speed-1.0 devices."""
        return float(np.sum(self.runtime_s * self.num_devices))
