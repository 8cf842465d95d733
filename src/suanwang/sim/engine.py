"""Discrete-event federation simulator with a virtual clock (one heap of timed events).

Arrivals come from the workload (sorted, merged with the heap), ends and failures from the heap.
After all events at one instant are applied, the policy is asked ``decide(state, queue, now_s)``
and its decisions are applied: preemptions first, then starts. The state and queue are updated
incrementally, so one decision costs what the policy reads. A decision that breaks the rules
(unknown job, partial gang, more devices than free) is a policy bug and raises loudly.

Time model of one run of a job on pool p (speed v): it holds its devices for
``staging + restart + remaining_work / v`` seconds, where staging copies its input over the WAN
when the pool's center is not where the data lives, and restart (the job's restart cost) is paid
only when resuming after a preemption or failure. A failed run keeps the work up to its last
checkpoint and loses the rest; checkpoints come every ``checkpoint_interval_s`` wall seconds of
compute, the reliability model's failure-aware interval for that gang on that pool
(:meth:`FailureModel.checkpoint_interval_s`), set on the job's view when the run starts. A
preempted run commits a final checkpoint on the signal, as the runtime does (``Workload.
graceful_preemption``, default on): it keeps its work up to one checkpoint save
(``checkpoint_stall_s``) before the stop. All of these come from :mod:`suanwang.sched.state`
(``overhead_s``, ``checkpointed_s``, ``preempted_s``), the same definitions the policies
predict with. With ``SimOptions(node_aware=True)`` gangs are placed on
nodes (:class:`_Nodes`) and policies see free-node counts; otherwise devices are counted per pool.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from suanwang.core.errors import ConfigError
from suanwang.sched.decisions import Preempt, Start
from suanwang.sched.estimates import UserHistoryEstimator
from suanwang.sched.state import (
    ClusterState,
    JobView,
    RunningView,
    RuntimeEstimator,
    checkpointed_s,
    preempted_s,
)
from suanwang.sim.cluster import SimCluster
from suanwang.sim.failures import FailureModel
from suanwang.sim.metrics import JobLog, SimResult, summarize
from suanwang.sim.workload import Workload

_END, _FAIL, _TICK = 0, 1, 2


class OracleEstimator:
    """Predicts the TRUE run time: for calibration against published perfect-knowledge numbers
    only (the simulator owns the truth; no policy or shipped default uses it)."""

    skill = 1.0

    def __init__(self, runtime_s: np.ndarray) -> None:
        self._runtime_s = runtime_s

    def predict_s(self, job: JobView) -> float:
        return float(self._runtime_s[job.job_id])


MAX_SCHED_INTERVAL_S = 365 * 86400.0  # longer than any trace: a policy call every year


@dataclass(kw_only=True)
class SimOptions:
    """``estimator``: "history" (per-user, online) or "oracle" (true run times, calibration).
    ``failures``: draw failures from the reliability model. ``timeline``: record busy devices
    over time for plots. ``sched_interval_s``: 0 asks the policy after every event instant;
    T > 0 at most once every T virtual seconds (like Slurm's scheduling interval), coalescing
    the events in between — far fewer calls when the queue is long. ``node_aware``: place
    gangs on nodes (``devices_per_node`` per node): a gang of at most one node's devices on one
    node (best fit), a larger one on whole free nodes; policies see free-node counts
    (``ClusterState.node_free``). False counts devices per pool only."""

    estimator: str = "history"
    failures: bool = False
    seed: int = 0
    timeline: bool = False
    progress: Callable[[int], None] | None = None
    progress_every: int = 10000
    sched_interval_s: float = 0.0
    shares: dict[str, float] = field(default_factory=dict)
    node_aware: bool = False

    def __post_init__(self) -> None:
        if not (0 <= self.sched_interval_s <= MAX_SCHED_INTERVAL_S):
            raise ConfigError(f"must be seconds between 0 (after every event) and "
                              f"{MAX_SCHED_INTERVAL_S:.0f} (a year) (got {self.sched_interval_s})",
                              field="sched_interval_s")
        if self.seed < 0:
            raise ConfigError(f"must be >= 0 (got {self.seed})", field="seed")


def _make_estimator(kind: str, workload: Workload) -> RuntimeEstimator:
    if kind == "oracle":
        return OracleEstimator(workload.runtime_s)
    return UserHistoryEstimator()


def _inc(counts: dict[int, int], key: int) -> None:
    counts[key] = counts.get(key, 0) + 1


def _dec(counts: dict[int, int], key: int) -> None:
    c = counts[key] - 1
    if c:
        counts[key] = c
    else:
        del counts[key]


class _Nodes:
    """Per-node free devices of every pool, and the free-count buckets policies see.

    ``counts[p][k]`` = nodes of pool p with exactly k free devices; ``members[p][k]`` the set
    of those node indices. Placement (the usual gang/topology rule): a gang of at most one
    node's devices goes to the lowest-indexed node with the fewest free devices that fit (best
    fit); a larger gang takes the lowest-indexed ceil(n / per_node) wholly free nodes.
    """

    def __init__(self, pools) -> None:
        self.per_node = [p.devices_per_node for p in pools]
        self.free: list[list[int]] = []
        self.counts: list[list[int]] = []
        self.members: list[list[set[int]]] = []
        for p, d in zip(pools, self.per_node, strict=True):
            free = [d] * (p.devices // d) + ([p.devices % d] if p.devices % d else [])
            self.free.append(free)
            self.counts.append([0] * (d + 1))
            self.members.append([set() for _ in range(d + 1)])
            for node, f in enumerate(free):
                self.counts[-1][f] += 1
                self.members[-1][f].add(node)
        self.alloc: dict[int, list[tuple[int, int]]] = {}

    def _move(self, p: int, node: int, delta: int) -> None:
        old = self.free[p][node]
        new = old + delta
        self.free[p][node] = new
        self.members[p][old].discard(node)
        self.members[p][new].add(node)
        self.counts[p][old] -= 1
        self.counts[p][new] += 1

    def place(self, p: int, job: int, n: int) -> bool:
        """Place ``n`` devices of ``job`` on pool ``p``'s nodes; False if they do not fit."""
        d = self.per_node[p]
        if n <= 0:
            self.alloc[job] = []
            return True
        if n <= d:
            k = next((k for k in range(n, d + 1) if self.counts[p][k]), None)
            if k is None:
                return False
            node = min(self.members[p][k])
            self._move(p, node, -n)
            self.alloc[job] = [(node, n)]
            return True
        m = -(-n // d)
        if self.counts[p][d] < m:
            return False
        alloc, left = [], n
        for node in sorted(self.members[p][d])[:m]:
            take = min(d, left)
            left -= take
            alloc.append((node, take))
        for node, take in alloc:
            self._move(p, node, -take)
        self.alloc[job] = alloc
        return True

    def release(self, p: int, job: int) -> None:
        for node, take in self.alloc.pop(job):
            self._move(p, node, take)


class _Sim:
    """State of one run; :func:`simulate` is the entry point."""

    def __init__(self, workload: Workload, cluster: SimCluster, policy, opts: SimOptions):
        self.w = workload
        self.cluster = cluster
        self.policy = policy
        self.opts = opts
        self.pools = cluster.pools
        self.free = [p.devices for p in self.pools]
        self.total_free = sum(self.free)
        self.running: dict[int, RunningView] = {}
        self.tenant_devices: dict[str, int] = {}
        self.estimator = _make_estimator(opts.estimator, workload)
        self.observe = getattr(self.estimator, "observe", None)
        throughput = None
        if workload.model is not None:
            from suanwang.plan.throughput import tokens_per_s

            def throughput(model: str, accelerator: str, devices: int) -> float:
                return tokens_per_s(model, accelerator, devices)

        self.nodes = _Nodes(self.pools) if opts.node_aware else None
        # Priorities of running preemptible jobs (multiset), shared with the state.
        self.running_prio: dict[int, int] = {}
        self.queue_log: list[tuple[int, JobView | None]] = []
        self.running_log: list[tuple[int, RunningView | None]] = []
        self.state = ClusterState(
            pools=self.pools, free=self.free, running=self.running, estimator=self.estimator,
            tenant_devices=self.tenant_devices, shares=opts.shares,
            wan_bytes_per_s=cluster.wan_bytes_per_s, throughput=throughput,
            node_free=self.nodes.counts if self.nodes is not None else None,
            node_devices=self.nodes.free if self.nodes is not None else None,
            running_priorities=self.running_prio, queue_log=self.queue_log,
            running_log=self.running_log)
        self.queue: dict[int, JobView] = {}
        self.size_count: dict[int, int] = {}  # gang sizes in the queue (multiset)
        self.queued_prio: dict[int, int] = {}  # priorities in the queue (multiset)
        self.heap: list[tuple[float, int, int, int, int]] = []
        self.seq = 0
        self.epoch: dict[int, int] = {}  # runs of a job: events of older runs are stale
        self.run_overhead: dict[int, float] = {}  # job -> staging+restart of its current run
        self.log = JobLog(len(workload))
        self.reliability = FailureModel(cluster, seed=opts.seed)
        self.failures = self.reliability if opts.failures else None
        self.preempts_possible = bool(getattr(policy, "preempts", False))
        # A same-class preemption (the suanwang guard) is possible whenever something runs.
        self.same_class = (self.preempts_possible
                           and bool(getattr(policy, "preempts_same_class", False)))
        self.busy = 0
        self.timeline: list[tuple[float, int]] = []
        self.events = 0
        self.queue_area = 0.0  # integral of the queue length over virtual time (job-seconds)
        self.queue_peak = 0
        self._queue_t = math.nan
        self.accel_names = frozenset(p.accelerator for p in self.pools)
        self._columns()

    # -- queue bookkeeping ------------------------------------------------------------------
    def _enqueue(self, jv: JobView, *, requeue: bool = False) -> None:
        if requeue and self.queue:
            items = list(self.queue.items())
            items.append((jv.job_id, jv))
            items.sort(key=lambda kv: (kv[1].submit_s, kv[0]))
            self.queue.clear()
            self.queue.update(items)
        else:
            self.queue[jv.job_id] = jv
        _inc(self.size_count, jv.num_devices)
        _inc(self.queued_prio, jv.priority)
        self.queue_log.append((jv.job_id, jv))

    def _dequeue(self, job_id: int) -> JobView:
        jv = self.queue.pop(job_id)
        self.queue_log.append((job_id, None))
        _dec(self.size_count, jv.num_devices)
        _dec(self.queued_prio, jv.priority)
        return jv

    def _columns(self) -> None:
        """Workload columns as Python lists (fast scalar reads in the hot loop)."""
        w = self.w
        n = len(w)

        def col(arr, default):
            return arr.tolist() if arr is not None else [default] * n

        self.c_user = [w.users[u] for u in w.user.tolist()]
        self.c_tenant = ([w.tenants[t] for t in w.tenant.tolist()] if w.tenant is not None
                         else self.c_user)
        self.c_devices = w.num_devices.tolist()
        self.c_runtime = w.runtime_s.tolist()
        self.c_est = [None if e != e else e for e in col(w.estimate_s, math.nan)]
        self.c_req = col(w.requested_s, 0.0)
        self.c_prio = col(w.priority, 0)
        self.c_cons = col(w.constraint, -1)
        self.c_dc = col(w.data_center, -1)
        self.c_bytes = col(w.data_bytes, 0.0)
        self.c_model = col(w.model, -1)

    def _job_view(self, i: int, t: float) -> JobView:
        w = self.w
        cons = self.c_cons[i]
        dc = self.c_dc[i]
        return JobView(
            job_id=i, user=self.c_user[i], tenant=self.c_tenant[i],
            num_devices=self.c_devices[i], submit_s=t, priority=self.c_prio[i],
            estimate_s=self.c_est[i], requested_s=self.c_req[i],
            accelerators=w.constraints[cons] if cons >= 0 else None,
            data_center=w.centers[dc] if dc >= 0 else None, data_bytes=self.c_bytes[i],
            model=w.models[self.c_model[i]] if self.c_model[i] >= 0 else None,
            restart_cost_s=w.restart_cost_s,
            preempt_save_s=w.checkpoint_stall_s if w.graceful_preemption else None)

    # -- events -----------------------------------------------------------------------------
    def _push(self, t: float, kind: int, i: int) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, i, self.epoch.get(i, 0)))

    def _release(self, i: int, t: float) -> RunningView:
        run = self.running.pop(i)
        self.running_log.append((i, None))
        n = run.job.num_devices
        self.free[run.pool] += n
        self.total_free += n
        self.busy -= n
        self.tenant_devices[run.job.tenant] -= n
        if run.job.preemptible:
            _dec(self.running_prio, run.job.priority)
        if self.nodes is not None:
            self.nodes.release(run.pool, i)
        self.log.add_run(n * (t - run.start_s), self.pools[run.pool])
        return run

    def _start(self, d: Start, t: float) -> None:
        i = d.job_id
        if i not in self.queue:
            raise AssertionError(f"policy {self.policy.name} started job {i}, which is not queued")
        jv = self.queue[i]
        if d.num_devices != jv.num_devices:
            raise AssertionError(f"policy {self.policy.name} gave job {i} {d.num_devices} "
                                 f"devices, its gang is {jv.num_devices}")
        if self.free[d.pool] < jv.num_devices:
            raise AssertionError(f"policy {self.policy.name} overcommitted pool {d.pool}")
        self._dequeue(i)
        pool = self.pools[d.pool]
        if jv.accelerators is not None and pool.accelerator not in jv.accelerators:
            raise AssertionError(f"job {i} does not allow {pool.accelerator}")
        n = jv.num_devices
        if self.nodes is not None and not self.nodes.place(d.pool, i, n):
            raise AssertionError(f"policy {self.policy.name} started job {i} ({n} devices) "
                                 f"where no node placement fits in pool {d.pool}")
        self.free[d.pool] -= n
        self.total_free -= n
        self.busy += n
        self.tenant_devices[jv.tenant] = self.tenant_devices.get(jv.tenant, 0) + n
        tau = self.reliability.checkpoint_interval_s(d.pool, n, self.w.checkpoint_stall_s)
        if jv.checkpoint_interval_s != tau:
            jv = replace(jv, checkpoint_interval_s=tau)
        run = self.running[i] = RunningView(
            job=jv, pool=d.pool, start_s=t,
            nodes=tuple(self.nodes.alloc[i]) if self.nodes is not None else ())
        self.running_log.append((i, run))
        if jv.preemptible:
            _inc(self.running_prio, jv.priority)
        overhead = self.state.overhead_s(jv, d.pool)
        self.run_overhead[i] = overhead
        remaining = max(self.c_runtime[i] - jv.done_s, 0.0)
        end = t + overhead + remaining / self.state.speed(jv, d.pool)
        self.log.started(i, t)
        if self.failures is not None and n:
            tf = t + self.failures.time_to_failure_s(d.pool, n)
            if tf < end:
                self._push(tf, _FAIL, i)
                return
        self._push(end, _END, i)

    def _interrupt(self, i: int, t: float, *, failed: bool) -> None:
        run = self._release(i, t)
        jv = run.job
        speed = self.state.speed(jv, run.pool)
        held = t - run.start_s
        kept = checkpointed_s if failed else preempted_s
        _, saved_wall = kept(jv, held, self.run_overhead.pop(i))
        self.epoch[i] = self.epoch.get(i, 0) + 1
        self.log.interrupted(failed=failed, lost_device_s=(held - saved_wall) * jv.num_devices)
        self.log.requeued(i, t)
        nv = replace(jv, done_s=jv.done_s + saved_wall * speed, restarts=jv.restarts + 1)
        self._enqueue(nv, requeue=True)

    def _end(self, i: int, t: float) -> None:
        run = self._release(i, t)
        self.log.ended(i, t, overhead_device_s=self.run_overhead.pop(i) * run.job.num_devices)
        if run.job.estimate_s is None and self.observe is not None:
            self.observe(run.job, self.c_runtime[i])

    def _decide(self, t: float) -> None:
        queue = self.queue
        if not queue:
            return
        if min(self.size_count) > self.total_free and not (
                self.preempts_possible and self.running_prio
                and (self.same_class or max(self.queued_prio) > min(self.running_prio))):
            return  # no gang fits and no preemption is allowed: every policy returns nothing
        decisions = self.policy.decide(self.state, queue.values(), t)
        starts = []
        for d in decisions:
            if isinstance(d, Preempt):
                if d.job_id not in self.running:
                    raise AssertionError(f"policy preempted job {d.job_id}, which is not running")
                self._interrupt(d.job_id, t, failed=False)
            else:
                starts.append(d)
        for d in starts:
            self._start(d, t)

    def run(self) -> None:
        w = self.w
        n = len(w)
        submit = w.submit_s.tolist()
        heap = self.heap
        i = 0
        done_events = 0
        interval = self.opts.sched_interval_s
        next_call = -math.inf
        tick_pending = False
        while i < n or heap:
            t_arr = submit[i] if i < n else math.inf
            t = heap[0][0] if heap and heap[0][0] <= t_arr else t_arr
            if self._queue_t == self._queue_t:  # not NaN: queue length since the last instant
                self.queue_area += len(self.queue) * (t - self._queue_t)
            self._queue_t = t
            changed = False  # an instant with only stale events (of preempted runs) is no event
            while heap and heap[0][0] <= t:
                _, _, kind, j, ep = heapq.heappop(heap)
                if kind == _TICK:
                    tick_pending, changed = False, True
                    continue
                if ep != self.epoch.get(j, 0):
                    continue
                changed = True
                self.events += 1
                if kind == _END:
                    self._end(j, t)
                else:
                    self._interrupt(j, t, failed=True)
            while i < n and submit[i] <= t:
                jv = self._job_view(i, submit[i])
                if jv.accelerators is not None and not (jv.accelerators & self.accel_names):
                    jv = replace(jv, accelerators=None)  # no such type here: constraint moot
                    self.log.constraints_dropped += 1
                self.log.submitted(i, t)
                if self.state.fits_anywhere(jv):
                    self._enqueue(jv)
                else:
                    self.log.rejected(i)
                i += 1
                self.events += 1
                changed = True
            if not changed:
                continue
            if t >= next_call:
                self._decide(t)
                next_call = t + interval
            elif not tick_pending and self.queue:
                self.seq += 1
                heapq.heappush(heap, (next_call, self.seq, _TICK, -1, 0))
                tick_pending = True
            if len(self.queue) > self.queue_peak:
                self.queue_peak = len(self.queue)
            if self.opts.timeline:
                self.timeline.append((t, self.busy))
            if self.opts.progress is not None and self.events - done_events >= \
                    self.opts.progress_every:
                done_events = self.events
                self.opts.progress(i)
        if self.queue:
            raise AssertionError(f"{len(self.queue)} jobs still queued with nothing running: "
                                 f"policy {self.policy.name} deadlocked")


def simulate(workload: Workload, cluster: SimCluster, policy, opts: SimOptions | None = None
             ) -> SimResult:
    """Replay ``workload`` on ``cluster`` under ``policy``; returns metrics (see SimResult)."""
    opts = opts or SimOptions()
    t0 = time.perf_counter()
    sim = _Sim(workload, cluster, policy, opts)
    sim.run()
    wall_s = time.perf_counter() - t0
    res = summarize(policy.name, sim.log, cluster, workload, wall_s=wall_s, events=sim.events,
                    timeline=sim.timeline)
    res.mean_queue_len = sim.queue_area / res.makespan_s if res.makespan_s > 0 else 0.0
    res.peak_queue_len = sim.queue_peak
    return res
