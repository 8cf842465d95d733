"""Sync DDP vs DiLoCo predictions over one WAN link."""

from __future__ import annotations

import pytest

from suanwang.core.errors import ConfigError
from suanwang.plan.crosscenter import plan_sync


def test_hand_computed_two_centers():
    p = plan_sync(params=1e6, compute_s=0.1, tokens_per_step=1000, centers=2,
                  link_bits_per_s=1e8, latency_s=0.03, outer_every_steps=20,
                  grad_bytes_per_param=4, delta_bytes_per_param=4)
    wan = 2 * (0.03 + 2e6 / 12.5e6)  # two messages of half the 4 MB
    assert p.ddp.step_time_s == pytest.approx(0.1 + wan)
    assert p.diloco.step_time_s == pytest.approx(0.1 + wan / 20)
    assert p.ddp.wan_bytes_per_step == pytest.approx(4e6)
    assert p.diloco.wan_bytes_per_step == pytest.approx(4e6 / 20)
    assert p.ddp.tokens_per_s == pytest.approx(1000 / (0.1 + wan))
    assert p.diloco_speedup == pytest.approx((0.1 + wan) / (0.1 + wan / 20))
    assert "arXiv:2311.08105" in p.caveat


def test_h_one_with_same_payload_equals_ddp():
    p = plan_sync(params=5e5, compute_s=0.2, tokens_per_step=512, centers=3,
                  link_bits_per_s=1e9, latency_s=0.01, outer_every_steps=1,
                  grad_bytes_per_param=4, delta_bytes_per_param=4)
    assert p.diloco.step_time_s == pytest.approx(p.ddp.step_time_s)


@pytest.mark.parametrize(("kw", "field"), [({"compute_s": 0}, "compute_s"),
                                           ({"centers": 1}, "centers"),
                                           ({"latency_s": -1}, "latency_s"),
                                           ({"outer_every_steps": 0}, "outer_every_steps")])
def test_bad_inputs_name_the_field(kw, field):
    args = {"params": 1e6, "compute_s": 0.1, "tokens_per_step": 1000, "centers": 2,
            "link_bits_per_s": 1e8, "latency_s": 0.03, **kw}
    with pytest.raises(ConfigError) as err:
        plan_sync(**args)
    assert err.value.field == field
