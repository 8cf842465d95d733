"""Efficiency profiles: every accelerator gets one, with provenance; bad data is located."""

from __future__ import annotations

import pytest

from suanwang.catalog import get_model, load_accelerators
from suanwang.catalog.efficiency import get_efficiency, load_efficiency, parse_profiles
from suanwang.catalog.fields import data_path, read_yaml
from suanwang.core.errors import ConfigError
from suanwang.core.hardware import Cluster
from suanwang.core.parallelism import Parallelism
from suanwang.perf import predict


def test_every_accelerator_has_a_profile():
    for name in load_accelerators():
        prof = get_efficiency(name)
        assert 0 < prof.gemm_max_fraction <= 1
        if name not in load_efficiency():
            kind = load_accelerators()[name].kind
            default = "default-cpu" if kind == "cpu" else "default"
            assert prof.name == f"{default} (for {name})"


def test_cpu_default_profile_is_not_the_gpu_stack():
    """A CPU partition gets no FlashAttention, no overlap and a lower ceiling than the GPU
    default, so its predicted MFU stays below its own ceiling."""
    cpu = get_efficiency("CPU-2xEPYC9654")
    assert cpu.name.startswith("default-cpu")
    assert cpu.gemm_max_fraction < get_efficiency("B200").gemm_max_fraction
    assert cpu.attention_factor == 1.0 and not cpu.tp_comm_overlap
    acc = load_accelerators()["CPU-2xEPYC9654"]
    p = predict(get_model("llama2-7b"), Cluster.of(acc, 64, 1), Parallelism(dp=64, zero_stage=1),
                global_batch_seqs=64, profile=cpu)
    assert 0 < p.mfu < cpu.gemm_max_fraction


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
