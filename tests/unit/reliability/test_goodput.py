"""Analytic ETTR / time to train: limits, identities, monotonicity and bad inputs."""

from __future__ import annotations

import math

import pytest

from suanwang.core.errors import ConfigError
from suanwang.core.units import DAY_S, HOUR_S, MINUTE_S
from suanwang.reliability import checkpoint_cost, goodput, renewal


def test_sync_segment_is_dalys_expected_time():
    m, r, d, tau = 6 * HOUR_S, 600.0, 300.0, 3000.0
    c = renewal.segment_costs(interval_s=tau, mtbf_s=m, stall_s=d, persist_s=0.0, restart_s=r)
    daly = m * math.exp(r / m) * (math.exp((tau + d) / m) - 1)
    assert c.first_s == pytest.approx(daly)
    assert c.steady_s == pytest.approx(daly)


def test_no_failures_limit_is_compute_plus_stalls():
    e = goodput.assess(compute_time_s=10 * DAY_S, job_mtbf_s=1e15, stall_s=10, persist_s=5,
                       restart_s=600, interval_s=3600)
    assert e.segments == 240
    assert e.time_to_train_s == pytest.approx(10 * DAY_S + 240 * 10 + 5, rel=1e-9)
    assert e.expected_failures == pytest.approx(0, abs=1e-6)


def test_breakdown_sums_to_time_to_train():
    e = goodput.assess(compute_time_s=20 * DAY_S, job_mtbf_s=2 * HOUR_S, stall_s=20,
                       persist_s=120, restart_s=600)
    parts = e.compute_time_s + e.checkpoint_s_total + e.restart_s_total + e.lost_work_s_total
    assert parts == pytest.approx(e.time_to_train_s)
    assert sum(e.waste_fractions.values()) == pytest.approx(1 - e.ettr)
    assert e.expected_failures == pytest.approx(e.time_to_train_s / e.job_mtbf_s)
    assert e.lost_work_s_total > 0 and e.restart_s_total > 0
    assert e.interval_s >= e.persist_s


def test_lost_work_per_failure_is_about_half_a_segment_when_failures_are_rare():
    e = goodput.assess(compute_time_s=100 * DAY_S, job_mtbf_s=30 * DAY_S, stall_s=60,
                       restart_s=600, interval_s=3 * HOUR_S)
    # BLOOM: a 3 h interval loses "on average 1.5 h" per crash
    assert e.expected_lost_work_s == pytest.approx((3 * HOUR_S + 60) / 2, rel=0.05)


def test_first_order_formula_is_close_only_for_long_mtbf():
    def first_order(m, d, r):
        tau = math.sqrt(2 * d * m)
        return 1 - (d / tau + (tau / 2 + r) / m)

    long = goodput.steady_state(job_mtbf_s=24 * HOUR_S, stall_s=60, restart_s=600,
                                method="young")
    assert long.ettr == pytest.approx(first_order(24 * HOUR_S, 60, 600), abs=0.005)
    short = goodput.steady_state(job_mtbf_s=15 * MINUTE_S, stall_s=60, restart_s=600,
                                 method="young")
    assert abs(short.ettr - first_order(15 * MINUTE_S, 60, 600)) > 0.1


def test_assess_matches_steady_state_for_long_runs():
    kw = {"job_mtbf_s": 3 * HOUR_S, "stall_s": 5, "persist_s": 60, "restart_s": 600}
    long = goodput.assess(compute_time_s=365 * DAY_S, **kw)
    assert long.ettr == pytest.approx(goodput.steady_state(**kw).ettr, abs=1e-4)


def test_larger_mtbf_gives_higher_ettr():
    ettrs = [goodput.steady_state(job_mtbf_s=m, stall_s=30, restart_s=600).ettr
             for m in (0.5 * HOUR_S, 2 * HOUR_S, 8 * HOUR_S, 32 * HOUR_S)]
    assert ettrs == sorted(ettrs)


@pytest.mark.parametrize("async_save", [False, True])
def test_faster_storage_gives_higher_ettr(async_save):
    ettrs = []
    for bw in (50e9, 200e9, 1e12, 5e12):
        c = checkpoint_cost.checkpoint_cost(state_bytes_per_device=2e9, devices=4096,
                                            storage_write_bytes_per_s=bw,
                                            staging_bytes_per_s=25e9, async_save=async_save)
        e = goodput.assess(compute_time_s=30 * DAY_S, job_mtbf_s=6 * HOUR_S, stall_s=c.stall_s,
                           persist_s=c.persist_s, restart_s=600)
        ettrs.append(e.ettr)
    assert ettrs == sorted(ettrs) and ettrs[0] < ettrs[-1]


def test_async_beats_sync_for_the_same_storage():
    kw = {"state_bytes_per_device": 2e9, "devices": 4096, "storage_write_bytes_per_s": 200e9,
          "staging_bytes_per_s": 25e9}
    sync = checkpoint_cost.checkpoint_cost(async_save=False, **kw)
    asyn = checkpoint_cost.checkpoint_cost(async_save=True, **kw)
    e_sync = goodput.steady_state(job_mtbf_s=6 * HOUR_S, stall_s=sync.stall_s, restart_s=600)
    e_async = goodput.steady_state(job_mtbf_s=6 * HOUR_S, stall_s=asyn.stall_s,
                                   persist_s=asyn.persist_s, restart_s=600)
    assert e_async.ettr > e_sync.ettr


def test_longer_restart_gives_lower_ettr():
    ettrs = [goodput.steady_state(job_mtbf_s=3 * HOUR_S, stall_s=1, restart_s=r).ettr
             for r in (0, 60, 600, 1800)]
    assert ettrs == sorted(ettrs, reverse=True)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"job_mtbf_s": 0}, "job_mtbf_s"),
    ({"job_mtbf_s": -3600}, "job_mtbf_s"),
    ({"job_mtbf_s": float("nan")}, "job_mtbf_s"),
    ({"stall_s": 0}, "stall_s"),
    ({"stall_s": 3600}, "stall_s"),  # stall >= MTBF
    ({"stall_s": 7200}, "stall_s"),
    ({"restart_s": -1}, "restart_s"),
    ({"persist_s": -1}, "persist_s"),
    ({"compute_time_s": 0}, "compute_time_s"),
    ({"interval_s": 10, "persist_s": 100}, "interval_s"),
])
def test_bad_inputs_raise_config_error_naming_the_field(kwargs, field):
    args = {"compute_time_s": DAY_S, "job_mtbf_s": 3600, "stall_s": 10, "persist_s": 0,
            "restart_s": 600, **kwargs}
    with pytest.raises(ConfigError) as info:
        goodput.assess(**args)
    assert info.value.field == field
    assert field in str(info.value)


def test_hopeless_jobs_are_a_clear_error_not_an_overflow():
    with pytest.raises(ConfigError, match="never finish"):
        goodput.assess(compute_time_s=DAY_S, job_mtbf_s=1.0, stall_s=0.5, restart_s=3600)
