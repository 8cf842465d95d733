from __future__ import annotations

import torch

from suanwang.core.flops import training_flops_per_token
from suanwang.runtime.config import ModelConfig
from suanwang.runtime.model import GPT, flops_per_token, param_count


def test_default_model_is_about_one_million_parameters():
    model = GPT(ModelConfig())
    assert 0.7e6 < param_count(model) < 1.2e6
    x = torch.randint(0, 256, (2, 16))
    assert model(x).shape == (2, 16, 256)
    assert model(x, x).ndim == 0


def test_mfu_uses_the_shared_core_formula():
    cfg = ModelConfig()
    assert flops_per_token(cfg) == training_flops_per_token(
        layers=4, hidden=128, heads=4, kv_heads=4, ffn_hidden=512, vocab=256, seq_len=128,
        swiglu=False)
    # ~6N: within a factor 2 of 6 x params per token for this small, attention-heavy model
    n = param_count(GPT(cfg))
    assert 6 * n < flops_per_token(cfg) < 12 * n
