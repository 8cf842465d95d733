from __future__ import annotations

import pytest

from suanwang.core.errors import ConfigError
from suanwang.core.flops import forward_flops_per_token, training_flops_per_token
from suanwang.core.ids import is_valid_name, new_id
from suanwang.core.model import ModelSpec
from suanwang.core.parallelism import Parallelism
from suanwang.core.units import gbps_to_bytes_per_s, human_bytes, human_seconds


def test_config_error_locates_the_mistake():
    err = ConfigError("must be > 0", file="f.yaml", entry="center 'x'", field="nodes")
    assert str(err) == "f.yaml: center 'x': field 'nodes': must be > 0"
    assert str(ConfigError("plain")) == "plain"
    assert str(ConfigError("bad", file="t.csv", line=7)) == "t.csv:7: bad"


def test_units():
    assert gbps_to_bytes_per_s(400) == pytest.approx(50e9)
    assert human_bytes(80 * 1024**3) == "80.0 GiB"
    assert human_seconds(30) == "30 s" and human_seconds(7200) == "2.0 h"
    assert new_id("job").startswith("job-") and new_id("job") != new_id("job")
    assert is_valid_name("beijing-ai") and not is_valid_name("bad name")


def test_parallelism_validation():
    p = Parallelism(tp=8, pp=4, dp=2)
    assert p.world_size == 64
    with pytest.raises(ConfigError, match="field 'zero_stage'"):
        Parallelism(zero_stage=4)
    with pytest.raises(ConfigError, match="field 'recompute'"):
        Parallelism(recompute="sometimes")
    with pytest.raises(ConfigError, match="field 'vp'"):
        Parallelism(vp=2)
    with pytest.raises(ConfigError, match="field 'tp'"):
        Parallelism(tp=0)


def test_flops_reduce_to_6n_plus_attention():
    """For GPT shapes the per-token training FLOPs equal Narayanan 2021 eq. 3 divided by B*s:
    72*L*h^2*(1 + s/(6h) + V/(12*L*h)) without recompute (korthikanti72)."""
    L, h, s, V = 96, 12288, 2048, 51200
    got = training_flops_per_token(layers=L, hidden=h, heads=96, kv_heads=96, ffn_hidden=4 * h,
                                   vocab=V, seq_len=s, swiglu=False)
    expected = 72 * L * h * h * (1 + s / (6 * h) + V / (12 * L * h))
    assert got == pytest.approx(expected, rel=1e-12)
    # Causal halves the score/AV term only; GQA shrinks the k/v projections only.
    causal = forward_flops_per_token(layers=L, hidden=h, heads=96, kv_heads=96,
                                     ffn_hidden=4 * h, vocab=V, seq_len=s, swiglu=False,
                                     causal=True)
    assert got / 3 - causal == pytest.approx(L * 2 * s * h)


def test_model_spec_validation():
    with pytest.raises(ConfigError, match="kv_heads"):
        ModelSpec(name="x", layers=2, hidden=64, heads=8, kv_heads=3, ffn_hidden=256, vocab=100)
    m = ModelSpec(name="x", layers=2, hidden=64, heads=8, kv_heads=8, ffn_hidden=256, vocab=100)
    assert m.head_dim == 8 and m.params == 2 * (4 * 64 * 64 + 2 * 64 * 256 + 128) + 2 * 6400 + 64
