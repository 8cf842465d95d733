"""No starvation: a large job behind an endless stream of short ones starts within the bound
docs/scheduling.md states for ``suanwang``: wait <= patience_s + D, where D is the longest
predicted remaining run among the jobs running when it becomes the anchor (the drain of its
EASY reservation; predictions here are exact, and it is the only job that old)."""

from __future__ import annotations

import numpy as np

from suanwang.sched.suanwang_policy import SuanwangPolicy
from suanwang.sim.cluster import homogeneous
from suanwang.sim.engine import SimOptions, _Sim
from suanwang.sim.workload import Workload

SHORT_S = 400.0
PATIENCE_S = 3600.0


def _stream(n_short: int = 3000) -> Workload:
    """One 64-device job (1000 s) at t=0 on 64 devices, behind 8-device jobs of 400 s
    arriving every 40 s from t=0 (offered load 1.25 of the cluster: the queue never empties
    while the stream lasts, 120,000 s)."""
    submit = np.concatenate([[0.0], np.arange(n_short) * 40.0])
    runtime = np.concatenate([[1000.0], np.full(n_short, SHORT_S)])
    devices = np.concatenate([[64], np.full(n_short, 8)])
    return Workload(name="stream", submit_s=submit, runtime_s=runtime, num_devices=devices,
                    user=np.zeros(n_short + 1, dtype=np.int64), users=["u"],
                    estimate_s=runtime.copy())


def _first_start(policy) -> tuple[float, float]:
    wl = _stream()
    sim = _Sim(wl, homogeneous(64), policy, SimOptions(node_aware=True))
    sim.run()
    return sim.log.first_start[0], max(sim.log.submit)


def test_large_job_starts_within_the_documented_bound():
    start, _ = _first_start(SuanwangPolicy(patience_s=PATIENCE_S))
    assert start <= PATIENCE_S + SHORT_S  # bound: patience + drain of the running short jobs
    assert start >= PATIENCE_S - 1e-9 or start == 0.0  # it did have to wait for the anchor


def test_without_the_anchor_it_starves_until_the_stream_ends():
    # The same rule with the anchor and the overdue guard disabled (both bounds infinite):
    # shortest-first alone keeps the large job waiting until the stream is over, which is why
    # the anchor exists.
    start, last_arrival = _first_start(SuanwangPolicy(patience_s=float("inf"),
                                                      preempt_after_s=float("inf")))
    assert start > 0.9 * last_arrival


def test_overdue_guard_starts_it_at_its_bound_by_preemption():
    # The anchor off, the overdue guard on at PATIENCE_S: the large job (planner prediction,
    # node-aware cluster) starts at the first scheduling call after it is due (arrivals come
    # every 40 s), by preempting the short jobs holding its nodes, without waiting for a drain.
    policy = SuanwangPolicy(patience_s=float("inf"), preempt_after_s=PATIENCE_S, min_run_s=0.0)
    start, _ = _first_start(policy)
    assert PATIENCE_S <= start <= PATIENCE_S + 40.0


def test_overdue_guard_drains_when_it_may_not_preempt():
    # The short jobs never run min_run_s (600 s), so none may be preempted: the overdue job
    # holds the EASY reservation instead and starts once the running short jobs end.
    policy = SuanwangPolicy(patience_s=float("inf"), preempt_after_s=PATIENCE_S)
    start, _ = _first_start(policy)
    assert PATIENCE_S <= start <= PATIENCE_S + SHORT_S + 40.0
