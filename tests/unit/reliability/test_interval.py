"""Young (1974) and Daly (2006) intervals against the published examples; async constraint."""

from __future__ import annotations

import math

import pytest

from suanwang.core.errors import ConfigError
from suanwang.core.units import HOUR_S, MINUTE_S
from suanwang.reliability import interval

# Daly 2006 (FGCS 22(3)) examples: restart 10 min, dump (checkpoint) 5 min.
DALY_EXAMPLES = [(24 * HOUR_S, 117.0), (6 * HOUR_S, 57.0), (15 * MINUTE_S, 9.1)]


@pytest.mark.parametrize(("mtbf_s", "published_min"), DALY_EXAMPLES)
def test_daly_reproduces_published_examples_within_1pct(mtbf_s, published_min):
    tau = interval.daly_interval_s(stall_s=5 * MINUTE_S, job_mtbf_s=mtbf_s)
    assert tau / MINUTE_S == pytest.approx(published_min, rel=0.01)


@pytest.mark.parametrize(("mtbf_s", "published_min"), DALY_EXAMPLES)
def test_exact_optimum_agrees_with_daly(mtbf_s, published_min):
    opt = interval.optimal_interval_s(stall_s=5 * MINUTE_S, job_mtbf_s=mtbf_s,
                                      restart_s=10 * MINUTE_S)
    assert opt / MINUTE_S == pytest.approx(published_min, rel=0.01)


def test_young_is_sqrt_2_delta_m():
    assert interval.young_interval_s(stall_s=60, job_mtbf_s=3600) == pytest.approx(
        math.sqrt(2 * 60 * 3600))


def test_daly_large_stall_branch_returns_mtbf():
    assert interval.daly_interval_s(stall_s=500, job_mtbf_s=200) == 200


def test_daly_approaches_young_when_stall_is_small():
    y = interval.young_interval_s(stall_s=1, job_mtbf_s=1e6)
    d = interval.daly_interval_s(stall_s=1, job_mtbf_s=1e6)
    assert d == pytest.approx(y, rel=1e-3)


def test_async_interval_is_at_least_the_persist_time():
    tau = interval.checkpoint_interval_s(stall_s=1, job_mtbf_s=3600, persist_s=600)
    assert tau == 600
    assert interval.checkpoint_interval_s(stall_s=1, job_mtbf_s=3600, persist_s=1) == (
        pytest.approx(interval.daly_interval_s(stall_s=1, job_mtbf_s=3600)))


@pytest.mark.parametrize("method", interval.METHODS)
def test_interval_methods_are_close(method):
    tau = interval.checkpoint_interval_s(stall_s=30, job_mtbf_s=4 * HOUR_S, restart_s=600,
                                         method=method)
    assert tau == pytest.approx(math.sqrt(2 * 30 * 4 * HOUR_S), rel=0.05)


def test_bad_inputs_name_the_field():
    with pytest.raises(ConfigError, match="job_mtbf_s"):
        interval.daly_interval_s(stall_s=5, job_mtbf_s=0)
    with pytest.raises(ConfigError, match="stall_s"):
        interval.young_interval_s(stall_s=-1, job_mtbf_s=100)
    with pytest.raises(ConfigError, match="method"):
        interval.checkpoint_interval_s(stall_s=5, job_mtbf_s=100, method="magic")
