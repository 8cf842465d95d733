"""Node-aware capacity in policies: free-node buckets, fit per node, gang rule."""

from __future__ import annotations

from suanwang.sched.backfill import EasyBackfill
from suanwang.sched.decisions import Start
from suanwang.sched.fifo import Fifo
from suanwang.sched.state import node_fits, take_nodes
from suanwang.sched.suanwang_policy import SuanwangPolicy
from tests.unit.sched.helpers import job, pool, run, state


def test_node_fits_and_take_nodes():
    counts = [0, 0, 1, 0, 0, 0, 0, 0, 1]  # one node with 2 free, one wholly free (8 per node)
    assert node_fits(counts, 2, 8) and node_fits(counts, 8, 8) and not node_fits(counts, 9, 8)
    take_nodes(counts, 2, 8)  # best fit: the node with 2 free
    assert counts == [1, 0, 0, 0, 0, 0, 0, 0, 1]
    counts = [0] * 8 + [3]
    take_nodes(counts, 12, 8)  # two whole nodes, the second half used
    assert counts == [1, 0, 0, 0, 1, 0, 0, 0, 1]
    assert not node_fits(counts, 16, 8) and node_fits(counts, 4, 8) and node_fits(counts, 0, 8)


def test_policies_check_fit_per_node_not_per_pool():
    # 16 devices in 2 nodes, 6 used on each: 4 free in the pool, but at most 2 per node.
    running = [run(job(1, 6, est=1000)), run(job(2, 6, est=2000))]
    nodes = [[0, 0, 2, 0, 0, 0, 0, 0, 0]]
    st = state([pool(16)], running, node_free=nodes)
    q = [job(3, 4, est=10), job(4, 2, est=10, submit=1)]
    for policy in (Fifo(), EasyBackfill(), SuanwangPolicy(min_skill=0.0)):
        d = policy.decide(st, q, 0.0)
        started = [x.job_id for x in d if isinstance(x, Start)]
        assert 3 not in started, policy.name
    # FIFO blocks behind the 4-device head; backfill starts the 2-device job in one node.
    assert Fifo().decide(st, q, 0.0) == []
    assert EasyBackfill().decide(st, q, 0.0) == [Start(4, 0, 2)]
    # Pooled, the 4-device job fits.
    assert EasyBackfill().decide(state([pool(16)], running), q, 0.0)[0] == Start(3, 0, 4)


def test_large_gang_needs_whole_nodes():
    st = state([pool(24)], [run(job(1, 1, est=1000))], node_free=[[0] * 7 + [1, 2]])
    assert EasyBackfill().decide(st, [job(2, 16)], 0.0) == [Start(2, 0, 16)]
    assert EasyBackfill().decide(st, [job(2, 17)], 0.0) == []  # 3 whole nodes needed
