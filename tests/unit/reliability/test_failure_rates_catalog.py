"""Malformed failure-rate files are ConfigErrors naming the file, the entry and the field."""

from __future__ import annotations

import textwrap

import pytest

from suanwang.catalog.failure_rates import load_failure_rates
from suanwang.core.errors import ConfigError

GOOD = """
default:
  device_hours_per_interruption: 9000
  device_share: 0.5
  sources: ["failure_stats.md x"]
  derivation: d
classes:
  - name: hopper
    accelerators: [H100-SXM]
    device_hours_per_interruption: 50000
    device_share: 0.5
    reference_devices_per_node: 8
    sources: ["failure_stats.md y"]
    derivation: d
"""


def _write(tmp_path, text):
    p = tmp_path / "rates.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def test_good_file_and_derived_rates(tmp_path):
    cat = load_failure_rates(_write(tmp_path, GOOD))
    r = cat.for_accelerator("H100-SXM")
    # a job of the reference node size gets back exactly hours / N
    lam = 8 / r.device_mtbf_s + 1 / r.node_mtbf_s
    assert 1 / lam == pytest.approx(50000 * 3600 / 8)
    assert cat.for_accelerator("X").accelerator_class == "default"


@pytest.mark.parametrize(("old", "new", "entry", "field"), [
    ("device_share: 0.5\n    reference", "device_share: 1.5\n    reference", "hopper",
     "device_share"),
    ("device_hours_per_interruption: 50000", "device_hours_per_interruption: -1", "hopper",
     "device_hours_per_interruption"),
    ("device_hours_per_interruption: 50000", "device_hours_per_interruption: lots", "hopper",
     "device_hours_per_interruption"),
    ('sources: ["failure_stats.md y"]', "sources: []", "hopper", "sources"),
    ("accelerators: [H100-SXM]", "accelerators: H100", "hopper", "accelerators"),
    ("  device_hours_per_interruption: 9000\n", "", "default", "device_hours_per_interruption"),
])
def test_malformed_fields(tmp_path, old, new, entry, field):
    assert old in GOOD
    p = _write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_failure_rates(p)
    err = info.value
    assert err.file == str(p) and entry in (err.entry or "") and err.field == field
    assert str(p) in str(err) and field in str(err)


def test_missing_default_and_not_yaml(tmp_path):
    with pytest.raises(ConfigError, match="default"):
        load_failure_rates(_write(tmp_path, "classes: []\n"))
    with pytest.raises(ConfigError, match="YAML"):
        load_failure_rates(_write(tmp_path, "default: [unclosed\n"))


def test_accelerator_in_two_classes(tmp_path):
    text = GOOD + GOOD.split("classes:\n")[1].replace("hopper", "other")
    with pytest.raises(ConfigError) as info:
        load_failure_rates(_write(tmp_path, text))
    assert info.value.field == "accelerators" and "already" in str(info.value)
