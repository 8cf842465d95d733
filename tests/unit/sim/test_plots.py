"""Simulation figures: binned utilisation is the exact time-weighted mean (issue #16)."""

from __future__ import annotations

import numpy as np
import pytest

from suanwang.sim.plots import binned_utilization, write_plots


def test_binned_utilization_is_the_time_weighted_mean():
    # 4 devices: 4 busy on [0, 10), 0 busy on [10, 30), 2 busy on [30, 40]
    tl = np.array([[0.0, 4], [10.0, 0], [30.0, 2], [40.0, 0]])
    x, u = binned_utilization(tl, 4, bins=2)
    assert x.tolist() == [10.0, 30.0]
    assert u == pytest.approx([(4 * 10) / 20 / 4, (2 * 10) / 20 / 4])
    # the whole-run mean is preserved by any binning
    _, u8 = binned_utilization(tl, 4, bins=8)
    assert u8.mean() == pytest.approx((40 + 20) / 40 / 4)


def test_write_plots_one_panel_per_policy(tmp_path):
    from suanwang.sched.registry import get_policy
    from suanwang.sim.cluster import homogeneous
    from suanwang.sim.engine import SimOptions, simulate
    from suanwang.sim.traces.synthetic import synthetic_llm

    cluster, work = homogeneous(32), synthetic_llm(40, 32, seed=1)
    runs = [simulate(work, cluster, get_policy(p), SimOptions(timeline=True))
            for p in ("fifo", "backfill")]
    paths = write_plots(runs, tmp_path)
    assert [p.name for p in paths] == ["jct_cdf.png", "utilization.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)
