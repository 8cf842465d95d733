"""FLOP formulas against hand-worked cases and the papers' own closed forms."""

from __future__ import annotations

import pytest

from suanwang.catalog import get_model
from suanwang.core.model import ModelSpec
from suanwang.perf import flops as fl


def gpt(layers=24, hidden=2304, heads=24, vocab=51200, seq=2048) -> ModelSpec:
    return ModelSpec(name="gpt", layers=layers, hidden=hidden, heads=heads, kv_heads=heads,
                     ffn_hidden=4 * hidden, vocab=vocab, seq_len=seq)


def test_six_n_plus_causal_attention():
    """Model FLOPs/token = 6 x (matmul weights) + 6·L·s·h: Kaplan 2020's 6N plus CAUSAL attention
    (half of the 12·L·s·h square; PaLM App. B, torchtitan's 6N + 12·L·h·s/2)."""
    m = get_model("gpt3-175b")
    matmul_params = m.layers * (12 * m.hidden**2) + m.vocab * m.hidden  # blocks + output head
    expected = 6 * matmul_params + 6 * m.layers * m.seq_len * m.hidden
    assert fl.model_flops_per_token(m, m.seq_len) == pytest.approx(expected, rel=1e-12)
    # and 6N is within 3% for GPT-3 (attention and norms are small at s = 2048, h = 12288)
    assert fl.model_flops_per_token(m, m.seq_len) == pytest.approx(
        fl.six_n_flops_per_token(m.params), rel=0.03)


@pytest.mark.parametrize("layers,hidden,seq,vocab", [(96, 12288, 2048, 51200),
                                                     (24, 2304, 2048, 51200),
                                                     (128, 25600, 4096, 131072)])
def test_korthikanti72_and_megatron96(layers, hidden, seq, vocab):
    """72·B·s·L·h²(1 + s/6h + V/12Lh) (model) and 96·B·s·L·h²(1 + s/6h + V/16Lh) (with full
    recompute): Korthikanti et al. 2022 §6 / Narayanan et al. 2021 eq. 3."""
    m = gpt(layers=layers, hidden=hidden, heads=hidden // 128, vocab=vocab, seq=seq)
    h, L, s, V = hidden, layers, seq, vocab
    k72 = 72 * L * h**2 * (1 + s / (6 * h) + V / (12 * L * h))
    m96 = 96 * L * h**2 * (1 + s / (6 * h) + V / (16 * L * h))
    assert fl.full_square_model_flops_per_token(m, s) == pytest.approx(k72, rel=1e-12)
    assert fl.hardware_flops_per_token(m, s, "full") == pytest.approx(m96, rel=1e-12)
    # causal model FLOPs = full square minus half of the attention part
    assert fl.model_flops_per_token(m, s) == pytest.approx(k72 - 36 * L * h**2 * s / (6 * h))


def test_recompute_ordering_and_selective_amount():
    m = gpt()
    none, sel, full = (fl.hardware_flops_per_token(m, 2048, r)
                       for r in ("none", "selective", "full"))
    assert none == fl.full_square_model_flops_per_token(m, 2048) < sel < full
    flash = fl.hardware_flops_per_token(m, 2048, "none", attention="flash")
    assert flash == fl.model_flops_per_token(m, 2048)  # Flash executes exactly the causal half
    assert sel - none == pytest.approx(m.layers * 4 * 2048 * m.hidden)


def test_gqa_and_swiglu_matmuls():
    h, f = 4096, 14336
    mha = ModelSpec(name="a", layers=1, hidden=h, heads=32, kv_heads=32, ffn_hidden=f,
                    vocab=10, ffn_kind="swiglu")
    gqa = ModelSpec(name="b", layers=1, hidden=h, heads=32, kv_heads=8, ffn_hidden=f,
                    vocab=10, ffn_kind="swiglu")
    assert fl.layer_matmul_flops_per_token(mha) == 2 * h * 4 * h + 2 * 3 * h * f
    assert fl.layer_matmul_flops_per_token(gqa) == 2 * h * (2 * h + 2 * h * 8 / 32) + 6 * h * f
    # matmul FLOPs are 2 x the matmul weights of a layer (norm weights excluded)
    assert fl.layer_matmul_flops_per_token(gqa) == 2 * (gqa.params_per_layer - 2 * h)


def test_sliding_window_attention_is_the_causal_band():
    """A query at position i attends min(i + 1, w) keys (Mistral's window): the average over a
    sequence matches a brute-force count; no window (or w >= s) is the causal half; the full
    square (materialised kernels mask, they do not skip) is unchanged."""
    s, w = 8192, 1024
    base = ModelSpec(name="m", layers=2, hidden=1024, heads=8, kv_heads=8, ffn_hidden=4096,
                     vocab=1000, seq_len=s)
    win = ModelSpec(**{**base.__dict__, "sliding_window": w})
    brute = sum(min(i + 1, w) for i in range(s)) / s
    assert fl.attended_keys(win, s) == pytest.approx(brute, rel=1e-3)
    assert fl.attended_keys(base, s) == s / 2
    assert fl.attended_keys(win, 512) == 256  # window longer than the sequence: no effect
    causal = fl.layer_attention_flops_per_token(win, s, causal=True)
    assert causal == pytest.approx(4 * 1024 * brute, rel=1e-3)
    assert fl.layer_attention_flops_per_token(win, s) == fl.layer_attention_flops_per_token(
        base, s)
    assert fl.model_flops_per_token(win, s) < fl.model_flops_per_token(base, s)
