"""The software stack's choices that change time and memory but are not a parallel split.

A :class:`Stack` is what a user states about how the job runs (or gets by default):

- ``attention``: ``flash`` (default: fused FlashAttention-style kernels, Dao et al. 2022/2023;
  every current stack — PyTorch SDPA, Transformer Engine, FA2/FA3, Ascend's
  ``npu_fusion_attention`` — uses one) runs the causal half of the s x s product at its own
  efficiency and keeps no s x s scores; ``materialized`` (Megatron-LM 2021-22) computes the full
  square with batched GEMMs and writes/reads the scores through HBM (softmax, mask, dropout).
- ``cross_entropy``: how the output layer's logits are held. ``fused`` (default: Megatron-Core /
  NeMo / MindSpeed vocab-parallel fused cross-entropy, 16-bit logits whose gradient is written in
  place: 4 bytes per logit element), ``fp32`` (eager PyTorch ``F.cross_entropy(logits.float())``:
  16-bit logits + fp32 copy + fp32 gradient, 12 bytes), ``chunked`` (Liger-style or chunked loss
  that never materialises the whole logits: 0.5 byte per element on average).
- ``recompute_layers``: with ``recompute: full``, only this many layers per pipeline stage (per
  virtual chunk when interleaved) are recomputed, the others keep their activations
  (Megatron's ``--recompute-method block --recompute-num-layers N``); 0 = every layer.
- ``shard_size``: hybrid sharding (HSDP, ZeRO++ hpZ): ZeRO-3 shards weights, gradients and
  optimizer state within groups of this many data-parallel ranks and replicates across groups
  (0 = shard over the whole data-parallel group).
- ``ep``: expert-parallel size for mixture-of-experts models (experts split over ``ep``
  data-parallel ranks; 1 = every rank holds every expert).
- ``prefetch_params``: how many parameters ZeRO-3 may gather ahead of use. 0 (default) = the
  whole next layer (PyTorch FSDP's ``forward_prefetch`` / ``backward_prefetch`` unit);
  DeepSpeed's ZeRO-3 prefetches at most ``stage3_prefetch_bucket_size`` parameters (default
  5e7, DeepSpeed config docs), the rest of a larger layer is gathered on demand, exposed.
"""

from __future__ import annotations

from dataclasses import dataclass

from suanwang.core.errors import ConfigError

ATTENTION_KINDS = ("flash", "materialized")
CROSS_ENTROPY_BYTES = {"fused": 4.0, "fp32": 12.0, "chunked": 0.5}


@dataclass(frozen=True, kw_only=True)
class Stack:
    """Stack choices; the defaults are what a user gets when a field is left out."""

    attention: str = "flash"
    cross_entropy: str = "fused"
    recompute_layers: int = 0
    shard_size: int = 0
    ep: int = 1
    prefetch_params: int = 0

    def __post_init__(self) -> None:
        if self.attention not in ATTENTION_KINDS:
            raise ConfigError(f"must be one of {', '.join(ATTENTION_KINDS)} "
                              f"(got {self.attention!r})", field="attention")
        if self.cross_entropy not in CROSS_ENTROPY_BYTES:
            raise ConfigError(f"must be one of {', '.join(CROSS_ENTROPY_BYTES)} "
                              f"(got {self.cross_entropy!r})", field="cross_entropy")
        for name in ("recompute_layers", "shard_size", "prefetch_params"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"must be an integer >= 0 (got {value!r})", field=name)
        if isinstance(self.ep, bool) or not isinstance(self.ep, int) or self.ep < 1:
            raise ConfigError(f"must be an integer >= 1 (got {self.ep!r})", field="ep")

    @property
    def materialized(self) -> bool:
        return self.attention == "materialized"

    @property
    def logit_bytes_per_element(self) -> float:
        return CROSS_ENTROPY_BYTES[self.cross_entropy]

    def to_dict(self) -> dict:
        return {"attention": self.attention, "cross_entropy": self.cross_entropy,
                "recompute_layers": self.recompute_layers, "shard_size": self.shard_size,
                "ep": self.ep, "prefetch_params": self.prefetch_params}


DEEPSPEED_PREFETCH_PARAMS = 50_000_000  # DeepSpeed's default stage3_prefetch_bucket_size
DEFAULT_STACK = Stack()
