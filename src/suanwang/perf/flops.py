"""FLOPs of a dense transformer: MODEL FLOPs (the MFU numerator) and HARDWARE FLOPs (what runs).

Per token and layer, forward, with h hidden, s sequence, a heads, g kv heads, f FFN size,
m = 2 (GeLU) or 3 (SwiGLU) FFN matrices (Narayanan et al. 2021 eq. 3, generalised as in
Megatron-Core's ``num_floating_point_operations``, 2024):

    matmuls    2h(2h + 2hg/a) + 2mhf          (q, o, k, v projections; FFN)
    attention  4sh                            (QK^T and AV over the full s x s square)
    logits     2hV                            (once per token, not per layer)

Model FLOPs per token = 3 x forward (backward = 2 x forward), no recompute; this is the
``korthikanti72`` / Megatron-Core convention (full-square attention) so our MFU is comparable
with theirs. HARDWARE FLOPs add recomputation: ``full`` re-runs the whole forward (4 x forward,
Narayanan 2021 §3.5), ``selective`` re-runs only the attention core (Korthikanti et al. 2022 §4.2).
"""

from __future__ import annotations

from suanwang.core import flops as core_flops
from suanwang.core.model import ModelSpec

RECOMPUTE_CODES = {"none": 0, "selective": 1, "full": 2}


def layer_matmul_flops_per_token(model: ModelSpec) -> float:
    """Forward FLOPs per token of one layer's matrix multiplies (all TP shards together)."""
    h = float(model.hidden)
    proj = 2.0 * h * (2.0 * h + 2.0 * h * model.kv_heads / model.heads)
    mats = 3.0 if model.ffn_kind == "swiglu" else 2.0
    return proj + 2.0 * mats * h * model.ffn_hidden


def layer_attention_flops_per_token(model: ModelSpec, seq_len: int) -> float:
    """Forward FLOPs per token of one layer's attention scores (QK^T, AV), full square."""
    return 4.0 * seq_len * model.hidden


def head_flops_per_token(model: ModelSpec) -> float:
    """Forward FLOPs per token of the output (logit) layer."""
    return 2.0 * model.hidden * model.vocab


def model_flops_per_token(model: ModelSpec, seq_len: int) -> float:
    """Training MODEL FLOPs per token (3 x forward, no recompute): the MFU numerator.

    Same value as :func:`suanwang.core.flops.training_flops_per_token` (the runtime's live MFU).
    """
    return core_flops.training_flops_per_token(
        layers=model.layers, hidden=model.hidden, heads=model.heads, kv_heads=model.kv_heads,
        ffn_hidden=model.ffn_hidden, vocab=model.vocab, seq_len=seq_len,
        swiglu=model.ffn_kind == "swiglu", causal=False)


def hardware_flops_per_token(model: ModelSpec, seq_len: int, recompute: str) -> float:
    """Training HARDWARE FLOPs per token: model FLOPs plus the recomputed forward work."""
    per_layer_fwd = (layer_matmul_flops_per_token(model)
                     + layer_attention_flops_per_token(model, seq_len))
    extra = {"none": 0.0, "selective": layer_attention_flops_per_token(model, seq_len),
             "full": per_layer_fwd}[recompute]
    return model_flops_per_token(model, seq_len) + model.layers * extra


def six_n_flops_per_token(params: float) -> float:
    """The 6N rule of thumb (Kaplan et al. 2020): forward 2N + backward 4N per token."""
    return 6.0 * params
