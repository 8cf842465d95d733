"""Per-job log of a simulation and the summary metrics computed from it.

* JCT (job completion time) = end - submit; queueing delay (wait) = first start - submit;
  the tail: p99 and max wait, and the number of jobs that waited longer than 7 days. Queued
  time = all the time a job spent in the queue, before its first start and after each
  preemption or failure until it resumed (p99 and max): the wait a preempted job also pays.
* bounded slowdown = max(JCT / max(run, 10 s), 1) (Feitelson et al., JSSPP'97), run = the
  job's true run time on a speed-1.0 device (the same denominator for every policy; a job that
  ran on a faster pool and never waited counts 1, not less); mean and p99.
* per-size-class mean JCT: gangs of 1, 2-8, 9-64 and > 64 devices (CPU-only jobs with 0
  devices are in no class).
* utilization = busy device-seconds / (devices x makespan); makespan = last end - first submit.
* ETTR (effective training time ratio, failure_stats.md §3 item 5) = 1 - unproductive / busy
  device-seconds, unproductive being work lost to failures since the last checkpoint and to
  preemptions (one final checkpoint save each when graceful, else as failures), restart costs
  and WAN data staging.
* cost = device-hours x pool price (federation currency); energy = device-seconds x watts per
  device x PUE, in kWh.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from suanwang.sched.state import PoolView

WEEK_S = 7 * 86400.0
SLOWDOWN_BOUND_S = 10.0
SIZE_CLASSES: tuple[tuple[str, int, int], ...] = (
    ("1", 1, 1), ("2-8", 2, 8), ("9-64", 9, 64), (">64", 65, 1 << 62))
"""(label, min devices, max devices) of the per-size-class JCT columns."""


class JobLog:
    """Times per job (lists: cheap appends in the hot loop) and running totals."""

    def __init__(self, n: int) -> None:
        nan = float("nan")
        self.submit = [nan] * n
        self.first_start = [nan] * n
        self.end = [nan] * n
        self.queued = [0.0] * n  # seconds in the queue over all attempts
        self._since = [nan] * n  # when the job last entered the queue
        self.busy_device_s = 0.0
        self.unproductive_device_s = 0.0
        self.cost = 0.0
        self.energy_j = 0.0
        self.preemptions = 0
        self.failures = 0
        self.rejected_jobs = 0
        self.constraints_dropped = 0

    def submitted(self, i: int, t: float) -> None:
        self.submit[i] = t
        self._since[i] = t

    def requeued(self, i: int, t: float) -> None:
        """Job ``i`` re-entered the queue at ``t`` (preempted or failed)."""
        self._since[i] = t

    def started(self, i: int, t: float) -> None:
        if self.first_start[i] != self.first_start[i]:  # NaN: first start
            self.first_start[i] = t
        self.queued[i] += t - self._since[i]

    def add_run(self, device_s: float, pool: PoolView) -> None:
        self.busy_device_s += device_s
        self.cost += device_s / 3600.0 * pool.price_per_device_hour
        self.energy_j += device_s * pool.watts_per_device * pool.pue

    def interrupted(self, *, failed: bool, lost_device_s: float) -> None:
        self.unproductive_device_s += lost_device_s
        if failed:
            self.failures += 1
        else:
            self.preemptions += 1

    def ended(self, i: int, t: float, *, overhead_device_s: float = 0.0) -> None:
        assert self.end[i] != self.end[i], f"job {i} ended twice"
        self.end[i] = t
        self.unproductive_device_s += overhead_device_s

    def rejected(self, i: int) -> None:
        self.rejected_jobs += 1


@dataclass(kw_only=True)
class SimResult:
    """Summary of one simulation (seconds, device counts, federation currency, kWh)."""

    policy: str
    jobs: int
    finished: int
    rejected: int
    mean_jct_s: float
    p50_jct_s: float
    p99_jct_s: float
    mean_wait_s: float
    p99_wait_s: float
    max_wait_s: float
    waits_over_7d: int
    utilization: float
    makespan_s: float
    ettr: float
    cost: float
    energy_kwh: float
    preemptions: int
    failures: int
    wall_s: float
    events: int
    jct_s: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    timeline: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 2)))
    devices: int = 0
    constraints_dropped: int = 0
    mean_bounded_slowdown: float = 0.0
    p99_bounded_slowdown: float = 0.0
    size_class_mean_jct_s: dict[str, float | None] = field(default_factory=dict)
    mean_queue_len: float = 0.0
    peak_queue_len: int = 0
    p99_queued_s: float = 0.0
    max_queued_s: float = 0.0

    def to_dict(self) -> dict:
        return {
            "mean_jct_s": self.mean_jct_s, "p50_jct_s": self.p50_jct_s,
            "p99_jct_s": self.p99_jct_s, "mean_wait_s": self.mean_wait_s,
            "p99_wait_s": self.p99_wait_s, "max_wait_s": self.max_wait_s,
            "waits_over_7d": self.waits_over_7d, "utilization": self.utilization,
            "makespan_s": self.makespan_s, "jobs": self.jobs, "finished": self.finished,
            "rejected": self.rejected, "ettr": self.ettr, "cost": self.cost,
            "energy_kwh": self.energy_kwh, "preemptions": self.preemptions,
            "failures": self.failures, "constraints_dropped": self.constraints_dropped,
            "mean_bounded_slowdown": self.mean_bounded_slowdown,
            "p99_bounded_slowdown": self.p99_bounded_slowdown,
            "size_class_mean_jct_s": dict(self.size_class_mean_jct_s),
            "mean_queue_len": self.mean_queue_len, "peak_queue_len": self.peak_queue_len,
            "p99_queued_s": self.p99_queued_s, "max_queued_s": self.max_queued_s,
            "wall_s": self.wall_s, "events": self.events,
        }


def summarize(policy: str, log: JobLog, cluster, workload, *, wall_s: float, events: int,
              timeline: list[tuple[float, int]]) -> SimResult:
    submit = np.asarray(log.submit, dtype=float)
    start = np.asarray(log.first_start, dtype=float)
    end = np.asarray(log.end, dtype=float)
    done = ~np.isnan(end)
    jct = end[done] - submit[done]
    wait = start[done] - submit[done]
    queued = np.asarray(log.queued, dtype=float)[done]
    devices = cluster.devices
    makespan = float(end[done].max() - np.nanmin(submit)) if done.any() else 0.0

    def stat(a: np.ndarray, f) -> float:
        return float(f(a)) if len(a) else 0.0

    busy = log.busy_device_s
    run = np.maximum(np.asarray(workload.runtime_s, dtype=float)[done], SLOWDOWN_BOUND_S)
    bsld = np.maximum(jct / run, 1.0)  # a job on a pool faster than the reference is not < 1
    sizes = np.asarray(workload.num_devices)[done]
    classes = {}
    for label, lo, hi in SIZE_CLASSES:
        sel = (sizes >= lo) & (sizes <= hi)
        classes[label] = float(jct[sel].mean()) if sel.any() else None
    return SimResult(
        policy=policy, jobs=len(workload), finished=int(done.sum()), rejected=log.rejected_jobs,
        mean_jct_s=stat(jct, np.mean), p50_jct_s=stat(jct, lambda a: np.percentile(a, 50)),
        p99_jct_s=stat(jct, lambda a: np.percentile(a, 99)), mean_wait_s=stat(wait, np.mean),
        p99_wait_s=stat(wait, lambda a: np.percentile(a, 99)), max_wait_s=stat(wait, np.max),
        waits_over_7d=int(np.sum(wait > WEEK_S)),
        utilization=busy / (devices * makespan) if makespan > 0 else 0.0,
        makespan_s=makespan, ettr=1.0 - log.unproductive_device_s / busy if busy else 1.0,
        cost=log.cost, energy_kwh=log.energy_j / 3.6e6, preemptions=log.preemptions,
        failures=log.failures, wall_s=wall_s, events=events, jct_s=jct,
        timeline=np.asarray(timeline, dtype=float).reshape(-1, 2), devices=devices,
        constraints_dropped=log.constraints_dropped,
        mean_bounded_slowdown=stat(bsld, np.mean),
        p99_bounded_slowdown=stat(bsld, lambda a: np.percentile(a, 99)),
        size_class_mean_jct_s=classes,
        p99_queued_s=stat(queued, lambda a: np.percentile(a, 99)),
        max_queued_s=stat(queued, np.max))
