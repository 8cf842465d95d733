"""Every file format names an unknown key and suggests the key that was meant (issue #16)."""

from __future__ import annotations

import pytest

from suanwang.core.errors import ConfigError

ACC = {"name": "X", "vendor": "v", "kind": "gpu", "tflops": {"bf16": 100}, "hbm_gb": 80,
       "hbm_tb_per_s": 2, "intra_node_gb_per_s": 100, "nic_gbps": 100, "tdp_watts": 300,
       "sources": ["x"]}
MODEL = {"name": "m", "layers": 2, "hidden": 64, "heads": 2, "vocab": 256}
RATE = {"device_hours_per_interruption": 1000.0, "device_share": 0.5, "sources": ["x"],
        "derivation": "d"}


def _accelerators(doc):
    from suanwang.catalog.accelerators import parse_accelerators

    return parse_accelerators(doc, "acc.yaml")


def _models(doc):
    from suanwang.catalog.models import parse_models

    return parse_models(doc, "models.yaml")


def _profiles(doc):
    from suanwang.catalog.efficiency import load_efficiency, parse_profiles

    base = load_efficiency()["default"]
    item = {"name": "default", "gemm_max_fraction": base.gemm_max_fraction,
            "gemm_half_tflop": 1.0, "elementwise_bytes_per_token_hidden": 1.0,
            "hbm_fraction": 0.8, "score_bytes_per_element": 2.0, "intra_link_fraction": 0.8,
            "inter_link_fraction": 0.8, "intra_latency_us": 1.0, "inter_latency_us": 1.0,
            "tp_comm_overlap": False, "dp_comm_overlap": True, **doc}
    return parse_profiles({"profiles": [item]}, "efficiency.yaml")


def _rates(doc):
    from suanwang.catalog.failure_rates import parse_failure_rates

    return parse_failure_rates(doc, "failure_rates.yaml")


def _scenario(doc):
    from suanwang.perf.scenario import parse_scenario

    return parse_scenario({"model": "llama3-8b", "accelerator": "H100-SXM", "num_gpus": 8,
                           "global_batch_seqs": 8, **doc}, file="s.yaml")


def _job_spec(doc):
    from suanwang.core.jobspec import load_job_spec

    return load_job_spec({"kind": "training", "name": "j", "model": "llama3-8b",
                          "tokens": 1e9, **doc})


def _train_config(doc):
    from suanwang.runtime.config import from_dict

    return from_dict(doc, file="job.yaml")


CASES = [
    (_accelerators, {"accelerators": [{**ACC, "hbm_gbs": 80}]}, "hbm_gbs", "hbm_gb"),
    (_models, {"models": [{**MODEL, "seqlen": 5}]}, "seqlen", "seq_len"),
    (_profiles, {"hbm_fractoin": 0.5}, "hbm_fractoin", "hbm_fraction"),
    (_rates, {"default": {**RATE, "device_shares": 1}}, "device_shares", "device_share"),
    (_rates, {"default": RATE, "clases": []}, "clases", "classes"),
    (_rates, {"default": RATE, "classes": [{**RATE, "name": "c", "accelerators": ["A"],
                                            "acelerators": []}]}, "acelerators",
     "accelerators"),
    (_scenario, {"num_gpu": 8}, "num_gpu", "num_gpus"),
    (_job_spec, {"constraints": {"max_device": 8}}, "max_device", "max_devices"),
    (_train_config, {"model": {"layer": 2}}, "layer", "layers"),
]


@pytest.mark.parametrize(("parse", "doc", "typo", "meant"), CASES,
                         ids=[f"{c[0].__name__}-{c[2]}" for c in CASES])
def test_unknown_key_is_named_with_a_suggestion(parse, doc, typo, meant):
    with pytest.raises(ConfigError) as err:
        parse(doc)
    msg = str(err.value)
    assert typo in msg and f"did you mean '{meant}'" in msg, msg


def test_federation_typo_names_the_unknown_key(tmp_path):
    from suanwang.catalog.federation import load_federation
    from suanwang.catalog.fields import data_path

    text = data_path("federation-demo.yaml").read_text().replace("pue:", "peu:", 1)
    fed = tmp_path / "fed.yaml"
    fed.write_text(text)
    with pytest.raises(ConfigError, match="peu"):
        load_federation(fed)
