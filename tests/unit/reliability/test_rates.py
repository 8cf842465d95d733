"""Job MTBF from catalog failure rates: Llama 3 reproduction, scaling, multipliers."""

from __future__ import annotations

import pytest

from suanwang.catalog.failure_rates import get_failure_rate
from suanwang.core.errors import ConfigError
from suanwang.core.units import HOUR_S
from suanwang.reliability import rates


def test_llama3_job_mtbf_is_reproduced():
    # 419 unexpected interruptions in 54 days on 16,384 H100 (≈ 3.09 h between interruptions)
    m = rates.job_mtbf_s("H100-SXM", 16384, 8)
    assert m / HOUR_S == pytest.approx(54 * 24 / 419, rel=0.01)


def test_meta_rsc_1024_gpu_a100_jobs():
    assert rates.job_mtbf_s("A100-SXM-80GB", 1024, 8) / HOUR_S == pytest.approx(7.9, rel=0.01)


def test_larger_jobs_fail_more_often():
    ms = [rates.job_mtbf_s("H800", n, 8) for n in (8, 64, 512, 4096, 32768)]
    assert ms == sorted(ms, reverse=True)
    assert ms[0] / ms[-1] == pytest.approx(32768 / 8, rel=1e-9)


def test_partial_nodes_count_as_whole_nodes():
    assert rates.job_mtbf_s("H100-SXM", 9, 8) < rates.job_mtbf_s("H100-SXM", 8, 8) * 8 / 9


def test_multiplier_scales_the_rate():
    assert rates.job_mtbf_s("H100-SXM", 1024, 8, multiplier=2.0) == pytest.approx(
        rates.job_mtbf_s("H100-SXM", 1024, 8) / 2)


def test_unknown_and_unlisted_accelerators_use_the_default():
    default = get_failure_rate("Some-Future-NPU")
    assert default.assumed and default.accelerator_class == "default"
    assert get_failure_rate("Ascend-910B") == default
    assert get_failure_rate("h100-sxm").accelerator_class == "hopper"


def test_every_rate_cites_failure_stats():
    for name in ("H100-SXM", "A800", "B200", "MI300X"):
        r = get_failure_rate(name)
        assert r.sources and all("failure_stats.md" in s for s in r.sources)
        assert r.derivation


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"devices": 0}, "devices"), ({"devices_per_node": 0}, "devices_per_node"),
    ({"multiplier": 0.0}, "failure_rate_multiplier"),
])
def test_bad_job_shapes(kwargs, field):
    args = {"accelerator_name": "H100-SXM", "devices": 8, "devices_per_node": 8, **kwargs}
    with pytest.raises(ConfigError) as info:
        rates.job_mtbf_s(**args)
    assert info.value.field == field
