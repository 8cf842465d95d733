"""The overdue guard of ``suanwang``: a never-started job with a planner prediction that has
waited ``preempt_after_s`` starts at once, by checkpoint-aware preemption of never-interrupted
jobs of its own or a lower class; by nodes on node-aware states; after the higher classes and
the anchor in the pass."""

from __future__ import annotations

import random

import numpy as np

from suanwang.sched.decisions import Preempt, Start
from suanwang.sched.ordered_queue import OrderedQueue
from suanwang.sched.state import FixedEstimator, RunningView
from suanwang.sched.suanwang_policy import DAY_S, SuanwangPolicy
from suanwang.sim.cluster import homogeneous
from suanwang.sim.engine import SimOptions, _Sim
from suanwang.sim.workload import Workload
from tests.unit.sched.helpers import job as plain_job
from tests.unit.sched.helpers import pool, run, state


def job(*args, preempt_save_s: float | None = 30.0, **kw):
    """A job that checkpoints on a preemption signal (suanwang's runtime), unless
    ``preempt_save_s=None``: the guard's short bound applies to it."""
    return plain_job(*args, preempt_save_s=preempt_save_s, **kw)

INF = float("inf")
DUE = -(0.5 * DAY_S + 1)  # submitted just over the default preempt_after_s ago at now = 0


def _ckpt(job_id: int, n: int, **kw):
    return job(job_id, n, est=1e5, checkpoint_interval_s=3600.0, restart_cost_s=60.0, **kw)


def test_overdue_planned_job_preempts_a_fresh_job_of_its_own_class():
    fresh = run(_ckpt(1, 8), start=-7000.0)
    resumed = run(_ckpt(2, 8, restarts=1), start=-7200.0)  # cheaper, but interrupted before
    st = state([pool(16)], [fresh, resumed])
    policy = SuanwangPolicy(patience_s=INF)
    assert policy.decide(st, [job(9, 8, est=1000.0, submit=DUE)], 0.0) == [
        Preempt(1), Start(9, 0, 8)]


def test_guard_waits_for_its_bound_and_needs_a_prediction_with_skill():
    running = [run(_ckpt(1, 8), start=-7000.0), run(_ckpt(2, 8), start=-7000.0)]
    st = state([pool(16)], running)
    policy = SuanwangPolicy(patience_s=INF)
    assert policy.decide(st, [job(9, 8, submit=DUE + 10.0)], 0.0) == []  # not yet due
    # a job without a planner prediction is guarded only while the history estimator's
    # measured skill is at least min_skill (below it the order is arrival order, no guard)
    unskilled = state([pool(16)], running, estimator=FixedEstimator(skill=0.1))
    assert policy.decide(unskilled, [job(9, 8, est=None, submit=DUE)], 0.0) == []
    assert policy.decide(unskilled, [job(9, 8, submit=DUE)], 0.0) == [
        Preempt(1), Start(9, 0, 8)]  # a planner prediction is guarded regardless
    assert policy.decide(st, [job(9, 8, est=None, submit=DUE)], 0.0) == [
        Preempt(1), Start(9, 0, 8)]
    assert SuanwangPolicy(patience_s=INF, preempt_after_s=INF).decide(
        st, [job(9, 8, submit=DUE)], 0.0) == []  # guard off
    assert not SuanwangPolicy(preempt_after_s=INF).preempts_same_class


def test_jobs_that_do_not_checkpoint_on_the_signal_keep_the_longer_planned_bound():
    # Where a preemption loses work since the last checkpoint, the guard acts only for planner
    # predictions and only after lossy_preempt_after_s (2 days): the rule measured under that
    # cost model (docs/scheduling.md, "why it was 2 days").
    running = [run(_ckpt(1, 8, preempt_save_s=None), start=-7000.0),
               run(_ckpt(2, 8, preempt_save_s=None), start=-7000.0)]
    st = state([pool(16)], running)
    policy = SuanwangPolicy(patience_s=INF)
    assert policy.decide(st, [job(9, 8, submit=DUE, preempt_save_s=None)], 0.0) == []
    late = -(2 * DAY_S + 1)
    assert policy.decide(st, [job(9, 8, est=None, submit=late, preempt_save_s=None)], 0.0) == []
    assert policy.decide(st, [job(9, 8, submit=late, preempt_save_s=None)], 0.0) == [
        Preempt(1), Start(9, 0, 8)]


