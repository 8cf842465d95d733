from __future__ import annotations

import math

from suanwang.plan.throughput import tokens_per_s
from suanwang.sched.estimates import UserHistoryEstimator
from suanwang.sched.placement import choose_pool
from suanwang.sim.cluster import SPEED_DEVICES, SPEED_MODEL, load_cluster, pool_speed
from tests.unit.sched.helpers import job, pool, state


def test_history_estimator_is_online_and_falls_back():
    e = UserHistoryEstimator(default_s=3600.0)
    j = job(1, 8, est=None, user="u")
    assert e.predict_s(j) == 3600.0  # nothing known yet
    e.observe(job(2, 8, user="u"), 100.0)
    e.observe(job(3, 8, user="u"), 300.0)
    assert e.predict_s(j) == 200.0  # same user, same size
    assert e.predict_s(job(4, 1, est=None, user="u")) == 200.0  # same user, any size
    other = e.predict_s(job(5, 1, est=None, user="v"))
    assert math.isclose(other, math.sqrt(100.0 * 300.0))  # global geometric mean


def test_pool_speed_comes_from_the_planner():
    """One performance model: a pool's speed is the planner's tokens/s ratio to the reference
    (no second roofline proxy in sched)."""
    ref = tokens_per_s(SPEED_MODEL, "A100-SXM-80GB", SPEED_DEVICES)
    assert pool_speed("A100-SXM-80GB") == 1.0
    assert pool_speed("H100-SXM") == tokens_per_s(SPEED_MODEL, "H100-SXM", SPEED_DEVICES) / ref
    assert pool_speed("H100-SXM") > 1.5 and pool_speed("H20") < 1.0
    speeds = {p.accelerator: p.speed for p in load_cluster(None).pools}
    assert speeds["H100-SXM"] == pool_speed("H100-SXM")


def test_placement_weighs_speed_staging_and_cost():
    pools = [pool(8, name="far-fast", center="far", speed=2.0),
             pool(8, name="near", center="near", speed=1.0)]
    # 10 TB of data at "near", 1.25 GB/s WAN: staging 8000 s beats a 2x speed-up on 1000 s.
    j = job(1, 8, est=1000.0, data_center="near", data_bytes=10e12)
    assert choose_pool(state(pools), j, [8, 8]) == 1
    assert choose_pool(state(pools), job(2, 8, est=1000.0), [8, 8]) == 0
    # Cost-aware: an expensive fast pool loses when seconds are cheap relative to money.
    pools = [pool(8, name="fast", speed=2.0, price=100.0), pool(8, name="cheap", price=1.0)]
    assert choose_pool(state(pools), job(3, 8, est=3600.0), [8, 8]) == 0
    assert choose_pool(state(pools), job(3, 8, est=3600.0), [8, 8], cost_weight_s=100.0) == 1


def test_placement_respects_constraints_and_slowdown_cap():
    pools = [pool(8, name="cpu", speed=0.1, accelerator="CPU"), pool(8, name="gpu", speed=1.0,
                                                                    accelerator="X")]
    assert choose_pool(state(pools), job(1, 4), [8, 0]) is None  # 10x slower: wait instead
    assert choose_pool(state(pools), job(1, 4, accelerators=frozenset({"CPU"})), [8, 8]) == 0


def test_job_specific_speed_from_throughput_function():
    tput = {("m", "A100-SXM-80GB"): 100.0, ("m", "fast"): 300.0, ("m", "tiny"): 0.0}
    pools = [pool(8, name="a", accelerator="A100-SXM-80GB"),
             pool(8, name="f", accelerator="fast", speed=1.1),
             pool(8, name="t", accelerator="tiny", speed=5.0)]
    st = state(pools, throughput=lambda m, acc, n: tput[(m, acc)])
    j = job(1, 8, model="m")
    assert [st.speed(j, i) for i in range(3)] == [1.0, 3.0, 0.0]
    assert st.speed(job(2, 8), 2) == 5.0  # no model: the pool's generic speed
    assert choose_pool(st, j, [8, 8, 8]) == 1  # model does not fit on "tiny": never there
    assert choose_pool(st, j, [8, 0, 8]) == 0


def test_placement_weight_breaks_ties_before_best_fit():
    """Among pools equally good for a job, the lower operator weight wins over best fit; a
    weight never beats a faster pool."""
    from dataclasses import replace

    rare = replace(pool(1, name="rare", accelerator="P100"), weight=10.0)
    common = pool(8, name="common", accelerator="G2")
    j = job(1, 1, est=3600.0)
    assert choose_pool(state([replace(rare, weight=0.0), common]), j, [1, 8]) == 0  # best fit
    assert choose_pool(state([rare, common]), j, [1, 8]) == 1  # the weight keeps "rare" free
    assert choose_pool(state([rare, common]), j, [1, 0]) == 0  # still used when alone
    fast_rare = replace(rare, speed=2.0)
    assert choose_pool(state([fast_rare, common]), j, [1, 8]) == 0  # speed first


def test_weights_keep_a_rare_type_free_for_its_constrained_jobs():
    """The Alibaba-97 pattern in miniature (docs/scheduling.md): a long job that may run anywhere
    lands on the single rare device by best fit and blocks the jobs that can only use it; with
    the rare pool weighted, it goes to the common pool and they start at once."""
    from dataclasses import replace

    import numpy as np

    from suanwang.sched.registry import get_policy
    from suanwang.sim.cluster import SimCluster
    from suanwang.sim.engine import SimOptions, simulate
    from suanwang.sim.workload import Workload

    w = Workload(name="rare", submit_s=np.array([0.0, 10.0, 100.0, 200.0]),
                 runtime_s=np.array([360_000.0, 60.0, 60.0, 60.0]),
                 num_devices=np.ones(4, np.int64), user=np.zeros(4, np.int64), users=["u"],
                 estimate_s=np.array([360_000.0, 60.0, 60.0, 60.0]),
                 constraint=np.array([-1, 0, 0, 0]), constraints=[frozenset({"P100"})])
    rare = pool(1, name="rare", accelerator="P100")
    common = pool(8, name="common", accelerator="G2")
    for weight, max_wait in ((0.0, 350_000.0), (10.0, 0.0)):
        cluster = SimCluster(name="c", pools=[replace(rare, weight=weight), common])
        for name in ("backfill", "suanwang"):
            r = simulate(w, cluster, get_policy(name), SimOptions())
            assert (r.max_wait_s > max_wait) if weight == 0.0 else (r.max_wait_s == 0.0), \
                (name, weight, r.max_wait_s)
