"""Achievable-efficiency profile of one accelerator and its usual software stack.

A datasheet gives peaks; training reaches a fraction of them that depends on the size of the
operations and on which communication the framework hides behind compute. These few calibrated
numbers (catalog data ``catalog/data/efficiency.yaml``, each entry with its provenance) are the
only fitted parameters of the performance model (``suanwang.perf``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from suanwang.core.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class EfficiencyProfile:
    """Efficiency curve and stack behaviour for one accelerator.

    Compute: a matrix-multiply block of ``F`` FLOPs on one device runs at
    ``gemm_max_fraction * F / (F + gemm_half_flops)`` of the dense peak (a fixed per-block cost
    of ``gemm_half_flops`` at full speed: kernel launches, tails, small tiles). Memory-bound
    element-wise work (norms, activations, dropout, residuals) moves
    ``elementwise_bytes_per_token_hidden`` bytes per token and hidden unit per layer forward at
    ``hbm_fraction`` of HBM bandwidth.
    ``attention_factor`` scales the full-square attention-score FLOPs into the work actually paid
    at matmul speed (1 = full square as Megatron-LM 2021-22 computes it; 0.5 = causal
    FlashAttention). ``score_bytes_per_element``: HBM bytes per attention-score element per
    forward of the masked softmax/dropout when the s x s scores are materialised (0 for fused
    FlashAttention stacks). Links: collectives reach ``intra_link_fraction`` /
    ``inter_link_fraction`` of the nominal per-direction bandwidth and pay ``intra_latency_s`` /
    ``inter_latency_s`` per ring step. ``tp_comm_overlap`` / ``dp_comm_overlap`` say whether the
    stack hides tensor-parallel / data-parallel collectives behind compute (scenarios may override);
    when it does, ``tp_overlap_fraction`` of the TP time that matmuls could cover is hidden.
    ``micro_batch_overhead_s`` is a fixed cost per micro-batch and pipeline stage (schedule step,
    send/receive handshakes, launch gaps); ``step_overhead_s`` a fixed per-step cost.
    ``attention_max_fraction``: the ceiling of fused (Flash) attention kernels as a fraction of
    the 16-bit peak (they run in bf16 even in fp8 recipes, on their own curve with the same
    half-size); ``fp8_gemm_relative``: fp8 GEMMs reach this share of the bf16 fraction of the
    (doubled) fp8 peak.
    """

    name: str
    gemm_max_fraction: float
    gemm_half_flops: float
    elementwise_bytes_per_token_hidden: float
    hbm_fraction: float
    attention_factor: float
    score_bytes_per_element: float
    intra_link_fraction: float
    inter_link_fraction: float
    intra_latency_s: float
    inter_latency_s: float
    tp_comm_overlap: bool
    dp_comm_overlap: bool
    tp_overlap_fraction: float = 1.0
    micro_batch_overhead_s: float = 0.0
    step_overhead_s: float = 0.0
    attention_max_fraction: float = 0.5
    fp8_gemm_relative: float = 0.9
    calibrated_on: tuple[str, ...] = ()
    notes: str = ""

    def __post_init__(self) -> None:
        for field in ("gemm_max_fraction", "hbm_fraction", "intra_link_fraction",
                      "inter_link_fraction", "tp_overlap_fraction", "attention_max_fraction",
                      "fp8_gemm_relative"):
            value = getattr(self, field)
            if not 0.0 < value <= 1.0:
                raise ConfigError(f"must be in (0, 1] (got {value!r})", entry=self.name,
                                  field=field)
        for field in ("gemm_half_flops", "elementwise_bytes_per_token_hidden",
                      "score_bytes_per_element", "intra_latency_s",
                      "inter_latency_s", "micro_batch_overhead_s", "step_overhead_s"):
            if getattr(self, field) < 0:
                raise ConfigError("must be >= 0", entry=self.name, field=field)
        if not 0.0 < self.attention_factor <= 1.0:
            raise ConfigError("must be in (0, 1]", entry=self.name, field="attention_factor")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["calibrated_on"] = list(self.calibrated_on)
        return d
