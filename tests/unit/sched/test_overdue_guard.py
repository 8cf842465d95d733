"""The overdue guard of ``suanwang``: a never-started job with a planner prediction that has
waited ``preempt_after_s`` starts at once, by checkpoint-aware preemption of never-interrupted
jobs of its own or a lower class; by nodes on node-aware states."""

from __future__ import annotations

import random

import numpy as np

from suanwang.sched.decisions import Preempt, Start
from suanwang.sched.ordered_queue import OrderedQueue
from suanwang.sched.state import RunningView
from suanwang.sched.suanwang_policy import DAY_S, SuanwangPolicy
from suanwang.sim.cluster import homogeneous
from suanwang.sim.engine import SimOptions, _Sim
from suanwang.sim.workload import Workload
from tests.unit.sched.helpers import job, pool, run, state

INF = float("inf")
DUE = -(2 * DAY_S + 1)  # submitted just over the default preempt_after_s ago at now = 0


def _ckpt(job_id: int, n: int, **kw):
    return job(job_id, n, est=1e5, checkpoint_interval_s=3600.0, restart_cost_s=60.0, **kw)


def test_overdue_planned_job_preempts_a_fresh_job_of_its_own_class():
    fresh = run(_ckpt(1, 8), start=-7000.0)
    resumed = run(_ckpt(2, 8, restarts=1), start=-7200.0)  # cheaper, but interrupted before
    st = state([pool(16)], [fresh, resumed])
    policy = SuanwangPolicy(patience_s=INF)
    assert policy.decide(st, [job(9, 8, est=1000.0, submit=DUE)], 0.0) == [
        Preempt(1), Start(9, 0, 8)]


def test_guard_waits_for_its_bound_and_needs_a_planner_prediction():
    st = state([pool(16)], [run(_ckpt(1, 8), start=-7000.0), run(_ckpt(2, 8), start=-7000.0)])
    policy = SuanwangPolicy(patience_s=INF)
    assert policy.decide(st, [job(9, 8, submit=DUE + 10.0)], 0.0) == []  # not yet due
    assert policy.decide(st, [job(9, 8, est=None, submit=DUE)], 0.0) == []  # history only
    assert SuanwangPolicy(patience_s=INF, preempt_after_s=INF).decide(
        st, [job(9, 8, submit=DUE)], 0.0) == []  # guard off
    assert not SuanwangPolicy(preempt_after_s=INF).preempts_same_class


def test_guard_never_takes_a_higher_class():
    st = state([pool(8)], [run(_ckpt(1, 8, priority=1), start=-7000.0)])
    assert SuanwangPolicy(patience_s=INF).decide(st, [job(9, 8, submit=DUE)], 0.0) == []


def test_node_aware_guard_frees_a_whole_node_not_the_cheapest_devices():
    # Two 8-device nodes. Node 0: A (4, just checkpointed: cheapest) + C (4); node 1: B (4)
    # + 4 free. An 8-device gang needs one whole node: stopping A frees 4 + 4 devices on
    # different nodes (enough by device count, not by nodes); stopping B frees node 1.
    a = RunningView(job=_ckpt(1, 4), pool=0, start_s=-3605.0, nodes=((0, 4),))
    c = RunningView(job=_ckpt(3, 4), pool=0, start_s=-3000.0, nodes=((0, 4),))
    b = RunningView(job=_ckpt(2, 4), pool=0, start_s=-3000.0, nodes=((1, 4),))
    counts = [0] * 9
    counts[0], counts[4] = 1, 1
    st = state([pool(16)], [a, c, b], node_free=[counts], node_devices=[[0, 4]])
    assert SuanwangPolicy(patience_s=INF).decide(st, [job(9, 8, submit=DUE)], 0.0) == [
        Preempt(2), Start(9, 0, 8)]
    # The same pass on a node-aware state that does not say which node holds what: no plan.
    blind = state([pool(16)], [a, c, b], node_free=[counts])
    assert SuanwangPolicy(patience_s=INF).decide(blind, [job(9, 8, submit=DUE)], 0.0) == []


def test_by_submission_lists_never_interrupted_jobs_oldest_first():
    rng = random.Random(5)
    jobs = [job(i, 1, submit=rng.choice([0.0, 5.0, rng.uniform(0, 100)]),
                restarts=rng.choice([0, 0, 1])) for i in range(300)]
    memo = OrderedQueue()
    log = [(j.job_id, j) for j in jobs]
    memo.sync(jobs, log, 0, lambda j: (j.submit_s, j.job_id, id(j), j))
    gone = set(rng.sample(range(300), 100))
    log += [(i, None) for i in gone]
    live = [j for j in jobs if j.job_id not in gone]
    memo.sync(live, log, 0, lambda j: (j.submit_s, j.job_id, id(j), j))
    want = sorted((j for j in live if not j.restarts), key=lambda j: (j.submit_s, j.job_id))
    assert list(memo.by_submission()) == want


def _blocked(preempt_after_s: float) -> _Sim:
    """One 8-device node. Job 0 (8 devices, 100,000 s) starts at once; job 1 (8 devices,
    100 s) arrives at 1 s; more 8-device jobs arrive every 1000 s: no queued gang ever fits,
    so only a same-class preemption can start job 1 before job 0 ends."""
    n = 12
    submit = np.concatenate([[0.0, 1.0], 1000.0 * np.arange(1, n - 1)])
    runtime = np.concatenate([[100_000.0, 100.0], np.full(n - 2, 100.0)])
    wl = Workload(name="blocked", submit_s=submit, runtime_s=runtime,
                  num_devices=np.full(n, 8), user=np.zeros(n, dtype=np.int64), users=["u"],
                  estimate_s=runtime.copy())
    sim = _Sim(wl, homogeneous(8), SuanwangPolicy(patience_s=INF,
                                                  preempt_after_s=preempt_after_s),
               SimOptions(node_aware=True))
    sim.run()
    return sim


def test_engine_asks_the_guard_even_when_no_gang_fits():
    sim = _blocked(3600.0)
    # Due at 3601 s; the engine next calls the policy at the 4000 s arrival.
    assert sim.log.first_start[1] == 4000.0
    assert sim.log.preemptions >= 1
    assert _blocked(INF).log.first_start[1] >= 100_000.0
