"""Simulator invariants: conservation, every job ends once, gangs, purity of policies."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest

from suanwang.sched.registry import POLICIES, get_policy
from suanwang.sched.state import ClusterState
from suanwang.sim.cluster import homogeneous, load_cluster
from suanwang.sim.engine import SimOptions, simulate
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
        snap = (copy.deepcopy(state), list(queue), now_s)
        out = self.policy.decide(state, queue, now_s)
        self.calls.append((*snap, list(out)))
        return out


class WallClockDriver:
    """What the live control loop does: builds the state from plain records each tick and asks
    the policy with the current wall-clock time (``clock`` returns seconds since the epoch)."""

    def __init__(self, policy, clock):
        self.policy = policy
        self.clock = clock

    def tick(self, records: dict, queue):
        state = ClusterState(pools=list(records["pools"]), free=list(records["free"]),
                             running=dict(records["running"]), estimator=records["estimator"],
                             tenant_devices=dict(records["tenant_devices"]),
                             shares=dict(records["shares"]))
        return self.policy.decide(state, list(queue), self.clock())


@pytest.mark.parametrize("name", ["backfill", "fairshare", "priority", "suanwang"])
def test_same_decisions_under_virtual_and_wall_clock(name):
    wl = synthetic_llm(300, 64, load=1.5, seed=9, max_size=64)
    wl.estimate_s = None  # use the online per-user history estimator
    rec = Recorder(get_policy(name))
    simulate(wl, homogeneous(64), rec)
    assert len(rec.calls) > 50
    for state, queue, now_s, decisions in rec.calls[::5]:
        before = copy.deepcopy((state.free, state.running, state.tenant_devices))
        records = {"pools": state.pools, "free": state.free, "running": state.running,
                   "estimator": state.estimator, "tenant_devices": state.tenant_devices,
                   "shares": state.shares}
        driver = WallClockDriver(get_policy(name), clock=lambda now_s=now_s: now_s)
        assert driver.tick(records, queue) == decisions
        assert (state.free, state.running, state.tenant_devices) == before  # not mutated


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
    assert len(coarse.calls) < len(every.calls)
    times = [c[2] for c in coarse.calls]
    assert all(b - a >= 600.0 for a, b in itertools.pairwise(times))
