"""Leases in the simulator (sim.leases over sched.leases): every policy stays within capacity
(the engine asserts it), the holder waits less, reclaim preempts borrowers."""

import pytest

from suanwang.sched.decisions import Preempt, Start
from suanwang.sched.leases import LeaseView, decide_with_leases
from suanwang.sched.registry import get_policy
from suanwang.sched.state import ClusterState, JobView, RunningView
from suanwang.sim.cluster import homogeneous
from suanwang.sim.leases import SimLease, lease_impact
from suanwang.sim.traces.synthetic import synthetic_llm


@pytest.mark.parametrize("policy", ["fifo", "backfill", "priority", "suanwang"])
def test_lease_impact_runs_within_capacity_and_serves_the_holder(policy):
    w = synthetic_llm(300, 128, seed=3, load=0.9)
    c = homogeneous(128)
    doc = lease_impact(w, c, lambda: get_policy(policy), [SimLease(
        tenant="t1", pool=c.pools[0].name, devices=32, start_s=0.0,
        end_s=float(w.submit_s[-1]))])
    assert doc["with"]["holders"]["jobs"] == doc["without"]["holders"]["jobs"] > 0
    assert doc["with"]["holders"]["mean_wait_s"] <= doc["without"]["holders"]["mean_wait_s"]
    assert doc["with"]["others"]["jobs"] + doc["with"]["holders"]["jobs"] == 300


def _job(i, tenant, n, preemptible=True):
    return JobView(job_id=i, user=tenant, tenant=tenant, num_devices=n, submit_s=float(i),
                   estimate_s=3600.0, preemptible=preemptible)


def test_reserved_capacity_borrowing_and_reclaim_by_hand():
    pool = homogeneous(16, devices_per_node=8).pools[0]
    lease = [LeaseView(lease_id=1, pool=0, tenant="holder", devices=8)]
    fifo = get_policy("fifo")
    # 8 free, all of it leased and unused: a non-preemptible job of another tenant waits,
    # a preemptible one borrows it
    st = ClusterState(pools=[pool], free=[8], running={1: RunningView(
        job=_job(1, "other", 8), pool=0, start_s=0.0)})
    assert decide_with_leases(fifo, st, [_job(2, "other", 8, preemptible=False)], 10.0,
                              lease) == []
    assert decide_with_leases(fifo, st, [_job(3, "other", 8)], 10.0, lease) == [
        Start(job_id=3, pool=0, num_devices=8)]
    # the pool is full with a borrower: the holder's job reclaims it by preemption
    borrowed = ClusterState(pools=[pool], free=[0], running={
        1: RunningView(job=_job(1, "other", 8, preemptible=False), pool=0, start_s=0.0),
        3: RunningView(job=_job(3, "other", 8), pool=0, start_s=5.0)})
    assert decide_with_leases(fifo, borrowed, [_job(4, "holder", 8)], 20.0, lease) == [
        Preempt(job_id=3)]
    # a holder job larger than its lease does not reclaim
    assert decide_with_leases(fifo, borrowed, [_job(5, "holder", 16)], 20.0, lease) == []
