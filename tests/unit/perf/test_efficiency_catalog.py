"""Efficiency profiles: every accelerator gets one, with provenance; bad data is located."""

from __future__ import annotations

import pytest

from suanwang.catalog import load_accelerators
from suanwang.catalog.efficiency import get_efficiency, load_efficiency, parse_profiles
from suanwang.catalog.fields import data_path, read_yaml
from suanwang.core.errors import ConfigError


def test_every_accelerator_has_a_profile():
    for name in load_accelerators():
        prof = get_efficiency(name)
        assert 0 < prof.gemm_max_fraction <= 1
        if name not in load_efficiency():
            assert prof.name == f"default (for {name})"


def test_calibrated_profiles_say_what_they_were_fitted_on():
    for name in ("A100-SXM-80GB", "H100-SXM"):
        assert get_efficiency(name).calibrated_on and get_efficiency(name).notes


def test_bad_profile_is_located():
    doc = {"profiles": [{"name": "default", "gemm_max_fraction": 1.5}]}
    with pytest.raises(ConfigError) as err:
        parse_profiles(doc, "eff.yaml")
    assert err.value.file == "eff.yaml"
    raw = read_yaml(data_path("efficiency.yaml"))["profiles"]
    h100 = next(p for p in raw if p["name"] == "H100-SXM")
    with pytest.raises(ConfigError, match="default"):
        parse_profiles({"profiles": [h100]}, "eff.yaml")
    with pytest.raises(ConfigError, match="duplicate"):
        parse_profiles({"profiles": [*raw, h100]}, "eff.yaml")