def test_before_the_lossy_bound_the_guard_takes_only_victims_that_checkpoint_on_the_signal():
    # Live, a training job (checkpoints on SIGTERM) may wait behind a batch command (does
    # not): at 12 h it may not stop the batch command, which would lose its work since its
    # last checkpoint; at 2 days (the bound measured for that cost) it may.
    st = state([pool(8)], [run(_ckpt(1, 8, preempt_save_s=None), start=-7000.0)])
    policy = SuanwangPolicy(patience_s=INF)
    assert policy.decide(st, [job(9, 8, submit=DUE)], 0.0) == []
    assert policy.decide(st, [job(9, 8, submit=-(2 * DAY_S + 1))], 0.0) == [
        Preempt(1), Start(9, 0, 8)]
    graceful = state([pool(8)], [run(_ckpt(1, 8), start=-7000.0)])
    assert policy.decide(graceful, [job(9, 8, submit=DUE)], 0.0) == [Preempt(1), Start(9, 0, 8)]


def test_guard_never_takes_a_higher_class():
    st = state([pool(8)], [run(_ckpt(1, 8, priority=1), start=-7000.0)])
    assert SuanwangPolicy(patience_s=INF).decide(st, [job(9, 8, submit=DUE)], 0.0) == []


def test_a_higher_class_goes_before_the_guard():
    # V (class 0, submitted after B) runs. The class-1 job H may preempt it and does; the
    # overdue class-0 job B is tried only after H's class, and then finds no victim.
    v = run(_ckpt(1, 8), start=-7000.0)
    st = state([pool(8)], [v])
    q = [job(9, 8, submit=DUE), job(10, 8, priority=1, submit=-5.0)]
    assert SuanwangPolicy(patience_s=INF).decide(st, q, 0.0) == [Preempt(1), Start(10, 0, 8)]


def test_anchor_keeps_the_reservation(monkeypatch):
    # The anchor A (history prediction, waited 7 days, 16 devices) and an overdue planned B
    # (16 devices) both wait for R; B may not preempt R (it ran less than min_run_s). The one
    # EASY reservation is A's, as the anchor's starvation bound says.
    import suanwang.sched.suanwang_policy as sp

    passes = []

    class Recording(sp.BackfillPass):
        def __init__(self, *args, **kw):
            super().__init__(*args, **kw)
            passes.append(self)

    monkeypatch.setattr(sp, "BackfillPass", Recording)
    r = run(_ckpt(1, 8, submit=-8 * DAY_S), start=-300.0)
    st = state([pool(16)], [r])
    anchor = job(20, 16, est=None, submit=-7 * DAY_S)
    q = [anchor, job(21, 16, submit=DUE), job(22, 8, est=200_000.0, submit=-1.0)]
    assert SuanwangPolicy().decide(st, q, 0.0) == []
    assert [res[3] for res in passes[-1].reservations] == [20]


def test_guard_never_starts_a_job_on_a_pool_placement_would_refuse():
    # The only victim runs on a pool 10x slower than the fast one (placement's cap is 4x):
    # the guard does not preempt it to start the overdue job there.
    fast = pool(8, name="fast")
    slow = pool(8, name="slow", speed=0.1, accelerator="T4")
    st = state([fast, slow], [run(_ckpt(1, 8), start=-300.0),  # ran < min_run_s: kept
                              run(_ckpt(2, 8), start=-7000.0, pool_idx=1)])
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
    """One 8-device node, 8-device gangs. A (1,000 s) runs from 0 s; J (predicted 50,000 s,
    runs 100 s) arrives at 1 s; V (predicted 700 s, runs 100,000 s) at 2 s goes first when A
    ends (shortest first) and overruns; more jobs (predicted 100,000 s) arrive every 1000 s
    from 3000 s. No queued gang ever fits again, so only a same-class preemption of V (which
    overtook J) can start J before V ends."""
    n = 12
    submit = np.concatenate([[0.0, 1.0, 2.0], 1000.0 * np.arange(3, n)])
    runtime = np.concatenate([[1000.0, 100.0, 100_000.0], np.full(n - 3, 100.0)])
    estimate = np.concatenate([[1000.0, 50_000.0, 700.0], np.full(n - 3, 100_000.0)])
    wl = Workload(name="blocked", submit_s=submit, runtime_s=runtime,
                  num_devices=np.full(n, 8), user=np.zeros(n, dtype=np.int64), users=["u"],
                  estimate_s=estimate)
    sim = _Sim(wl, homogeneous(8), SuanwangPolicy(patience_s=INF,
                                                  preempt_after_s=preempt_after_s),
               SimOptions(node_aware=True))
    sim.run()
    return sim


