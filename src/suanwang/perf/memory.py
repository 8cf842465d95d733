"""Memory per device: model states, activations, temporary buffers, and a ``fits`` verdict.

Model states (Rajbhandari et al. 2020, ZeRO §3): mixed-precision Adam keeps 2 bytes of weights,
2 of gradients and 12 of optimizer state (fp32 master copy, momentum, variance) per parameter.
ZeRO-1 shards the optimizer state, ZeRO-2 also the gradients, ZeRO-3 / FSDP full-shard also the
weights, over the data-parallel group (x context parallel, whose ranks hold the same weights).

Activations per layer and micro-batch (Korthikanti et al. 2022, §4 and Table 2), in bytes, with
s sequence (per CP rank), b micro-batch, h hidden, a heads, t tensor-parallel size:
``sbh(10 + 24/t + 5as/(ht))`` without sequence parallelism, ``sbh(34/t + 5as/(ht))`` with it;
selective recompute drops the ``5as/(ht)`` attention-score term, full recompute keeps only the
``2sbh`` layer input (``/t`` with sequence parallelism). We generalise the 24 (q, k, v, projection
input, 2 FFN tensors of 4h) to GQA (k, v scaled by g/a) and to the FFN width f (SwiGLU stores 3
f-wide tensors). The first pipeline stage holds ``pp`` micro-batches in flight under 1F1B
(``pp·(1 + (pp-1)/(pp·vp))`` when interleaved, Korthikanti eq. 5), the last stage one
(``pp - (pp-1)/vp`` interleaved), capped by the micro-batch count. Layers per stage come from
``perf.partition`` (the same layout the time model uses); the heavier end of the pipeline is
reported.

Modern stacks (``perf.stack.Stack``): FlashAttention keeps no s x s scores; the output layer's
logits cost ``Stack.logit_bytes_per_element`` per element (fused cross-entropy by default);
``recompute: full`` with ``recompute_layers`` N keeps full activations for all but N layers per
stage; ZeRO-3 shards inside the HSDP shard group; fp8 recipes keep an fp8 copy of each weight
and its transpose (Transformer Engine, 2 bytes per local weight). Mixture of experts: expert
weights are split over ``ep`` ranks, expert activations scale with ``top_k``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suanwang.core.model import ModelSpec
from suanwang.perf.candidates import Candidates
from suanwang.perf.partition import StageLayout, stage_layout
from suanwang.perf.stack import DEFAULT_STACK, Stack

BYTES_WEIGHT = 2.0
BYTES_GRAD = 2.0
BYTES_OPTIMIZER = 12.0
BYTES_FP8_WEIGHT_COPIES = 2.0  # fp8 weight + its transpose (Transformer Engine)
FRAMEWORK_RESERVE_BYTES = 3e9  # CUDA context, NCCL buffers, allocator fragmentation
USABLE_FRACTION = 0.97


@dataclass(frozen=True, kw_only=True)
class MemoryArrays:
    """Per-device bytes of the most loaded pipeline stage, one value per candidate."""

    weights: np.ndarray
    gradients: np.ndarray
    optimizer: np.ndarray
    activations: np.ndarray
    temporary: np.ndarray
    total: np.ndarray
    fits: np.ndarray

    def state_bytes(self) -> np.ndarray:
        """Weights + gradients + optimizer state: what a checkpoint of this device saves."""
        return self.weights + self.gradients + self.optimizer


def layer_params_per_device(model: ModelSpec, c: Candidates, ep: int = 1):
    """One layer's parameters on one device: dense parts / tp, experts / (tp·ep)."""
    expert = float(model.expert_params_per_layer) if model.experts > 1 else 0.0
    dense = float(model.params_per_layer) - expert
    return dense / c.tp + expert / (c.tp * min(ep, model.experts))


def _stage_params(model: ModelSpec, c: Candidates, layout: StageLayout, ep: int = 1):
    """(first-stage, last-stage) parameters per device before ZeRO sharding. pp = 1 holds the
    input embedding and the output head (one matrix if tied); pp > 1 keeps one V x h matrix on
    each end (Megatron keeps a copy of tied embeddings on both ends)."""
    emb = float(model.vocab * model.hidden)
    single = emb * (1 if model.tied_embeddings else 2)
    per_layer = layer_params_per_device(model, c, ep)
    ends = np.where(c.pp == 1, single, emb) / c.tp
    return layout.first_layers * per_layer + ends, layout.last_layers * per_layer + ends


def stage_params(model: ModelSpec, c: Candidates, seq_len: int | None = None, *,
                 ep: int = 1) -> np.ndarray:
    """Parameters held by one device of the heaviest stage (before ZeRO sharding), with the stage
    layout of ``perf.partition`` (``seq_len`` defaults to the model's)."""
    layout = stage_layout(model, seq_len or model.seq_len, c.pp, c.vp)
    return np.maximum(*_stage_params(model, c, layout, ep))


