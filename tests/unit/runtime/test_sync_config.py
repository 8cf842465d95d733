"""The ``sync:`` job section and the WAN link's arithmetic."""

from __future__ import annotations

import pytest

from suanwang.core.errors import ConfigError
from suanwang.runtime.config import from_dict
from suanwang.runtime.wan import WanLink, all_reduce_egress_bytes


def _job(**sync):
    return from_dict({"run": {"nproc": 2}, "sync": sync})


@pytest.mark.parametrize(("sync", "field"), [
    ({"mode": "async"}, "mode"), ({"outer_every_steps": 0}, "outer_every_steps"),
    ({"outer_lr": 0}, "outer_lr"), ({"outer_momentum": 1.0}, "outer_momentum"),
    ({"wan_bits_per_s": -1}, "wan_bits_per_s"), ({"centers": [0, 1, 1]}, "centers"),
    ({"centers": [0, 2]}, "centers"), ({"outer_lr": "fast"}, "outer_lr")])
def test_bad_sync_fields_are_named(sync, field):
    with pytest.raises(ConfigError) as err:
        _job(**sync)
    assert err.value.field == field and err.value.entry == "sync"


def test_defaults_keep_a_job_single_center():
    cfg = _job()
    assert not cfg.sync.cross_center and cfg.sync.rank_centers(2) == [0, 0]
    assert _job(mode="diloco").sync.rank_centers(2) == [0, 1]
    assert _job(centers=[0, 1]).sync.cross_center
    assert from_dict(cfg.to_dict()) == cfg


def test_link_times_follow_latency_plus_size_over_bandwidth():
    link = WanLink.from_bits(1e8, 0.03)
    assert link.transfer_s(12_500_000) == pytest.approx(1.03)
    # ring over 3 centers: 4 messages of n/3 bytes
    assert link.all_reduce_s(3e6, 3) == pytest.approx(4 * (0.03 + 1e6 / 12.5e6))
    assert link.all_reduce_s(3e6, 1) == 0.0
    assert all_reduce_egress_bytes(3e6, 3) == pytest.approx(4e6)
    assert WanLink.from_bits(0, 0.03).transfer_s(1e9) == 0.0  # no link: no delay
