"""FLOPs of a decoder-only transformer: MODEL FLOPs (the MFU numerator) and EXECUTED FLOPs.

Per token and layer, forward, with h hidden, s sequence, a heads of width d (a·d = h unless the
model sets ``head_size``), g kv heads, f FFN (or expert) width, m = 2 (GeLU) or 3 (SwiGLU) FFN
matrices, E experts of which k are used per token (Narayanan et al. 2021 eq. 3, generalised as in
Megatron-Core's ``num_floating_point_operations``, 2024):

    matmuls    2h(2ad + 2gd) + 2mhf·k + 2hE  (q, o, k, v projections; FFN / k experts; router)
    attention  4·s·a·d · c                  (QK^T and AV; c = 1/2 causal, 1 full square)
               4·a·d·(w - w²/2s)            (causal with a sliding window w < s: query i sees
                                             min(i, w) keys; Jiang et al. 2023, Mistral 7B)
    logits     2hV                          (once per token, not per layer)

MODEL FLOPs per token = 3 x forward with CAUSAL attention (c = 1/2: a decoder needs only the lower
triangle; the convention of PaLM's MFU, Chowdhery et al. 2022 App. B, and of torchtitan) and no
recompute. EXECUTED FLOPs are what the kernels run: FlashAttention skips the masked half
(c = 1/2), materialised attention computes the full square (c = 1), and recomputation adds a
forward (``full``: the whole layer, Narayanan 2021 §3.5; ``selective``: the attention core,
Korthikanti et al. 2022 §4.2, when attention is materialised; with FlashAttention, where there
are no scores to drop, the per-op policy of torchtitan re-runs every other matmul). The time
model charges exactly the executed FLOPs, so executed FLOPs / step time never exceeds the peak.
``full_square_model_flops_per_token`` is the older convention (Korthikanti's 72·B·s·L·h²,
NVIDIA's ``full_attn``) used only to read published figures.
"""

from __future__ import annotations

from suanwang.core.model import ModelSpec

RECOMPUTE_CODES = {"none": 0, "selective": 1, "full": 2}


def layer_matmul_flops_per_token(model: ModelSpec) -> float:
    """Forward FLOPs per token of one layer's matrix multiplies (all TP shards together)."""
    h = float(model.hidden)
    proj = 2.0 * h * (2.0 * model.attention_width + 2.0 * model.kv_heads * model.head_dim)
    mats = 3.0 if model.ffn_kind == "swiglu" else 2.0
    ffn = 2.0 * mats * h * model.expert_width * model.top_k
    router = 2.0 * h * model.experts if model.experts > 1 else 0.0
    return proj + ffn + router


def layer_attention_flops_per_token(model: ModelSpec, seq_len: int, *,
                                    causal: bool = False) -> float:
    """Forward FLOPs per token of one layer's attention core (QK^T, AV): the full square, or its
    causal half — with a sliding window ``w`` < s, the causal band, ``w - w²/2s`` keys per query
    on average (a materialised full square still computes every score and masks them)."""
    return 4.0 * model.attention_width * (attended_keys(model, seq_len) if causal
                                          else float(seq_len))


def attended_keys(model: ModelSpec, seq_len: int) -> float:
    """Keys a query attends on average under causal masking: s/2, or ``w - w²/(2s)`` with a
    sliding window ``w`` < s (the causal triangle cut to a band of width w)."""
    w = model.sliding_window
    if w and w < seq_len:
        return w - w * w / (2.0 * seq_len)
    return 0.5 * seq_len


def head_flops_per_token(model: ModelSpec) -> float:
    """Forward FLOPs per token of the output (logit) layer."""
    return 2.0 * model.hidden * model.vocab


def model_flops_per_token(model: ModelSpec, seq_len: int) -> float:
    """Training MODEL FLOPs per token (3 x forward, causal attention, no recompute): the MFU
    numerator of every prediction."""
    layer = layer_matmul_flops_per_token(model) + layer_attention_flops_per_token(
        model, seq_len, causal=True)
    return 3.0 * (model.layers * layer + head_flops_per_token(model))


def full_square_model_flops_per_token(model: ModelSpec, seq_len: int) -> float:
    """Model FLOPs with attention counted as the full s x s square (Korthikanti 2022's
    ``72·L·h²(1 + s/6h + V/12Lh)`` for GPT; NVIDIA's ``nvidia_full_attn``): for reading sources."""
    layer = layer_matmul_flops_per_token(model) + layer_attention_flops_per_token(model, seq_len)
    return 3.0 * (model.layers * layer + head_flops_per_token(model))


def hardware_flops_per_token(model: ModelSpec, seq_len: int, recompute: str, *,
                             attention: str = "materialized") -> float:
    """EXECUTED training FLOPs per token: forward + backward + recomputed forward, attention as
    the kernels run it (``flash``: causal half; ``materialized``: full square). The default
    (materialised) is the convention of Megatron's ``megatron96`` figure."""
    causal = attention == "flash"
    att = layer_attention_flops_per_token(model, seq_len, causal=causal)
    fwd = layer_matmul_flops_per_token(model) + att
    # selective re-runs the attention core when it is materialised (Korthikanti); with Flash the
    # per-op policy re-runs every other matmul (torchtitan's op-level selective AC)
    mm_half = 0.5 * layer_matmul_flops_per_token(model)
    extra = {"none": 0.0, "selective": mm_half if causal else att, "full": fwd}[recompute]
    return 3.0 * (model.layers * fwd + head_flops_per_token(model)) + model.layers * extra


def six_n_flops_per_token(params: float) -> float:
    """The 6N rule of thumb (Kaplan et al. 2020): forward 2N + backward 4N per token."""
    return 6.0 * params