def shard_group(c: Candidates, stack: Stack, devices_per_node: int = 8) -> np.ndarray:
    """Ranks a ZeRO-3 shard spans: the data-parallel group (dp·cp), or the HSDP shard size when
    the stack sets one that divides it (``shard_size`` >= the group: no hybrid)."""
    n = c.dp * c.cp
    if stack.shard_size <= 0:
        return n
    return np.where(n % stack.shard_size == 0, np.minimum(n, stack.shard_size), n)


def activation_bytes_per_layer(model: ModelSpec, seq_len: int, c: Candidates, *,
                               scores_stored: bool = True) -> np.ndarray:
    """Stored activation bytes of one layer for one micro-batch (Korthikanti 2022 Table 2);
    ``scores_stored=False`` for fused (Flash) attention, which keeps no s x s tensors."""
    h, a = float(model.hidden), float(model.heads)
    s = seq_len / c.cp
    sbh = s * c.micro_batch * h
    t = c.tp.astype(float)
    ffn_tensors = 3.0 if model.ffn_kind == "swiglu" else 2.0
    qo = 4.0 * model.attention_width / h
    kv = 4.0 * model.kv_heads * model.head_dim / h
    ffn = 2.0 * ffn_tensors * model.expert_width * model.top_k / h
    unsharded = np.where(c.sequence_parallel, 10.0 / t, 10.0)
    scores = 5.0 * a * seq_len / (h * t)  # s_local x s scores per head
    keep_scores = (c.recompute == 0) & scores_stored
    layer = sbh * (unsharded + (qo + kv + ffn) / t + np.where(keep_scores, scores, 0.0))
    full = sbh * np.where(c.sequence_parallel, 2.0 / t, 2.0)
    if not scores_stored:  # selective under Flash: per-op policy, see selective_flash_bytes
        layer = np.where(c.recompute == 1, selective_flash_bytes(model, seq_len, c), layer)
    return np.where(c.recompute == 2, full, layer)


def selective_flash_bytes(model: ModelSpec, seq_len: int, c: Candidates) -> np.ndarray:
    """Selective recompute when attention is fused (no s x s scores to drop): the per-operator
    policy of current FSDP stacks (torchtitan's default ``selective_ac_option: op``): keep the
    layer input, the attention output and every other matmul output; recompute the other
    matmuls and all element-wise ops (``step`` charges their forward again)."""
    h = float(model.hidden)
    sbh = seq_len / c.cp * c.micro_batch * h
    t = c.tp.astype(float)
    return sbh * (np.where(c.sequence_parallel, 2.0 / t, 2.0)
                  + (2.0 * model.attention_width / h + 0.5 * matmul_output_units(model)) / t)


def matmul_output_units(model: ModelSpec) -> float:
    """Bytes of one layer's matmul outputs per token, in units of ``h``: q, k, v, o projections,
    FFN up (and gate), FFN down — per token routed to ``top_k`` experts."""
    h = float(model.hidden)
    up = (2.0 if model.ffn_kind == "swiglu" else 1.0) * model.expert_width * model.top_k
    return 2.0 * (model.attention_width + 2.0 * model.kv_heads * model.head_dim + h
                  + up + h * model.top_k) / h


def _stage_activations(model: ModelSpec, seq_len: int, c: Candidates, layers: np.ndarray,
                       stack: Stack) -> np.ndarray:
    """Activation bytes of a stage of ``layers`` layers for one micro-batch: under ``full``
    recompute with ``recompute_layers`` N, N layers per stage (per chunk) keep only their input
    and the rest keep everything."""
    scores = stack.materialized
    per_layer = activation_bytes_per_layer(model, seq_len, c, scores_stored=scores)
    if stack.recompute_layers == 0:
        return per_layer * layers
    kept = activation_bytes_per_layer(
        model, seq_len, Candidates(**{**c.__dict__, "recompute": np.zeros_like(c.recompute)}),
        scores_stored=scores)
    n_rc = np.minimum(stack.recompute_layers * c.vp, layers)
    return np.where(c.recompute == 2, n_rc * per_layer + (layers - n_rc) * kept,
                    per_layer * layers)


def inflight_microbatches(c: Candidates, num_micro: np.ndarray) -> np.ndarray:
    """Micro-batches whose activations the first stage holds at the 1F1B peak."""
    pp = c.pp.astype(float)
    inflight = np.where(c.vp > 1, pp * (1.0 + (pp - 1.0) / (pp * c.vp)), pp)
    return np.minimum(inflight, np.maximum(num_micro, 1))