def test_engine_asks_the_guard_even_when_no_gang_fits():
    sim = _blocked(3600.0)
    assert sim.log.first_start[2] == 1000.0  # V overtook J
    # J is due at 3601 s; the engine next calls the policy at the 4000 s arrival.
    assert sim.log.first_start[1] == 4000.0
    assert sim.log.preemptions == 1
    assert _blocked(INF).log.first_start[1] >= 100_000.0



def test_memoized_and_fresh_paths_pick_the_same_overdue_jobs(monkeypatch):
    """Randomized mixed queues (jobs that checkpoint on the signal or not, planned or not,
    requeued or not, two classes) under a skilled and an unskilled estimator and random
    bounds: the memoized walk (merged per-kind heaps, each cut at its bound) and the fresh
    sort choose the same due jobs and the same decisions."""
    import dataclasses

    import suanwang.sched.suanwang_policy as sp
    from suanwang.sched.suanwang_policy import SHORT_QUEUE

    captured: list[list[int]] = []
    orig = sp._OverdueGuard.__init__

    def record(self, policy, bf, due, out):
        captured.append([j.job_id for j in due])
        orig(self, policy, bf, due, out)

    monkeypatch.setattr(sp._OverdueGuard, "__init__", record)
    r = random.Random(11)
    nonempty = 0
    for _ in range(300):
        pools = [pool(r.choice([16, 32, 64]), name=f"p{k}") for k in range(r.randint(1, 2))]
        running, jid = [], 10_000
        for k, p in enumerate(pools):
            for _ in range(p.devices // 8):
                if r.random() < 0.9:
                    jid += 1
                    running.append(run(_ckpt(jid, 8, priority=r.choice([0, 1]),
                                             preempt_save_s=r.choice([None, 30.0]),
                                             restarts=r.choice([0, 0, 1])),
                                       start=-r.uniform(700, 9000), pool_idx=k))
        queue = sorted((job(i, r.choice([1, 2, 4, 8, 16]),
                            est=r.choice([None, r.uniform(60, 1e5)]),
                            submit=-r.choice([r.uniform(0, 4), r.uniform(0.4, 2.2)]) * DAY_S,
                            priority=r.choice([0, 0, 1]), preempt_save_s=r.choice([None, 30.0]),
                            restarts=r.choice([0, 0, 0, 1]), tenant=r.choice("abc"))
                        for i in range(r.randint(SHORT_QUEUE + 1, 90))),
                       key=lambda j: (j.submit_s, j.job_id))
        kw = dict(patience_s=r.choice([INF, 6 * DAY_S, DAY_S]),
                  preempt_after_s=r.choice([0.5 * DAY_S, 3 * DAY_S, 0.0, INF]),
                  lossy_preempt_after_s=r.choice([2 * DAY_S, 0.25 * DAY_S, INF]),
                  guard_batch=r.choice([1, 2, 4, 8]), reorder_period_s=0.0)
        fresh = state(pools, running, estimator=FixedEstimator(skill=r.choice([0.1, 0.9])))
        memo = dataclasses.replace(fresh, queue_log=[(j.job_id, j) for j in queue])
        captured.clear()
        a = SuanwangPolicy(**kw).decide(fresh, list(queue), 0.0)
        b = SuanwangPolicy(**kw).decide(memo, list(queue), 0.0)
        assert a == b, kw
        if captured:
            assert captured[0] == captured[-1], kw
            nonempty += bool(captured[0])
    assert nonempty > 50  # the guard had work in many trials
