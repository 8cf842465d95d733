"""Training FLOPs of a dense transformer, shared by perf (MFU, step time) and runtime (live MFU).

Model FLOPs (the MFU numerator) count only the math the model needs: forward + backward = 3x the
forward matmul FLOPs, no recomputation. Per token and layer, forward, with h hidden, s sequence,
a heads, g kv heads, f FFN size (Narayanan et al. 2021 eq. 3; Megatron-Core's general form):

    qkv+o projections  2*h*(2h + 2h*g/a)
    attention scores   2*2*s*h      (QK^T and AV, full square; x1/2 if causal)
    FFN                2*m*h*f      (m = 2 gelu, 3 swiglu)
    logits             2*h*V        (once per token, not per layer)
"""

from __future__ import annotations


def forward_flops_per_token(*, layers: int, hidden: int, heads: int, kv_heads: int,
                            ffn_hidden: int, vocab: int, seq_len: int, swiglu: bool,
                            causal: bool = False) -> float:
    """Forward-pass FLOPs per token (multiply-add = 2 FLOPs)."""
    h = float(hidden)
    proj = 2.0 * h * (2.0 * h + 2.0 * h * kv_heads / heads)
    attn = 4.0 * seq_len * h * (0.5 if causal else 1.0)
    ffn = 2.0 * (3.0 if swiglu else 2.0) * h * ffn_hidden
    return layers * (proj + attn + ffn) + 2.0 * h * vocab


def training_flops_per_token(**kwargs) -> float:
    """Model FLOPs per trained token: forward + backward (2x forward) = 3x forward."""
    return 3.0 * forward_flops_per_token(**kwargs)
