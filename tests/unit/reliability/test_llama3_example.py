"""The 16,384-H100 worked example of docs/reliability.md (Llama-3-like failure rates)."""

from __future__ import annotations

import pytest

from suanwang.core.units import DAY_S
from suanwang.reliability import checkpoint_cost, goodput, rates

GPUS = 16384
STATE_BYTES = 405e9 * 14  # bf16 weights + fp32 master weights + Adam m, v (bytes per param)


def _ckpt(async_save: bool):
    return checkpoint_cost.checkpoint_cost(
        state_bytes_per_device=STATE_BYTES / GPUS, devices=GPUS,
        storage_write_bytes_per_s=2e12,  # Llama 3: Tectonic 2 TB/s sustained
        staging_bytes_per_s=25e9, async_save=async_save,
        fixed_stall_s=0.75)  # DCP async: 0.78 s blocked on 1,856 H200


def test_llama3_like_run_explains_over_90pct_with_async_checkpoints():
    m = rates.job_mtbf_s("H100-SXM", GPUS, 8)
    c = _ckpt(async_save=True)
    e = goodput.assess(compute_time_s=54 * DAY_S, job_mtbf_s=m, stall_s=c.stall_s,
                       persist_s=c.persist_s, restart_s=600)
    assert c.persist_s == pytest.approx(2.835)
    assert 0.90 < e.ettr < 0.95  # Llama 3 reports ">90% effective training time"
    assert e.ettr == pytest.approx(0.936, abs=0.001)
    assert e.expected_failures == pytest.approx(447, rel=0.01)  # 419 in 54 days observed
    assert e.interval_s == pytest.approx(130, rel=0.01)


def test_what_97pct_needs():
    m = rates.job_mtbf_s("H100-SXM", GPUS, 8)
    persist = _ckpt(async_save=True).persist_s
    # sub-second async stalls: restarts must come down to ~3.4 min
    r = goodput.max_restart_s(target_ettr=0.97, job_mtbf_s=m, stall_s=0.78, persist_s=persist)
    assert r == pytest.approx(204, rel=0.01)
    # 1-minute restarts: stalls up to ~3.4 s still reach 97%
    d = goodput.max_stall_s(target_ettr=0.97, job_mtbf_s=m, restart_s=60, persist_s=persist)
    assert d == pytest.approx(3.40, rel=0.01)
    # 10-minute restarts alone waste R/M ≈ 5.4%: 97% is out of reach
    assert goodput.max_stall_s(target_ettr=0.97, job_mtbf_s=m, restart_s=600,
                               persist_s=persist) is None
    # sync DCP at 7B-like stalls (148.8 s) cannot even reach 90% at this MTBF with 1-min restarts
    assert goodput.steady_state(job_mtbf_s=m, stall_s=148.8, restart_s=60).ettr < 0.90
