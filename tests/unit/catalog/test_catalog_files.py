"""Loading each packaged catalog file, and the bad-input cases of each."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from suanwang.catalog import (
    get_accelerator,
    get_model,
    load_accelerators,
    load_federation,
    load_models,
)
from suanwang.catalog.fields import data_path
from suanwang.core.errors import ConfigError

REQUIRED_ACCELERATORS = {"A100-SXM-80GB", "A100-SXM-40GB", "A800", "H100-SXM", "H800", "H20",
                         "H200", "B200", "MI300X", "Ascend-910B"}


def test_accelerators_load_with_sources():
    accs = load_accelerators()
    assert set(accs) >= REQUIRED_ACCELERATORS
    assert any(a.kind == "cpu" and a.peak("fp64") > 0 for a in accs.values())
    for acc in accs.values():
        assert acc.sources, acc.name
        assert acc.hbm_bytes > 0 and acc.hbm_bytes_per_s > 0 and acc.tdp_watts > 0
    h100 = accs["H100-SXM"]
    assert h100.peak("bf16") == pytest.approx(989.4e12)
    assert h100.intra_node_bytes_per_s == pytest.approx(450e9)  # 900 GB/s both directions
    assert accs["Ascend-910B"].domestic and "tflops" in accs["Ascend-910B3"].unverified
    # the default bin is the 910B2 (CANN platform config, domestic_chips.md)
    assert accs["Ascend-910B"].peak("bf16") == accs["Ascend-910B2"].peak("bf16") == 353.9e12
    for name in ("GH200", "H100-NVL", "L40S", "H20-141GB", "Ascend-910B4", "MTT-S4000"):
        assert accs[name].sources


def test_unknown_dtype_names_what_exists():
    with pytest.raises(ConfigError, match="no fp8 peak; it supports"):
        get_accelerator("A100-SXM-80GB").peak("fp8")


def test_get_accelerator_unknown_lists_known():
    with pytest.raises(ConfigError, match=r"unknown accelerator 'V100'.*H100-SXM"):
        get_accelerator("V100")
    assert get_accelerator("h100-sxm").name == "H100-SXM"


def test_models_match_published_parameter_counts():
    models = load_models()
    # Published sizes (billions): Llama-2 7B 6.74, 70B 68.98; Llama-3 8B 8.03, 405B 405.8;
    # GPT-3 175B; MT-NLG 530B.
    expected = {"llama2-7b": 6.74, "llama2-70b": 68.98, "llama3-8b": 8.03, "llama3-405b": 405.8,
                "gpt3-175b": 175.0, "mt-nlg-530b": 530.0, "bloom-176b": 176.2}
    for name, billions in expected.items():
        assert models[name].params / 1e9 == pytest.approx(billions, rel=0.01), name
    assert models["llama3-70b"].kv_heads == 8 and models["llama3-70b"].ffn_kind == "swiglu"
    assert {"gpt-1.7b", "gpt-1t"} <= set(models)
    with pytest.raises(ConfigError, match="unknown model"):
        get_model("gpt-5")


def test_demo_federation_shape():
    fed = load_federation()
    assert len(fed.centers) >= 5
    kinds = {c.kind for c in fed.centers}
    assert kinds == {"ai", "supercomputing"}
    accs = {p.accelerator.name for c in fed.centers for p in c.pools}
    assert len(accs) >= 4
    assert any(c.backend == "local" for c in fed.centers)
    for c in fed.centers:
        assert c.storage_write_bytes_per_s > 0 and c.pue >= 1.0
    assert fed.link("beijing-ai", "shanghai-ai").bits_per_s == pytest.approx(400e9)
    assert fed.link("shanghai-ai", "beijing-ai") is fed.link("beijing-ai", "shanghai-ai")


def _demo_doc() -> dict:
    return yaml.safe_load(data_path("federation-demo.yaml").read_text())


def _write(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "fed.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_federation_missing_field(tmp_path):
    doc = _demo_doc()
    del doc["centers"][1]["storage_write_gb_per_s"]
    with pytest.raises(ConfigError) as err:
        load_federation(_write(tmp_path, doc))
    msg = str(err.value)
    assert "fed.yaml" in msg and "center 'beijing-ai'" in msg
    assert "field 'storage_write_gb_per_s'" in msg and "missing" in msg


def test_federation_negative_bandwidth(tmp_path):
    doc = _demo_doc()
    doc["links"][0]["gbps"] = -5
    with pytest.raises(ConfigError, match=r"link #1: field 'gbps': must be > 0 \(got -5\)"):
        load_federation(_write(tmp_path, doc))
    doc = _demo_doc()
    doc["centers"][2]["pools"][0]["inter_node_gbps_per_device"] = -1
    with pytest.raises(ConfigError, match="center 'shanghai-ai': pool #1: field "
                                          "'inter_node_gbps_per_device'"):
        load_federation(_write(tmp_path, doc))


def test_federation_unknown_accelerator(tmp_path):
    doc = _demo_doc()
    doc["centers"][3]["pools"][0]["accelerator"] = "TPU-v9"
    with pytest.raises(ConfigError, match="center 'wuhan-ai': pool #1: field 'accelerator': "
                                          "unknown accelerator 'TPU-v9'"):
        load_federation(_write(tmp_path, doc))


def test_federation_duplicate_center(tmp_path):
    doc = _demo_doc()
    doc["centers"][2]["name"] = "beijing-ai"
    with pytest.raises(ConfigError, match="duplicate center name 'beijing-ai'"):
        load_federation(_write(tmp_path, doc))


def test_federation_bad_enum_and_link_target(tmp_path):
    doc = _demo_doc()
    doc["centers"][0]["backend"] = "kubernetes"
    with pytest.raises(ConfigError, match="field 'backend': must be one of local, slurm, sim"):
        load_federation(_write(tmp_path, doc))
    doc = _demo_doc()
    doc["links"][0]["b"] = "mars-dc"
    with pytest.raises(ConfigError, match="field 'b': unknown center 'mars-dc'"):
        load_federation(_write(tmp_path, doc))


def test_malformed_yaml_reports_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("centers:\n  - name: a\n    pools: [\n")
    with pytest.raises(ConfigError, match=r"broken.yaml:\d+: not valid YAML"):
        load_federation(path)


def test_bad_accelerator_file(tmp_path):
    doc = yaml.safe_load(data_path("accelerators.yaml").read_text())
    doc["accelerators"][0]["hbm_tb_per_s"] = 0
    path = tmp_path / "acc.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match="accelerator 'A100-SXM-80GB': field 'hbm_tb_per_s'"):
        load_accelerators(path)
    doc["accelerators"][0]["hbm_tb_per_s"] = 2.0
    doc["accelerators"][1]["name"] = "A100-SXM-80GB"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError, match="duplicate accelerator name"):
        load_accelerators(path)


def test_bad_model_file(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump({"models": [
        {"name": "m", "layers": 2, "hidden": 100, "heads": 3, "vocab": 10}]}))
    with pytest.raises(ConfigError, match="model 'm': field 'heads': hidden 100 is not divisible"):
        load_models(path)


def test_pool_weight_is_read_and_checked(tmp_path):
    """A pool's placement ``weight`` (Slurm's node Weight) defaults to 0, is read from the file
    and reaches the scheduler's pools; a negative weight names the field."""
    from suanwang.sim.cluster import from_federation

    doc = _demo_doc()
    doc["centers"][0]["pools"][0]["weight"] = 5
    fed = load_federation(_write(tmp_path, doc))
    assert fed.centers[0].pools[0].weight == 5.0
    assert all(p.weight == 0.0 for c in fed.centers[1:] for p in c.pools)
    assert from_federation(fed).pools[0].weight == 5.0
    doc["centers"][0]["pools"][0]["weight"] = -1
    bad = tmp_path / "bad"
    bad.mkdir()
    with pytest.raises(ConfigError) as err:
        load_federation(_write(bad, doc))
    assert "field 'weight'" in str(err.value)
