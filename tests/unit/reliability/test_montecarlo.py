"""The event-level Monte-Carlo agrees with the analytic renewal model within 1 pp of ETTR."""

from __future__ import annotations

import math

import numpy as np
import pytest

from suanwang.core.units import HOUR_S, MINUTE_S
from suanwang.reliability import goodput, montecarlo

MTBFS = [15 * MINUTE_S, 1 * HOUR_S, 3.09 * HOUR_S, 24 * HOUR_S]
# (stall, persist): sync saves of 5 s .. 5 min, async saves with background persist
CKPTS = [(5.0, 0.0), (60.0, 0.0), (300.0, 0.0), (1.0, 30.0), (20.0, 200.0)]


def _pair(rng, m, d, tp, r=10 * MINUTE_S, runs=2000):
    ss = goodput.steady_state(job_mtbf_s=m, stall_s=d, persist_s=tp, restart_s=r)
    # runs of >= 10 MTBFs (and >= 40 checkpoints), so each run sees many failures: low variance
    segments = max(40, math.ceil(10 * m / ss.interval_s))
    a = goodput.assess(compute_time_s=segments * ss.interval_s, job_mtbf_s=m, stall_s=d,
                       persist_s=tp, restart_s=r)
    mc = montecarlo.simulate(rng=rng, segments=a.segments, interval_s=a.interval_s,
                             job_mtbf_s=m, stall_s=d, persist_s=tp, restart_s=r, runs=runs)
    return a, mc


def test_monte_carlo_matches_analytic_ettr_across_grid():
    rng = np.random.default_rng(20260)
    gaps = []
    for m in MTBFS:
        for d, tp in CKPTS:
            a, mc = _pair(rng, m, d, tp)
            gaps.append(abs(mc.ettr - a.ettr))
            assert abs(mc.ettr - a.ettr) < 0.01, (m, d, tp, a.ettr, mc.ettr)
            # mean time within 5 standard errors: a statistical, not just a 1 pp, check
            assert abs(mc.mean_time_s - a.time_to_train_s) < 5 * mc.stderr_time_s + 1e-9
            assert mc.mean_failures == pytest.approx(a.expected_failures, rel=0.1, abs=0.1)
            assert mc.mean_interruptions == pytest.approx(a.expected_interruptions, rel=0.1,
                                                          abs=0.1)
    assert max(gaps) < 0.005  # measured max 0.28 pp over seeds 0..3


def test_monte_carlo_is_reproducible_with_the_same_seed():
    kw = {"segments": 10, "interval_s": 600, "job_mtbf_s": 3600, "stall_s": 10,
          "persist_s": 60, "restart_s": 300, "runs": 200}
    a = montecarlo.simulate(rng=np.random.default_rng(7), **kw)
    b = montecarlo.simulate(rng=np.random.default_rng(7), **kw)
    assert a == b


def test_monte_carlo_without_failures_is_deterministic():
    mc = montecarlo.simulate(rng=np.random.default_rng(0), segments=5, interval_s=100,
                             job_mtbf_s=1e15, stall_s=2, persist_s=50, restart_s=600, runs=10)
    assert mc.mean_time_s == pytest.approx(5 * 100 + 5 * 2 + 50)
    assert mc.mean_failures == 0
