"""The simulator route's computations (api/routes/sim.py): binning, CDF, trace slicing."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from suanwang.api.routes.sim import POINTS, CompareRequest, _head, _utilisation, compare
from suanwang.core.errors import ConfigError
from suanwang.sim.traces.synthetic import synthetic_llm


def test_binned_utilisation_matches_brute_force_integration():
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.exponential(50.0, size=400))
    busy = rng.integers(0, 65, size=400).astype(float)
    out = _utilisation(np.column_stack([t, busy]), 64)
    assert len(out["t_s"]) == POINTS
    edges = np.linspace(t[0], t[-1], POINTS + 1)
    fine = np.linspace(t[0], t[-1], 400_001)[:-1]
    level = busy[np.searchsorted(t, fine, side="right") - 1] / 64
    for i in (0, 17, 99, POINTS - 1):
        inside = (fine >= edges[i]) & (fine < edges[i + 1])
        assert out["utilisation"][i] == pytest.approx(level[inside].mean(), abs=2e-3)
    assert min(out["utilisation"]) >= 0 and max(out["utilisation"]) <= 1


def test_compare_small_synthetic_run():
    res = compare(CompareRequest(trace="synthetic", jobs=60, cluster_gpus=64,
                                 policies=["fifo", "backfill"]))
    assert set(res["policies"]) == {"fifo", "backfill"} and res["devices"] == 64
    for r in res["policies"].values():
        assert r["summary"]["finished"] == r["summary"]["jobs"] == 60
        jct = r["jct_cdf"]["jct_s"]
        assert jct == sorted(jct) and r["jct_cdf"]["fraction"][-1] == 1.0
        assert all(0 <= u <= 1 for u in r["utilisation"]["utilisation"])
    # backfill never makes the mean wait worse than FIFO on the same trace
    assert (res["policies"]["backfill"]["summary"]["mean_wait_s"]
            <= res["policies"]["fifo"]["summary"]["mean_wait_s"])


def test_head_keeps_the_first_jobs_in_every_column():
    w = synthetic_llm(100, 64, seed=1)
    h = _head(w, 10)
    assert len(h) == 10
    assert np.array_equal(h.submit_s, w.submit_s[:10])
    assert np.array_equal(h.num_devices, w.num_devices[:10])
    assert _head(w, 1000) is w


def test_bad_requests_name_the_field():
    with pytest.raises(ValidationError, match="jobs"):
        CompareRequest(jobs=5)
    with pytest.raises(ValidationError, match="policies"):
        CompareRequest(policies=["lottery"])
    with pytest.raises(ConfigError, match="trace"):
        compare(CompareRequest(trace="no-such-trace"))