def inflight_last_stage(c: Candidates, num_micro: np.ndarray) -> np.ndarray:
    """Micro-batches (in whole-stage units) the last stage holds at its peak: 1 under 1F1B,
    ``pp - (pp-1)/vp`` interleaved (Megatron's warm-up of ``(vp-1)·pp`` chunks, plus one)."""
    pp = c.pp.astype(float)
    inflight = np.where(c.vp > 1, pp - (pp - 1.0) / c.vp, 1.0)
    return np.minimum(inflight, np.maximum(num_micro, 1))


def memory(model: ModelSpec, seq_len: int, c: Candidates, num_micro: np.ndarray,
           hbm_bytes: float, *, scores_stored: bool | None = None, stack: Stack | None = None,
           precision: str = "bf16", devices_per_node: int = 8) -> MemoryArrays:
    """Per-device memory of every candidate and whether it fits in ``hbm_bytes``.

    ``stack`` gives attention, cross-entropy, partial recompute, HSDP and expert parallelism
    (default :data:`perf.stack.DEFAULT_STACK`); the older ``scores_stored`` flag, when given,
    picks ``materialized`` (True) or ``flash`` (False) attention. Both ends of the pipeline are
    evaluated on the ``perf.partition`` layout (first stage: most layers and micro-batches in
    flight; last stage: the output layer and its logits); the heavier one is reported (for
    pp = 1 they are the same stage)."""
    stack = stack or DEFAULT_STACK
    if scores_stored is not None:
        stack = Stack(**{**stack.to_dict(),
                         "attention": "materialized" if scores_stored else "flash"})
    layout = stage_layout(model, seq_len, c.pp, c.vp)
    first_params, last_params = _stage_params(model, c, layout, stack.ep)
    first_acts = _stage_activations(model, seq_len, c, layout.first_layers, stack)
    last_acts = _stage_activations(model, seq_len, c, layout.last_layers, stack)
    shard = shard_group(c, stack, devices_per_node)
    args = (model, seq_len, c, stack, precision, shard)
    first = _stage_bytes(*args, first_params, layout.first_layers,
                         first_acts * inflight_microbatches(c, num_micro), c.pp == 1)
    last = _stage_bytes(*args, last_params, layout.last_layers,
                        last_acts * inflight_last_stage(c, num_micro),
                        np.ones(len(c), dtype=bool))
    heavier = last[-1] > first[-1]
    weights, grads, opt, acts, temp, total = (np.where(heavier, b, a)
                                              for a, b in zip(first, last, strict=True))
    return MemoryArrays(weights=weights, gradients=grads, optimizer=opt, activations=acts,
                        temporary=temp, total=total, fits=total <= hbm_bytes * USABLE_FRACTION)


def _stage_bytes(model: ModelSpec, seq_len: int, c: Candidates, stack: Stack, precision: str,
                 shard: np.ndarray, params: np.ndarray, layers: np.ndarray, acts: np.ndarray,
                 has_head: np.ndarray) -> tuple[np.ndarray, ...]:
    """(weights, gradients, optimizer, activations, temporary incl. reserve, total) of a stage."""
    dp = (c.dp * c.cp).astype(float)
    z3 = c.zero_stage >= 3
    weights = BYTES_WEIGHT * params / np.where(z3, shard, 1.0)
    if precision == "fp8":
        weights = weights + BYTES_FP8_WEIGHT_COPIES * params / np.where(z3, shard, 1.0)
    grads = BYTES_GRAD * params / np.where(z3, shard, np.where(c.zero_stage >= 2, dp, 1.0))
    opt = BYTES_OPTIMIZER * params / np.where(z3, shard, np.where(c.zero_stage >= 1, dp, 1.0))
    temp = _temporary_bytes(model, seq_len, c, stack, params / layers, has_head)
    temp = temp + FRAMEWORK_RESERVE_BYTES
    return weights, grads, opt, acts, temp, weights + grads + opt + acts + temp


def _temporary_bytes(model: ModelSpec, seq_len: int, c: Candidates, stack: Stack,
                     layer_params: np.ndarray, has_head: np.ndarray) -> np.ndarray:
    """Transient buffers: the logits (and their gradient) on the stage with the output layer, one
    layer's full activations rebuilt during backward under recompute, ZeRO-3 gathered weights
    (the layer in use plus one prefetched)."""
    tokens = c.micro_batch * seq_len / c.cp
    logits = np.where(has_head, stack.logit_bytes_per_element * tokens * model.vocab / c.tp, 0.0)
    rebuilt = np.where(c.recompute > 0, activation_bytes_per_layer(
        model, seq_len, Candidates(**{**c.__dict__, "recompute": np.zeros_like(c.recompute)}),
        scores_stored=stack.materialized), 0.0)
    gathered = np.where(c.zero_stage >= 3, 2.0 * BYTES_WEIGHT * layer_params, 0.0)
    return logits + rebuilt + gathered
