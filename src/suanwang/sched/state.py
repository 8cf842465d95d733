"""What a scheduling policy sees: queued jobs, running jobs and pools of free devices.

A policy is a pure function of ``(state, queue, now_s)``; it never mutates these objects. The
simulator keeps one :class:`ClusterState` up to date incrementally (so a decision costs what the
policy reads, not O(running jobs)); the live control loop builds one from the store each tick.
Both drivers hand the policy the same types, so the same policy runs under both unchanged.

Device counts are whole devices. A job is a gang: it runs on ``num_devices`` devices of ONE pool
(one accelerator type in one center), all at once or not at all.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

REFERENCE_ACCELERATOR = "A100-SXM-80GB"
"""Catalog name of the speed-1.0 device: trace run times and ``estimate_s`` are seconds on it
(its figures, like every device's, come from the catalog)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobView:
    """A job as the scheduler knows it. It never carries the job's true duration.

    ``estimate_s`` is a prediction of the run time on a speed-1.0 device supplied at submission
    (the planner's step-time prediction for training jobs); None lets the state's estimator
    predict it (per-user history for trace jobs). ``requested_s`` is a user wall-time limit (0 =
    none). ``accelerators`` restricts the device types (None = any). ``data_center`` is where the
    job's input data lives and ``data_bytes`` its size: placing it elsewhere costs a WAN copy.
    ``done_s`` is checkpointed progress (speed-1.0 seconds) of a job preempted or failed before.
    ``model`` (a catalog model name) lets the state's ``throughput`` give job-specific speeds.
    ``preempt_save_s`` is how long the job's final checkpoint takes when it is preempted: the
    runtime commits one on SIGTERM / SIGUSR1 within ``run.preempt_grace_s`` (docs/runtime.md),
    so a preempted run keeps its work up to ``preempt_save_s`` before the stop; None = the job
    does not checkpoint on a signal and loses its work since the last periodic checkpoint, as a
    failed run does (:func:`preempted_s`).
    """

    job_id: int
    user: str
    tenant: str
    num_devices: int
    submit_s: float
    priority: int = 0
    estimate_s: float | None = None
    requested_s: float = 0.0
    accelerators: frozenset[str] | None = None
    data_center: str | None = None
    data_bytes: float = 0.0
    preemptible: bool = True
    checkpoint_interval_s: float = 0.0
    restart_cost_s: float = 0.0
    done_s: float = 0.0
    restarts: int = 0
    model: str | None = None
    preempt_save_s: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolView:
    """A homogeneous pool: one accelerator type in one center.

    ``speed`` is the relative training throughput per device (1.0 = the reference device); a job
    runs ``1/speed`` times as long here as on the reference. Price per device-hour is in the
    federation's currency; watts per device include node overhead, PUE is the center's.
    ``weight``: among pools equally good for a job, lower weights are used first (Slurm's node
    ``Weight``, set by the operator; see :func:`suanwang.sched.placement.choose_pool`).
    """

    name: str
    center: str
    accelerator: str
    devices: int
    devices_per_node: int = 8
    speed: float = 1.0
    price_per_device_hour: float = 0.0
    watts_per_device: float = 0.0
    pue: float = 1.0
    weight: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class RunningView:
    """A running job: where, since when, and what the scheduler expects of it. ``nodes``
    (node-aware drivers): the ``(node index in the pool, devices)`` pairs the run holds."""

    job: JobView
    pool: int
    start_s: float
    nodes: tuple[tuple[int, int], ...] = ()


class RuntimeEstimator(Protocol):
    """Predicts a job's run time on a speed-1.0 device from what is known now (never the truth).

    ``skill`` in [0, 1] says how far the predictions have proven better than knowing nothing
    (1 = trust fully); policies that order by predictions fall back to arrival order at 0.
    """

    skill: float

    def predict_s(self, job: JobView) -> float: ...


@dataclass(frozen=True, slots=True)
class FixedEstimator:
    """Uses the job's own ``estimate_s`` (planner prediction), else ``default_s``."""

    default_s: float = 3600.0
    skill: float = 1.0  # planner predictions are trusted (errors of tens of percent)

    def predict_s(self, job: JobView) -> float:
        return job.estimate_s if job.estimate_s is not None else self.default_s


@dataclass(slots=True, kw_only=True)
class ClusterState:
    """Everything a policy may read besides the queue.

    ``free`` is aligned with ``pools`` (free devices per pool). ``running`` maps job id to its
    :class:`RunningView`. ``tenant_devices`` is devices held now per tenant; ``shares`` the
    tenants' fair-share weights (missing = 1.0). ``wan_bytes_per_s`` maps a (src, dst) center
    pair to WAN bandwidth for data staging (missing pairs: ``default_wan_bytes_per_s``).
    ``throughput(model, accelerator, devices)`` (tokens/s) gives job-specific speeds; the driver
    passes a memoized function (e.g. ``plan.throughput.tokens_per_s``).

    ``node_free`` (node-aware drivers only; None = devices counted per pool): for each pool, a
    sequence of ``devices_per_node + 1`` counts, entry k = the number of nodes with exactly k
    free devices. Then a gang of n <= devices_per_node must fit within one node and a larger
    one takes ceil(n / devices_per_node) wholly free nodes (:func:`node_fits`).

    ``running_priorities`` (optional): number of running preemptible jobs per priority, for
    drivers that keep it incrementally (the simulator); None = policies scan ``running``.

    ``queue_log`` (optional, drivers that keep it: the simulator): an append-only feed of queue
    changes, ``(job_id, view)`` when a job enters (or re-enters) the queue and ``(job_id,
    None)`` when it leaves. A policy may use it to update a memoized order instead of re-sorting
    a long queue on every call; the result must equal a fresh computation from the queue.
    ``running_log`` (optional): the same feed for ``running`` (``(job_id, run)`` on start,
    ``(job_id, None)`` on end, failure or preemption).

    ``node_devices`` (optional, node-aware drivers that also set ``RunningView.nodes``): for
    each pool, the free devices of each node by node index. With it a policy can tell which
    nodes a preemption frees (:func:`suanwang.sched.priority.try_preempt`).

    The state is never written by a policy: everything derived here (``fastest_speed``) is
    computed once when the state is built, from ``pools``.
    """

    pools: Sequence[PoolView]
    free: Sequence[int]
    running: Mapping[int, RunningView]
    estimator: RuntimeEstimator = field(default_factory=FixedEstimator)
    throughput: Callable[[str, str, int], float] | None = None
    reference_accelerator: str = REFERENCE_ACCELERATOR
    tenant_devices: Mapping[str, int] = field(default_factory=dict)
    shares: Mapping[str, float] = field(default_factory=dict)
    wan_bytes_per_s: Mapping[tuple[str, str], float] = field(default_factory=dict)
    default_wan_bytes_per_s: float = 1.25e9
    node_free: Sequence[Sequence[int]] | None = None
    running_priorities: Mapping[int, int] | None = None
    queue_log: Sequence[tuple[int, JobView | None]] | None = None
    running_log: Sequence[tuple[int, RunningView | None]] | None = None
    node_devices: Sequence[Sequence[int]] | None = None
    _sizes: tuple[int, ...] = field(default=(), init=False, repr=False, compare=False)
    _fastest: tuple[float, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Pools by size ascending; _fastest[i] = max speed over pools at least _sizes[i] big.
        by_size = sorted((p.devices, p.speed) for p in self.pools)
        best, fastest = 0.0, []
        for _, speed in reversed(by_size):
            best = max(best, speed)
            fastest.append(best)
        self._sizes = tuple(d for d, _ in by_size)
        self._fastest = tuple(reversed(fastest))

    def speed(self, job: JobView, pool: int) -> float:
        """Relative speed of ``job`` on pool index ``pool`` (0 = cannot run there).

        Without a model or a throughput function: the pool's generic ``speed``. With both:
        ``throughput(model, accelerator, devices) / throughput(model, reference, devices)``,
        the performance model's tokens/s ratio for this job's model and gang size.
        """
        p = self.pools[pool]
        if job.model is None or self.throughput is None:
            return p.speed
        ref = self.throughput(job.model, self.reference_accelerator, job.num_devices)
        if ref <= 0:
            return p.speed
        return self.throughput(job.model, p.accelerator, job.num_devices) / ref

    def fastest_speed(self, num_devices: int) -> float:
        """Speed of the fastest pool that can ever host ``num_devices`` (any accelerator)."""
        i = bisect_left(self._sizes, num_devices)
        return self._fastest[i] if i < len(self._fastest) else 0.0

    def estimate_s(self, job: JobView) -> float:
        """Predicted remaining run time on a speed-1.0 device (estimate minus saved progress)."""
        est = job.estimate_s if job.estimate_s is not None else self.estimator.predict_s(job)
        if job.requested_s > 0:
            est = min(est, job.requested_s)
        return max(est - job.done_s, 1.0)

    def overhead_s(self, job: JobView, pool: int) -> float:
        """Seconds a run of ``job`` on ``pool`` holds its devices before computing: WAN data
        staging to the pool's center, plus the restart cost when resuming (``restarts > 0``).
        The simulator charges exactly this (one definition for estimates and the engine)."""
        over = staging_s(self, job, self.pools[pool].center) if job.data_bytes else 0.0
        return over + job.restart_cost_s if job.restarts else over

    def run_s(self, job: JobView, pool: int, est_s: float | None = None) -> float:
        """Predicted wall seconds a run of ``job`` on ``pool`` holds its devices:
        :meth:`overhead_s` + remaining estimate / speed (``est_s`` = :meth:`estimate_s`)."""
        if est_s is None:
            est_s = self.estimate_s(job)
        run = est_s / self.speed(job, pool)
        if job.data_bytes or job.restarts:
            run += self.overhead_s(job, pool)
        return run

    def expected_end_s(self, run: RunningView, now_s: float) -> float:
        """When the scheduler expects a running job to end.

        Before its prediction runs out: start + :meth:`run_s`. After (under-predicted), the
        job is expected to run as long again as it has run (a doubling guess, as a job that
        has lasted t is likely to last about t more), never before ``now_s + 1``.
        """
        predicted = self.predicted_end_s(run)
        if now_s < predicted:
            return predicted
        return now_s + max(now_s - run.start_s, 1.0)

    def predicted_end_s(self, run: RunningView) -> float:
        """start + :meth:`run_s` of a running job (its end if its prediction is right)."""
        job = run.job
        if job.data_bytes or job.restarts or job.model is not None:
            return run.start_s + self.run_s(job, run.pool)
        # fast path of run_s (hot: called per running job when reserving)
        return run.start_s + self.estimate_s(job) / self.pools[run.pool].speed

    def fits_anywhere(self, job: JobView) -> bool:
        """True when some pool could ever host the job (size and accelerator constraint)."""
        return any(allowed(job, p) and p.devices >= job.num_devices and self.speed(job, i) > 0
                   for i, p in enumerate(self.pools))


def staging_s(state: ClusterState, job: JobView, center: str) -> float:
    """Seconds to copy the job's input data over the WAN to ``center`` (0 when local)."""
    if not job.data_bytes or job.data_center is None or job.data_center == center:
        return 0.0
    bw = state.wan_bytes_per_s.get((job.data_center, center), state.default_wan_bytes_per_s)
    return job.data_bytes / bw


def checkpointed_s(job: JobView, held_s: float, overhead_s: float) -> tuple[float, float]:
    """(computed, saved) wall seconds of a run that held its devices ``held_s`` seconds, of
    which the first ``overhead_s`` were staging/restart (:meth:`ClusterState.overhead_s`).

    Saved = computed time rounded down to whole ``checkpoint_interval_s`` (0 without
    checkpoints). Used by the simulator (what a stopped run keeps) and by the preemption
    policy (what stopping it would lose), so the two agree.
    """
    worked = max(held_s - overhead_s, 0.0)
    c = job.checkpoint_interval_s
    return worked, (math.floor(worked / c) * c if c > 0 else 0.0)


def preempted_s(job: JobView, held_s: float, overhead_s: float) -> tuple[float, float]:
    """(computed, saved) wall seconds of a run stopped by a preemption after holding its devices
    ``held_s`` seconds (the first ``overhead_s`` staging/restart).

    With ``job.preempt_save_s`` set (the runtime's final checkpoint on SIGTERM, measured to lose
    no steps: docs/runtime.md, ``bench preempt``) the run keeps what it computed up to
    ``preempt_save_s`` before the stop (the devices are modelled as freed at the stop, the save
    time counted as lost), never less than its last periodic checkpoint; without it, as
    :func:`checkpointed_s` (what a failure keeps). Used by the simulator and by the preemption
    policy's victim cost, so the two agree.
    """
    worked, saved = checkpointed_s(job, held_s, overhead_s)
    save = job.preempt_save_s
    if save is not None and save == save:  # (NaN: as None)
        saved = max(saved, worked - max(save, 0.0))
    return worked, saved


def node_fits(counts: Sequence[int], n: int, per_node: int) -> bool:
    """Whether a gang of ``n`` devices fits nodes with these free-count buckets (entry k = nodes
    with k free devices): within one node if ``n <= per_node``, else on ceil(n/per_node)
    wholly free nodes (the usual gang/topology rule)."""
    if n <= 0:
        return True
    if n <= per_node:
        return any(counts[k] for k in range(n, per_node + 1))
    return counts[per_node] >= -(-n // per_node)


def take_nodes(counts: list[int], n: int, per_node: int) -> None:
    """Update ``counts`` (a local copy) for a gang of ``n`` placed as the simulator places it:
    best fit (the node with the fewest free devices that still fit) for small gangs, whole free
    nodes (the last one partly) for large ones. The caller checked :func:`node_fits`."""
    if n <= 0:
        return
    if n <= per_node:
        k = next(k for k in range(n, per_node + 1) if counts[k])
        counts[k] -= 1
        counts[k - n] += 1
        return
    m = -(-n // per_node)
    counts[per_node] -= m
    counts[0] += m - 1
    counts[per_node - (n - (m - 1) * per_node)] += 1


def shift_node(counts: list[int], per_node_free: list[int], node: int, delta: int) -> None:
    """Give ``node`` ``delta`` more free devices (negative: fewer) in ``per_node_free`` (free
    devices by node index) and keep ``counts`` (nodes per free count, as :func:`node_fits`
    reads it) in step. Both are the caller's local copies."""
    counts[per_node_free[node]] -= 1
    per_node_free[node] += delta
    counts[per_node_free[node]] += 1


def allowed(job: JobView, pool: PoolView) -> bool:
    """Whether the job's accelerator constraint admits the pool's type."""
    return job.accelerators is None or pool.accelerator in job.accelerators


Queue = Collection[JobView]
"""The waiting jobs in submission order (a preempted job re-enters at its submit position)."""
