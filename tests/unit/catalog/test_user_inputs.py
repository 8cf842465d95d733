"""Inline / file models and a user accelerators file merged over the catalog (issue #18, 7)."""

from __future__ import annotations

import json

import pytest

from suanwang.catalog import get_accelerator, load_accelerators
from suanwang.catalog.accelerators import use_accelerator_file
from suanwang.catalog.efficiency import get_efficiency
from suanwang.catalog.models import resolve_model
from suanwang.core.errors import ConfigError


def test_model_preset_inline_and_file(tmp_path):
    assert resolve_model("llama2-7b").layers == 32
    m = resolve_model("layers=32,hidden=4096,heads=32,kv_heads=8,ffn_hidden=14336,"
                      "ffn_kind=swiglu,vocab=128256,seq_len=8192,head_size=128,name=mine")
    assert (m.name, m.kv_heads, m.head_dim, m.seq_len) == ("mine", 8, 128, 8192)
    path = tmp_path / "moe.json"
    path.write_text(json.dumps({"layers": 8, "hidden": 1024, "heads": 8, "vocab": 1000,
                                "experts": 8, "top_k": 2}))
    moe = resolve_model(str(path))
    assert (moe.name, moe.experts, moe.top_k) == ("moe", 8, 2)
    with pytest.raises(ConfigError) as err:
        resolve_model("layers=32,hidden=x")
    assert err.value.field == "hidden"
    with pytest.raises(ConfigError) as err:
        resolve_model("layers=2,hidden=64,heads=2,vocab=10,colour=red")
    assert err.value.field == "colour"
    with pytest.raises(ConfigError, match="not found"):
        resolve_model(str(tmp_path / "missing.yaml"))


def test_user_accelerators_merge_over_catalog(tmp_path):
    path = tmp_path / "accs.yaml"
    path.write_text("""accelerators:
  - name: MyNPU
    vendor: me
    kind: npu
    tflops: {bf16: 200}
    hbm_gb: 48
    hbm_tb_per_s: 1.2
    intra_node_gb_per_s: 100
    nic_gbps: 200
    tdp_watts: 300
    sources: ["my own measurement"]
""")
    try:
        use_accelerator_file(path)
        accs = load_accelerators()
        assert "MyNPU" in accs and "H100-SXM" in accs
        assert get_accelerator("MyNPU").peak("bf16") == 200e12
        assert get_efficiency("MyNPU").name == "default (for MyNPU)"
    finally:
        use_accelerator_file(None)
    assert "MyNPU" not in load_accelerators()
    with pytest.raises(ConfigError, match="not found"):
        use_accelerator_file(tmp_path / "nope.yaml")
