"""Checkpoint stall/persist and restart cost from sizes and bandwidths."""

from __future__ import annotations

import pytest

from suanwang.core.errors import ConfigError
from suanwang.reliability.checkpoint_cost import checkpoint_bytes, checkpoint_cost, restart_cost

KW = {"state_bytes_per_device": 1e9, "devices": 1000, "storage_write_bytes_per_s": 100e9,
      "staging_bytes_per_s": 20e9}


def test_sync_blocks_for_the_whole_write():
    c = checkpoint_cost(async_save=False, **KW)
    assert c.bytes_written == 1e12
    assert c.stall_s == pytest.approx(0.05 + 10.0)
    assert c.persist_s == 0.0


def test_async_blocks_only_for_staging():
    c = checkpoint_cost(async_save=True, fixed_stall_s=0.5, **KW)
    assert c.stall_s == pytest.approx(0.55)
    assert c.persist_s == pytest.approx(10.0)


def test_replicas_are_written_once():
    assert checkpoint_bytes(state_bytes_per_device=1e9, devices=1000, replicas=8) == 1.25e11


def test_restart_cost_adds_its_parts():
    r = restart_cost(bytes_to_load=1e12, storage_read_bytes_per_s=200e9, detect_s=30,
                     reschedule_s=60, init_s=90)
    assert r.load_s == 5.0 and r.total_s == 185.0
    assert r.to_dict()["total_s"] == 185.0


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"state_bytes_per_device": 0}, "state_bytes_per_device"),
    ({"devices": 0}, "devices"),
    ({"storage_write_bytes_per_s": 0}, "storage_write_bytes_per_s"),
    ({"staging_bytes_per_s": -1}, "staging_bytes_per_s"),
    ({"replicas": 0}, "replicas"),
])
def test_bad_inputs(kwargs, field):
    with pytest.raises(ConfigError) as info:
        checkpoint_cost(async_save=True, **{**KW, **kwargs})
    assert info.value.field == field
