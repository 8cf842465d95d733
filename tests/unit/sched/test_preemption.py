"""Checkpoint-aware preemption: victim choice, cost definition, and reservations in one pass."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from suanwang.sched.decisions import Preempt, Start
from suanwang.sched.placement import MAX_SLOWDOWN
from suanwang.sched.priority import PriorityPreemptive, preemption_cost_device_s
from suanwang.sched.state import ClusterState, RunningView, checkpointed_s, preempted_s
from suanwang.sched.suanwang_policy import SuanwangPolicy
from tests.unit.sched.helpers import job, pool, run, state


def test_preemption_then_reservation_in_same_pass():
    # 24 devices: L (priority 0, 16 devices, ends ~2000) and H0 (priority 1, 8, ends 1100).
    # P preempts L and starts (ends ~51,000); Q (24 devices) is reserved; R (8 devices, 100,000
    # s) must not backfill: the head cannot start before P ends, ~51,000 s.
    low = run(job(1, 16, est=2000.0), start=0.0)
    h0 = run(job(2, 8, est=1100.0, priority=1), start=0.0)
    st = state([pool(24)], [low, h0])
    q = [job(10, 8, est=50_000.0, priority=1, submit=10), job(11, 24, priority=1, submit=11),
         job(12, 8, est=100_000.0, priority=1, submit=12)]
    assert PriorityPreemptive().decide(st, q, 1000.0) == [Preempt(1), Start(10, 0, 8)]
    # suanwang considers Q first (least device-time): it is reserved at 2000 s (when H0 and L
    # end), and P's preemption of L would delay that reservation to ~51,000 s, so none is made.
    assert SuanwangPolicy(min_skill=0.0).decide(st, q, 1000.0) == []


def test_over_preemption_drops_unneeded_victims():
    # 9-device pool: a 1-device job (cheap: just checkpointed) and an 8-device job. An urgent
    # 8-device job needs only the 8-device victim.
    one = job(1, 1, est=1e5, checkpoint_interval_s=3600.0, restart_cost_s=60.0)
    eight = job(2, 8, est=1e5, checkpoint_interval_s=3600.0, restart_cost_s=60.0)
    st = state([pool(9)], [run(one, start=-3605.0), run(eight, start=-3000.0)])
    d = PriorityPreemptive().decide(st, [job(9, 8, priority=1)], 0.0)
    assert d == [Preempt(2), Start(9, 0, 8)]


def test_preemption_cost_counts_work_after_restart_overhead():
    # A resumed run (restarts=1) spends its first 60 s restarting; after 3660 s it has computed
    # exactly one checkpoint interval, so stopping it loses nothing but the next restart.
    j = job(1, 4, checkpoint_interval_s=3600.0, restart_cost_s=60.0, restarts=1)
    st = state([pool(8)], [run(j, start=-3660.0)])
    assert checkpointed_s(j, 3660.0, st.overhead_s(j, 0)) == (3600.0, 3600.0)
    assert preemption_cost_device_s(st, st.running[1], 0.0) == pytest.approx(60.0 * 4)


def test_a_job_that_checkpoints_on_the_signal_loses_one_save_not_its_interval():
    # 1,800 s into a 3,600-s checkpoint interval: a failure (or a job that ignores SIGTERM)
    # loses all 1,800 s; a job whose runtime commits a final checkpoint on the signal (30 s
    # save) loses the save only. Just after the save it keeps its periodic checkpoint.
    lossy = job(1, 4, checkpoint_interval_s=3600.0, restart_cost_s=60.0)
    graceful = job(2, 4, checkpoint_interval_s=3600.0, restart_cost_s=60.0, preempt_save_s=30.0)
    assert preempted_s(lossy, 1800.0, 0.0) == checkpointed_s(lossy, 1800.0, 0.0) == (1800.0, 0.0)
    assert preempted_s(graceful, 1800.0, 0.0) == (1800.0, 1770.0)
    assert preempted_s(graceful, 3610.0, 0.0) == (3610.0, 3600.0)
    assert preempted_s(graceful, 20.0, 0.0) == (20.0, 0.0)
    st = state([pool(8)], [run(lossy, start=-1800.0), run(graceful, start=-1800.0)])
    assert preemption_cost_device_s(st, st.running[1], 0.0) == pytest.approx((1800 + 60) * 4)
    assert preemption_cost_device_s(st, st.running[2], 0.0) == pytest.approx((30 + 60) * 4)
    # a negative save keeps at most what was computed; NaN counts as no final checkpoint
    assert preempted_s(replace(graceful, preempt_save_s=-1e3), 1800.0, 0.0) == (1800.0, 1800.0)
    assert preempted_s(replace(graceful, preempt_save_s=float("nan")), 1800.0, 0.0) == (
        1800.0, 0.0)


def _post_state(st: ClusterState, decisions, queue, now_s: float) -> ClusterState:
    """The state after applying ``decisions`` (started jobs run from ``now_s``)."""
    jobs = {j.job_id: j for j in queue}
    running = dict(st.running)
    free = list(st.free)
    for d in decisions:
        if isinstance(d, Preempt):
            r = running.pop(d.job_id)
            free[r.pool] += r.job.num_devices
    for d in decisions:
        if isinstance(d, Start):
            running[d.job_id] = RunningView(job=jobs[d.job_id], pool=d.pool, start_s=now_s)
            free[d.pool] -= d.num_devices
    return ClusterState(pools=st.pools, free=free, running=running, estimator=st.estimator)


def _earliest_start(st: ClusterState, head, now_s: float) -> float:
    """Predicted earliest start of ``head`` (devices per pool, expected ends)."""
    best = float("inf")
    fastest = max(st.speed(head, i) for i, p in enumerate(st.pools)
                  if p.devices >= head.num_devices)
    for i, p in enumerate(st.pools):
        if p.devices < head.num_devices or st.speed(head, i) < fastest / MAX_SLOWDOWN:
            continue
        avail = st.free[i]
        if avail >= head.num_devices:
            return now_s
        for end, n in sorted((st.expected_end_s(r, now_s), r.job.num_devices)
                             for r in st.running.values() if r.pool == i):
            avail += n
            if avail >= head.num_devices:
                best = min(best, end)
                break
    return best


@pytest.mark.parametrize("policy", [PriorityPreemptive(), SuanwangPolicy(min_skill=0.0),
                                    SuanwangPolicy(min_skill=0.0, patience_s=0.0)],
                         ids=["priority", "suanwang", "suanwang-anchored"])
def test_never_delays_the_reservation_random(policy):
    """Random pools, running jobs and queues with two priority classes: jobs considered after
    the first blocked job (preempting or backfilling) never delay its predicted start."""
    rnd = random.Random(11)
    now = 5000.0
    checked = preempted = 0
    for trial in range(400):
        pools = [pool(rnd.choice((8, 16, 24)), name=f"p{k}") for k in range(rnd.randint(1, 3))]
        running, used = [], [0] * len(pools)
        for k in range(rnd.randint(1, 6)):
            i = rnd.randrange(len(pools))
            n = rnd.randint(1, 8)
            if used[i] + n > pools[i].devices:
                continue
            used[i] += n
            running.append(run(job(100 + k, n, est=rnd.uniform(700, 20_000),
                                   priority=rnd.choice((0, 0, 1)),
                                   checkpoint_interval_s=600.0, restart_cost_s=30.0),
                               start=now - rnd.uniform(600, 5000), pool_idx=i))
        st = state(pools, running)
        queue = [job(k, rnd.randint(1, 24), est=rnd.uniform(10, 50_000), submit=k,
                     priority=rnd.choice((0, 1))) for k in range(1, 8)]
        queue = [j for j in queue if st.fits_anywhere(j)]
        ordered = (policy.order(st, queue, now) if isinstance(policy, SuanwangPolicy)
                   else sorted(queue, key=lambda j: (-j.priority, j.submit_s, j.job_id)))
        d = policy.decide(st, queue, now)
        started = {x.job_id for x in d if isinstance(x, Start)}
        head_k = next((k for k, j in enumerate(ordered) if j.job_id not in started), None)
        if head_k is None:
            continue
        head = ordered[head_k]
        prefix = ordered[:head_k + 1]
        d_prefix = policy.decide(st, prefix, now)
        t_ref = _earliest_start(_post_state(st, d_prefix, queue, now), head, now)
        t_after = _earliest_start(_post_state(st, d, queue, now), head, now)
        assert t_after <= t_ref + 1e-6, (trial, d_prefix, d)
        checked += len(d) > len(d_prefix)
        preempted += any(isinstance(x, Preempt) for x in d)
    assert checked > 30 and preempted > 10  # backfills and preemptions were exercised
