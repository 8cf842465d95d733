"""Simulator invariants: conservation, every job ends once, gangs, purity of policies."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math

import numpy as np
import pytest

from suanwang.core.errors import ConfigError
from suanwang.sched.decisions import Preempt, Start
from suanwang.sched.estimates import UserHistoryEstimator
from suanwang.sched.registry import POLICIES, get_policy
from suanwang.sched.state import ClusterState, JobView, RunningView, preempted_s
from suanwang.sim.cluster import homogeneous, load_cluster
from suanwang.sim.engine import SimOptions, _Sim, simulate
from suanwang.sim.failures import FailureModel
from suanwang.sim.traces.synthetic import synthetic_llm
from suanwang.sim.workload import Workload


def tiny_workload() -> Workload:
    return Workload(name="tiny", submit_s=np.array([0.0, 1.0, 2.0, 3.0]),
                    runtime_s=np.array([100.0, 10.0, 10.0, 50.0]),
                    num_devices=np.array([8, 4, 4, 0]), user=np.array([0, 1, 1, 0]),
                    users=["a", "b"])


def test_fifo_tiny_known_answer():
    r = simulate(tiny_workload(), homogeneous(8), get_policy("fifo"))
    # job0 0-100; job1 100-110 and job2 100-110 (4+4); job3 (0 devices) waits in FIFO: 100-150
    assert r.finished == 4 and r.makespan_s == 150.0
    assert r.mean_jct_s == pytest.approx((100 + 109 + 108 + 147) / 4)
    assert r.utilization == pytest.approx((800 + 40 + 40) / (8 * 150))


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_conservation_and_every_job_ends_once(name):
    cluster = load_cluster(None)
    wl = synthetic_llm(1500, cluster.devices, load=1.2, seed=3,
                       centers=sorted({p.center for p in cluster.pools}))
    r = simulate(wl, cluster, get_policy(name), SimOptions(failures=True, timeline=True,
                                                           seed=1))
    assert r.finished == r.jobs == 1500 and r.rejected == 0
    assert np.all(r.jct_s > 0)
    busy = r.timeline[:, 1]
    assert busy.max() <= cluster.devices and busy.min() >= 0
    assert r.utilization <= 1.0 + 1e-9
    assert 0.0 < r.ettr <= 1.0
    # Work is conserved: every job's device-seconds at full speed fit in what was used.
    fastest = max(p.speed for p in cluster.pools)
    assert r.utilization * cluster.devices * r.makespan_s >= wl.device_seconds / fastest * 0.999
    assert r.failures > 0  # the reliability model produced failures at this scale


def test_preempted_jobs_resume_and_finish():
    cluster = homogeneous(64)
    wl = synthetic_llm(400, 64, load=1.5, seed=5, max_size=64)
    r = simulate(wl, cluster, get_policy("priority"))
    assert r.preemptions > 0 and r.finished == 400
    assert r.ettr < 1.0  # preemption lost work since the last checkpoint and paid restarts


class Recorder:
    """Wraps a policy and records every call with a deep copy of its inputs."""

    def __init__(self, policy):
        self.policy = policy
        self.name = policy.name
        self.preempts = getattr(policy, "preempts", False)
        self.calls = []

    def decide(self, state, queue, now_s):
        # The append-only feeds are not copied (they grow with the run; a snapshot without
        # them makes a replay take the policies' fresh path, which must agree).
        lean = dataclasses.replace(state, queue_log=None, running_log=None)
        snap = (copy.deepcopy(lean), list(queue), now_s)
        out = self.policy.decide(state, queue, now_s)
        self.calls.append((*snap, list(out)))
        return out


class LiveLoop:
    """A minimal live control loop, as the control layer runs one: it keeps only plain records
    (dicts, as rows of a store), and on every tick reads the time from ``clock``, rebuilds
    ``ClusterState`` and the queue from the records, asks the policy and applies the decisions
    to the records. The test plays the backends: it reports job ends (``finish``)."""

    def __init__(self, policy, pools, clock, interval_for=None):
        self.policy = policy
        self.interval_for = interval_for  # (pool, devices) -> checkpoint interval (plan's)
        self.pools = pools
        self.clock = clock
        self.queued: dict[int, dict] = {}  # job id -> JobView fields
        self.running: dict[int, dict] = {}  # job id -> {"job": fields, "pool", "start_s"}
        self.estimator = UserHistoryEstimator()

    def submit(self, record: dict) -> None:
        self.queued[record["job_id"]] = dict(record)

    def finish(self, job_id: int, runtime_s: float) -> None:
        rec = self.running.pop(job_id)
        if rec["job"]["estimate_s"] is None:
            self.estimator.observe(JobView(**rec["job"]), runtime_s)

    def _state(self) -> ClusterState:
        free = [p.devices for p in self.pools]
        tenants: dict[str, int] = {}
        running = {}
        for jid, rec in self.running.items():
            jv = JobView(**rec["job"])
            free[rec["pool"]] -= jv.num_devices
            tenants[jv.tenant] = tenants.get(jv.tenant, 0) + jv.num_devices
            running[jid] = RunningView(job=jv, pool=rec["pool"], start_s=rec["start_s"])
        return ClusterState(pools=self.pools, free=free, running=running,
                            estimator=self.estimator, tenant_devices=tenants)

    def tick(self) -> list:
        now_s = self.clock()
        state = self._state()
        queue = [JobView(**r) for r in sorted(self.queued.values(),
                                                key=lambda r: (r["submit_s"], r["job_id"]))]
        decisions = self.policy.decide(state, queue, now_s)
        for d in decisions:
            if isinstance(d, Preempt):
                rec = self.running.pop(d.job_id)
                job = rec["job"]
                jv = JobView(**job)
                _, saved = preempted_s(jv, now_s - rec["start_s"],
                                       state.overhead_s(jv, rec["pool"]))
                self.queued[d.job_id] = {**job, "done_s": job["done_s"] + saved,
                                         "restarts": job["restarts"] + 1}
        for d in decisions:
            if isinstance(d, Start):
                job = self.queued.pop(d.job_id)
                if self.interval_for is not None:
                    job = {**job, "checkpoint_interval_s": self.interval_for(
                        d.pool, job["num_devices"])}
                self.running[d.job_id] = {"job": job, "pool": d.pool, "start_s": now_s}
        return decisions


def _records(wl: Workload) -> list[dict]:
    prio = wl.priority.tolist() if wl.priority is not None else [0] * len(wl)
    users = [wl.users[u] for u in wl.user.tolist()]
    tenants = [wl.tenants[t] for t in wl.tenant.tolist()] if wl.tenant is not None else users
    return [{"job_id": i, "user": u, "tenant": g, "num_devices": int(n), "submit_s": float(t),
             "priority": int(p), "estimate_s": None,
             "checkpoint_interval_s": 0.0,
             "restart_cost_s": wl.restart_cost_s, "done_s": 0.0, "restarts": 0,
             "preempt_save_s": wl.checkpoint_stall_s if wl.graceful_preemption else None}
            for i, (t, n, u, g, p) in enumerate(zip(wl.submit_s.tolist(),
                                                      wl.num_devices.tolist(), users, tenants,
                                                      prio, strict=True))]


def _drive_live(name: str, wl: Workload, devices: int) -> list[tuple[float, list]]:
    """Run the live loop against a fake clock; the "backend" ends jobs at their true times."""
    now = [0.0]
    cluster = homogeneous(devices)
    model = FailureModel(cluster)
    loop = LiveLoop(get_policy(name), cluster.pools, clock=lambda: now[0],
                    interval_for=lambda p, n: model.checkpoint_interval_s(
                        p, n, wl.checkpoint_stall_s))
    records = _records(wl)
    runtime = wl.runtime_s.tolist()
    ends: dict[int, float] = {}
    out, i = [], 0
    while i < len(records) or loop.running or loop.queued:
        t_next = min([records[i]["submit_s"]] if i < len(records) else [], default=math.inf)
        t_next = min(t_next, min(ends.values(), default=math.inf))
        assert t_next < math.inf, "live loop deadlocked"
        now[0] = t_next
        for jid in sorted((j for j, e in ends.items() if e <= t_next), key=lambda j: ends[j]):
            loop.finish(jid, runtime[jid])
            del ends[jid]
        while i < len(records) and records[i]["submit_s"] <= t_next:
            loop.submit(records[i])
            i += 1
        decisions = loop.tick()
        for d in decisions:
            if isinstance(d, Preempt):
                del ends[d.job_id]
            else:
                job = loop.running[d.job_id]["job"]
                over = job["restart_cost_s"] if job["restarts"] else 0.0
                ends[d.job_id] = t_next + over + max(runtime[d.job_id] - job["done_s"], 0.0)
        if decisions:
            out.append((t_next, decisions))
    return out


@pytest.mark.parametrize("name", ["backfill", "fairshare", "priority", "suanwang"])
def test_same_decisions_under_virtual_and_wall_clock(name):
    """The simulator (virtual clock) and a live loop (clock function, state rebuilt from plain
    records every tick) make the same decisions at the same times on the same workload."""
    wl = synthetic_llm(300, 64, load=1.5, seed=9, max_size=64)
    wl.estimate_s = None  # use the online per-user history estimator
    rec = Recorder(get_policy(name))
    simulate(wl, homogeneous(64), rec)
    sim_calls = [(now_s, d) for _, _, now_s, d in rec.calls if d]
    live_calls = _drive_live(name, wl, 64)
    assert len(sim_calls) > 50
    assert live_calls == sim_calls
    if name in ("priority", "suanwang"):
        assert any(isinstance(x, Preempt) for _, d in sim_calls for x in d)


def test_policy_does_not_mutate_its_inputs():
    wl = synthetic_llm(200, 64, load=1.5, seed=9, max_size=64)
    for name in sorted(POLICIES):
        rec = Recorder(get_policy(name))
        simulate(wl, homogeneous(64), rec)
        for state, queue, now_s, decisions in rec.calls[::7]:
            before = copy.deepcopy((state.free, state.running, state.tenant_devices, queue))
            assert get_policy(name).decide(state, queue, now_s) == decisions
            assert (state.free, state.running, state.tenant_devices, queue) == before


@pytest.mark.parametrize("graceful", [True, False])
def test_checkpoint_resume_known_answer(graceful):
    """An 8-device job (10,000 s, restart 120 s) is preempted at 5000 s by a 100-s priority-1
    job; it resumes at 5100 s, pays 120 s and runs the rest. It checkpoints every tau s, the
    reliability model's failure-aware interval for 8 devices on this pool (Daly, stall 2 s).
    Graceful (the runtime's final checkpoint on the signal): it keeps 5000 - 2 s (the save).
    Not graceful: it keeps floor(5000 / tau) tau s, as a failure would."""
    wl = Workload(name="k", submit_s=np.array([0.0, 5000.0]),
                  runtime_s=np.array([10_000.0, 100.0]), num_devices=np.array([8, 8]),
                  user=np.array([0, 1]), users=["a", "b"], priority=np.array([0, 1]),
                  checkpoint_stall_s=2.0, restart_cost_s=120.0, graceful_preemption=graceful)
    cluster = homogeneous(8)
    tau = FailureModel(cluster).checkpoint_interval_s(0, 8, 2.0)
    assert 600.0 < tau < 5000.0  # failure-aware, not a fixed constant
    kept = 4998.0 if graceful else math.floor(5000.0 / tau) * tau
    for name in ("priority", "suanwang"):
        sim = _Sim(wl, cluster, get_policy(name), SimOptions())
        sim.run()
        assert sim.log.end == pytest.approx([5100.0 + 120.0 + 10_000.0 - kept, 5100.0]), name
        assert sim.log.unproductive_device_s == pytest.approx((5000.0 - kept + 120.0) * 8)
        assert sim.log.preemptions == 1


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_every_job_starts_after_submit_and_useful_work_is_conserved(name):
    wl = synthetic_llm(400, 64, load=1.5, seed=5, max_size=64)
    sim = _Sim(wl, homogeneous(64), get_policy(name), SimOptions(failures=True, seed=2))
    sim.run()
    log = sim.log
    assert all(s >= t for s, t in zip(log.first_start, log.submit, strict=True))
    assert all(e >= s for e, s in zip(log.end, log.first_start, strict=True))
    # Busy time minus lost work, restarts and staging is exactly the jobs' run time (speed 1).
    useful = log.busy_device_s - log.unproductive_device_s
    assert useful == pytest.approx(wl.device_seconds, rel=1e-9)


def test_run_time_estimate_matches_engine():
    """One definition of a run's length (staging + restart when resuming + work / speed) for
    the policies' predictions and the engine: a job with a perfect estimate and data to stage
    ends exactly when the state predicted."""
    wl = Workload(name="s", submit_s=np.array([0.0]), runtime_s=np.array([500.0]),
                  num_devices=np.array([8]), user=np.array([0]), users=["a"],
                  estimate_s=np.array([500.0]), data_center=np.array([0]),
                  centers=["elsewhere"], data_bytes=np.array([1.25e12]))
    rec = Recorder(get_policy("backfill"))
    sim = _Sim(wl, homogeneous(8), rec, SimOptions())
    sim.run()
    state = rec.calls[0][0]
    jv = rec.calls[0][1][0]
    assert state.run_s(jv, 0) == pytest.approx(1000.0 + 500.0)  # 1.25 TB at 1.25 GB/s
    assert sim.log.end == [pytest.approx(1500.0)]


def test_node_aware_placement_known_answer():
    """16 GPUs = 2 nodes of 8. Two 6-GPU jobs take one node each; a 4-GPU job then fits in
    the pooled count (4 free) but not in any node (2 + 2), so node-aware it waits until the
    first job ends at 100 s. A 12-GPU job needs two wholly free nodes."""
    wl = Workload(name="n", submit_s=np.array([0.0, 1.0, 2.0, 3.0]),
                  runtime_s=np.array([100.0, 200.0, 10.0, 10.0]),
                  num_devices=np.array([6, 6, 4, 12]), user=np.array([0, 0, 0, 0]),
                  users=["a"])
    for name in ("fifo", "backfill", "suanwang"):
        pooled = _Sim(wl, homogeneous(16), get_policy(name), SimOptions())
        pooled.run()
        assert pooled.log.first_start[2] == 2.0, name
        nodes = _Sim(wl, homogeneous(16), get_policy(name), SimOptions(node_aware=True))
        nodes.run()
        assert nodes.log.first_start[2] == 100.0, name
        assert nodes.log.first_start[3] == 201.0, name  # both nodes wholly free at 201 s
        assert nodes.nodes.counts[0] == [0] * 8 + [2]  # everything released


def test_node_aware_engine_rejects_unplaceable_start():
    class Greedy:
        name, preempts = "greedy", False

        def decide(self, state, queue, now_s):
            return [Start(j.job_id, 0, j.num_devices) for j in queue][:1]

    wl = Workload(name="n", submit_s=np.array([0.0, 1.0, 2.0]),
                  runtime_s=np.array([100.0, 100.0, 10.0]), num_devices=np.array([6, 6, 4]),
                  user=np.array([0, 0, 0]), users=["a"])
    with pytest.raises(AssertionError, match="no node placement"):
        _Sim(wl, homogeneous(16), Greedy(), SimOptions(node_aware=True)).run()


def test_deadlock_free_on_oversized_jobs():
    wl = Workload(name="big", submit_s=np.array([0.0, 1.0]), runtime_s=np.array([5.0, 5.0]),
                  num_devices=np.array([16, 4]), user=np.array([0, 0]), users=["a"])
    r = simulate(wl, homogeneous(8), get_policy("suanwang"))
    assert r.rejected == 1 and r.finished == 1


def test_sched_interval_coalesces_calls_and_finishes_everything():
    wl = synthetic_llm(500, 64, load=1.2, seed=4, max_size=64)
    every = Recorder(get_policy("suanwang"))
    r0 = simulate(wl, homogeneous(64), every)
    coarse = Recorder(get_policy("suanwang"))
    r1 = simulate(wl, homogeneous(64), coarse, SimOptions(sched_interval_s=600.0))
    assert r0.finished == r1.finished == 500
    # At most one call per 600 s window (the every-event run may call less: it skips
    # instants where nothing can start, which differ between the two runs).
    assert len(coarse.calls) <= r1.makespan_s / 600.0 + 1
    assert len(coarse.calls) < r1.events
    times = [c[2] for c in coarse.calls]
    assert all(b - a >= 600.0 - 1e-6 for a, b in itertools.pairwise(times))  # float sums


def test_graceful_preemption_must_be_a_bool():
    with pytest.raises(ConfigError, match="graceful_preemption"):
        Workload(name="k", submit_s=np.array([0.0]), runtime_s=np.array([1.0]),
                 num_devices=np.array([1]), user=np.array([0]), users=["a"],
                 graceful_preemption="no")
