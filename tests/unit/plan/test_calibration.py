"""Closed-loop calibration: robust, bounded corrections with provenance, and their store."""

from __future__ import annotations

import pytest

from suanwang.core.errors import ConfigError
from suanwang.plan.calibration import RunRecord, corrected, fit
from suanwang.store.calibration_file import CalibrationFile


def _rec(i, measured, predicted=1.0, center="local", acc="CPU-local", **kw):
    return RunRecord(job_id=f"j{i}", center=center, accelerator=acc, at_s=float(i),
                     predicted_step_s=predicted, measured_step_s=measured, **kw)


def test_median_ignores_a_disturbed_minority():
    recs = [_rec(0, 2.0), _rec(1, 2.1), _rec(2, 9.0), _rec(3, 1.9), _rec(4, 2.0)]
    c = fit(recs)[("local", "CPU-local")]
    assert c.step_factor == pytest.approx(2.0)
    assert c.provenance["step"]["jobs"] == ["j0", "j1", "j2", "j3", "j4"]
    assert corrected(3.0, fit(recs), center="local", accelerator="CPU-local") == \
        pytest.approx(6.0)
    assert corrected(3.0, fit(recs), center="other", accelerator="CPU-local") == 3.0


def test_window_keeps_recent_jobs_and_bounds_clamp():
    old = [_rec(i, 10.0) for i in range(5)]
    new = [_rec(10 + i, 1.5) for i in range(3)]
    c = fit(old + new, window=3)[("local", "CPU-local")]
    assert c.step_factor == pytest.approx(1.5)
    wild = fit([_rec(0, 1e6), _rec(1, 1e6)], max_factor=100)[("local", "CPU-local")]
    assert wild.step_factor == 100 and wild.provenance["step"]["clamped"]


def test_needs_min_jobs_and_figures_are_separate():
    one = fit([_rec(0, 3.0, predicted_restart_s=2.0, measured_restart_s=4.0)])
    c = one[("local", "CPU-local")]
    assert c.step_factor == 1.0 and "1 of 2" in c.provenance["step"]["reason"]
    two = fit([_rec(0, 3.0, predicted_stall_s=0.1, measured_stall_s=0.3),
               _rec(1, 3.0, predicted_stall_s=0.1, measured_stall_s=0.3)])
    c = two[("local", "CPU-local")]
    assert c.step_factor == pytest.approx(3.0) and c.stall_factor == pytest.approx(3.0)
    assert c.restart_factor == 1.0  # never reported


@pytest.mark.parametrize(("kw", "field"), [({"measured_step_s": 0}, "measured_step_s"),
                                           ({"measured_stall_s": -1}, "measured_stall_s")])
def test_bad_records_name_the_field(kw, field):
    args = {"job_id": "j", "center": "c", "accelerator": "a", "at_s": 0.0,
            "predicted_step_s": 1.0, "measured_step_s": 1.0, **kw}
    with pytest.raises(ConfigError) as err:
        RunRecord(**args)
    assert err.value.field == field


def test_file_store_add_replace_reset(tmp_path):
    store = CalibrationFile(tmp_path / "cal.json")
    assert store.corrections() == {}
    for i in range(3):
        store.add(_rec(i, 2.0))
    store.add(_rec(0, 4.0))  # same job id: replaced, not duplicated
    store.add(_rec(9, 5.0, center="beijing-ai", acc="H100-SXM"))
    assert len(store.records()) == 4
    assert store.corrections()[("local", "CPU-local")].step_factor == pytest.approx(2.0)
    assert store.reset(center="local") == 3
    assert [r.center for r in store.records()] == ["beijing-ai"]
    (tmp_path / "cal.json").write_text("{not json")
    with pytest.raises(ConfigError):
        store.records()


def test_where_ranks_with_corrected_time_cost_energy():
    from suanwang.catalog import load_federation
    from suanwang.core.model import ModelSpec
    from suanwang.plan.placement import select_compute

    fed = load_federation(None)
    tiny = ModelSpec(name="tiny", layers=4, hidden=128, heads=4, kv_heads=4, ffn_hidden=512,
                     vocab=256, seq_len=128)
    args = {"tokens": 1e7, "global_batch_seqs": 8, "seq_len": 128, "centers": ("local",)}
    raw = select_compute(fed, tiny, **args).options[0]
    corr = fit([_rec(0, 0.001, predicted=1.0), _rec(1, 0.001, predicted=1.0)])
    got = select_compute(fed, tiny, **args, corrections=corr).options[0]
    assert got.time_to_train_s == pytest.approx(raw.time_to_train_s * 0.001)
    assert got.cost == pytest.approx(raw.cost * 0.001)
    assert got.energy_kwh == pytest.approx(raw.energy_kwh * 0.001)
    # a deadline the raw prediction misses is met once the measured speed is known
    deadline = raw.time_to_train_s / 10
    assert select_compute(fed, tiny, **args, deadline_s=deadline, corrections=corr).options
