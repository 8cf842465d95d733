"""Step time: compute, communication, pipeline bubble and overlap, for a batch of candidates.

One optimizer step of ``m = B / (dp·micro_batch)`` micro-batches through a ``pp``-stage pipeline
(1F1B; interleaved with ``vp`` chunks per stage) takes (Narayanan et al. 2021 §2.2):

    step = (m + (pp-1)/vp) · t_micro + exposed DP/ZeRO communication + optimizer + fixed overhead

``t_micro`` is the forward+backward(+recompute) time of the slowest stage for one micro-batch:
per layer, matmuls at the size-dependent efficiency (``perf.compute``; fp8 recipes: the fp8 peak
x ``fp8_gemm_relative``, plus the cast/amax passes over every fp8 GEMM input, Micikevicius et al.
2022 / Transformer Engine's delayed scaling), attention on its own curve (FlashAttention: the
causal half at ``attention_max_fraction`` of the 16-bit peak, also in fp8 recipes; materialised:
the full square as batched GEMMs plus the HBM traffic of the s x s scores), mixture-of-experts
all-to-all dispatch/combine over the expert-parallel group,
element-wise work at HBM speed, tensor-parallel all-reduces (2 forward, 2 backward, 2 more under
full recompute; sequence parallelism swaps each for a reduce-scatter + all-gather of equal volume,
Korthikanti 2022 §4.2.2), context-parallel K/V ring exchange (hidden behind attention where it
fits), and pipeline sends (activation forward, gradient backward, per chunk; Megatron's
scatter/gather optimisation sends ``1/tp`` of the tensor across nodes, Narayanan 2021 §4.1).
The last stage also runs the output layer; layers per stage come from ``perf.partition`` (whole
layers, FLOP-balanced with the head, equal chunks when interleaved: the layout the memory model
uses too), and the slower of the first and the last stage sets ``t_micro``.

Data-parallel gradient reduction (all-reduce; ZeRO-1/2: reduce-scatter + all-gather; ZeRO-2 per
micro-batch) is hidden behind the last micro-batch's compute when the stack overlaps it; ZeRO-3/FSDP
gathers weights twice and reduce-scatters gradients every micro-batch, prefetched behind that
micro-batch's compute (Rajbhandari 2020 §7; Zhao et al. 2023, FSDP §3.3), on the hierarchical
path (intra-node NVLink phases, inter-node phase on S/k per GPU): NCCL's ring/tree over all
rails. HSDP (``Stack.shard_size``): the ZeRO-3 collectives stay inside the shard group and the
gradient shards are all-reduced across replicas once per step (Zhao 2023 §3.2.2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from suanwang.core.efficiency import EfficiencyProfile
from suanwang.core.errors import ConfigError
from suanwang.core.hardware import Cluster
from suanwang.core.model import ModelSpec
from suanwang.perf import comm, compute
from suanwang.perf import flops as fl
from suanwang.perf.candidates import Candidates
from suanwang.perf.memory import shard_group, stage_params
from suanwang.perf.partition import stage_layout
from suanwang.perf.stack import DEFAULT_STACK, Stack

TRAINING_PRECISIONS = ("bf16", "fp16", "fp8")
ADAM_BYTES_PER_PARAM = 30.0  # read master/m/v/grad, write master/m/v + low-precision copy
FP8_CAST_BYTES = 5.0  # per GEMM-input element: read 16-bit + write fp8 + amax read (TE delayed)
FP8_WEIGHT_CAST_BYTES = 4.0  # per weight per step: read 16-bit, write fp8 and its transpose


@dataclass(frozen=True, kw_only=True)
class Hardware:
    """What the step model needs of the cluster, scaled by the profile's achievable fractions."""

    matmul_peak_flops_per_s: float
    vector_peak_flops_per_s: float
    hbm_bytes_per_s: float
    links: comm.Links
    profile: EfficiencyProfile
    tp_overlap: bool
    dp_overlap: bool
    precision: str = "bf16"
    stack: Stack = field(default=DEFAULT_STACK)

    @property
    def fp8(self) -> bool:
        return self.precision == "fp8"

    @property
    def gemm_peak_flops_per_s(self) -> float:
        """The peak the GEMM curve scales: fp8 peak x ``fp8_gemm_relative`` in fp8 recipes."""
        rel = self.profile.fp8_gemm_relative if self.fp8 else 1.0
        return self.matmul_peak_flops_per_s * rel


def hardware(cluster: Cluster, prof: EfficiencyProfile, precision: str, *,
             tp_overlap: bool | None = None, dp_overlap: bool | None = None,
             stack: Stack | None = None) -> Hardware:
    """Bind a cluster, a profile and the stack; ``precision`` picks the matmul peak (fp8: matmuls
    only; attention, element-wise work and communication stay 16-bit).

    Training precisions are the mixed-precision ones the memory model describes (bf16/fp16
    weights and gradients, fp32 Adam state; fp8 matmuls on top): fp32/tf32/fp64 training would
    need other byte counts and is refused rather than mis-predicted."""
    if precision not in TRAINING_PRECISIONS:
        raise ConfigError(f"training precision must be one of {', '.join(TRAINING_PRECISIONS)} "
                          f"(got {precision!r}); the model assumes mixed-precision training with "
                          "2-byte weights/gradients", field="precision")
    acc = cluster.accelerator
    vector = acc.peak("bf16") if "bf16" in acc.peak_flops_per_s else acc.peak("fp16")
    if precision != "fp8":
        vector = acc.peak(precision)
    links = comm.Links(
        intra_bytes_per_s=cluster.intra_node_bytes_per_s * prof.intra_link_fraction,
        inter_bytes_per_s=cluster.inter_node_bits_per_s_per_device / 8 * prof.inter_link_fraction,
        intra_latency_s=prof.intra_latency_s, inter_latency_s=prof.inter_latency_s,
        devices_per_node=cluster.devices_per_node)
    return Hardware(matmul_peak_flops_per_s=acc.peak(precision), vector_peak_flops_per_s=vector,
                    hbm_bytes_per_s=acc.hbm_bytes_per_s, links=links, profile=prof,
                    tp_overlap=prof.tp_comm_overlap if tp_overlap is None else tp_overlap,
                    dp_overlap=prof.dp_comm_overlap if dp_overlap is None else dp_overlap,
                    precision=precision, stack=stack or DEFAULT_STACK)


@dataclass(frozen=True, kw_only=True)
class StepArrays:
    """Seconds per optimizer step and its parts, one value per candidate."""

    num_micro: np.ndarray
    micro_s: np.ndarray        # slowest stage, one micro-batch, fwd+bwd(+recompute), incl. TP/CP/PP
    compute_s: np.ndarray      # m · compute part of micro_s
    tp_comm_s: np.ndarray      # m · exposed TP collectives
    cp_comm_s: np.ndarray      # m · exposed CP exchange
    pp_comm_s: np.ndarray      # m · pipeline sends
    bubble_s: np.ndarray
    dp_comm_s: np.ndarray      # exposed DP / ZeRO communication
    optimizer_s: np.ndarray
    overhead_s: np.ndarray
    step_time_s: np.ndarray
    ep_comm_s: np.ndarray | float = 0.0  # m · exposed MoE all-to-all


def _attention_time_s(model: ModelSpec, seq_len: int, c: Candidates, hw: Hardware, tokens):
    """Forward attention core of one layer and micro-batch on one device (executed FLOPs)."""
    prof = hw.profile
    if hw.stack.materialized:  # full square as batched GEMMs + the s x s scores through HBM
        flops = tokens * fl.layer_attention_flops_per_token(model, seq_len) / c.tp
        att = compute.gemm_time_s(flops, hw.vector_peak_flops_per_s, prof)
        scores = tokens * seq_len * model.heads / c.tp  # s_local x s per head, this device's
        return att + scores * prof.score_bytes_per_element / (hw.hbm_bytes_per_s
                                                              * prof.hbm_fraction)
    flops = tokens * fl.layer_attention_flops_per_token(model, seq_len, causal=True) / c.tp
    return (flops + prof.gemm_half_flops) / (hw.vector_peak_flops_per_s
                                             * prof.attention_max_fraction)


def _layer_times(model: ModelSpec, seq_len: int, c: Candidates, hw: Hardware):
    """Per layer, one micro-batch on one device: (forward compute s, attention fwd s, matmul fwd s,
    TP collective s per all-reduce, MoE all-to-all s per forward, element-wise fwd s)."""
    prof = hw.profile
    tokens = c.micro_batch * seq_len / c.cp
    mm = compute.gemm_time_s(tokens * fl.layer_matmul_flops_per_token(model) / c.tp,
                             hw.gemm_peak_flops_per_s, prof)
    att = _attention_time_s(model, seq_len, c, hw, tokens)
    hidden_dev = np.where(c.sequence_parallel, model.hidden / c.tp, model.hidden)
    ew = compute.elementwise_time_s(tokens, hidden_dev, hw.hbm_bytes_per_s, prof)
    if hw.fp8:  # cast + amax of the 4 GEMM inputs (qkv/fc1 input h, proj aw/t, fc2 f·k/t)
        width = 2.0 * model.hidden + (model.attention_width
                                      + model.expert_width * model.top_k) / c.tp
        ew = ew + tokens * width * FP8_CAST_BYTES / (hw.hbm_bytes_per_s * prof.hbm_fraction)
    k_tp = comm.members_per_node(c.tp, 1, hw.links.devices_per_node)
    ar = comm.collective_time_s("all_reduce", tokens * model.hidden * 2.0, c.tp, k_tp, hw.links)
    a2a = 0.0 * mm
    if model.experts > 1 and hw.stack.ep > 1:  # dispatch + combine, top_k copies of each token
        ep = min(hw.stack.ep, model.experts)
        k_ep = comm.members_per_node(ep, c.tp * c.cp, hw.links.devices_per_node)
        a2a = 2.0 * comm.all_to_all_time_s(tokens * model.top_k * model.hidden * 2.0 / c.tp, ep,
                                           k_ep, hw.links)
    return mm + att + ew, att, mm, np.where(c.tp > 1, ar, 0.0), a2a, ew


def recompute_share(model: ModelSpec, seq_len: int, c: Candidates, stack: Stack):
    """Share of a stage's layers that ``full`` recompute re-runs (``Stack.recompute_layers`` per
    stage / chunk; 1 when it is 0, i.e. every layer)."""
    if stack.recompute_layers == 0:
        return np.ones(len(c))
    layers = stage_layout(model, seq_len, c.pp, c.vp).max_layers
    return np.minimum(stack.recompute_layers * c.vp, layers) / layers


def _micro_batch_time(model: ModelSpec, seq_len: int, c: Candidates, hw: Hardware):
    """Slowest stage, one micro-batch: (total s, compute s, exposed TP s, exposed CP s, PP s,
    MoE all-to-all s)."""
    fwd, att, mm, ar, a2a, ew = _layer_times(model, seq_len, c, hw)
    rc = c.recompute
    share = recompute_share(model, seq_len, c, hw.stack)
    # selective re-runs the attention core (materialised, Korthikanti) or, under Flash, every
    # other matmul and the element-wise ops (per-op policy, ``memory.selective_flash_bytes``)
    sel = att if hw.stack.materialized else 0.5 * mm + ew
    layer_compute = 3.0 * fwd + np.where(rc == 2, share * fwd, np.where(rc == 1, sel, 0.0))
    n_ar = 4.0 + np.where(rc == 2, 2.0 * share, 0.0)
    tp = n_ar * ar
    mm_total = (3.0 + np.where(rc == 2, share, 0.0)
                + np.where((rc == 1) & (not hw.stack.materialized), 0.5, 0.0)) * mm
    hidden = hw.profile.tp_overlap_fraction * np.minimum(tp, mm_total) if hw.tp_overlap else 0.0
    tp_exposed = tp - hidden
    cp_exposed = _cp_exchange_s(model, seq_len, c, hw, att)
    ep_exposed = 3.0 * a2a + np.where(rc == 2, share * a2a, 0.0)
    layer = layer_compute + tp_exposed + cp_exposed + ep_exposed
    head = _head_time_s(model, seq_len, c, hw)
    lay = stage_layout(model, seq_len, c.pp, c.vp)
    first, last = lay.first_layers * layer, lay.last_layers * layer + head
    on_last = last >= first  # the slowest stage: the last (with the head) or the first
    n = np.where(on_last, lay.last_layers, lay.first_layers)
    p2p = _pipeline_send_s(model, seq_len, c, hw) + hw.profile.micro_batch_overhead_s
    total = np.maximum(first, last) + p2p
    comp = n * layer_compute + np.where(on_last, head, 0.0)
    return total, comp, n * tp_exposed, n * cp_exposed, p2p, n * ep_exposed


def _head_time_s(model: ModelSpec, seq_len: int, c: Candidates, hw: Hardware):
    """Output layer + loss on the last stage, forward and backward, one micro-batch (16-bit:
    fp8 recipes keep the output layer in bf16)."""
    prof = hw.profile
    tokens = c.micro_batch * seq_len / c.cp
    mm = compute.gemm_time_s(tokens * fl.head_flops_per_token(model) / c.tp,
                             hw.vector_peak_flops_per_s, prof)
    ew = compute.elementwise_time_s(tokens, model.vocab / c.tp, hw.hbm_bytes_per_s, prof)
    return 3.0 * (mm + ew)


def _cp_exchange_s(model: ModelSpec, seq_len: int, c: Candidates, hw: Hardware, att):
    """Exposed ring exchange of K and V blocks (forward once, backward K/V and dK/dV)."""
    tokens = c.micro_batch * seq_len / c.cp
    kv_bytes = 2.0 * 2.0 * tokens * model.kv_heads * model.head_dim / c.tp
    inter = c.tp * c.cp > hw.links.devices_per_node
    send = comm.p2p_time_s(kv_bytes, inter, hw.links)
    total = 3.0 * (c.cp - 1) * send
    return np.where(c.cp > 1, np.maximum(total - 3.0 * att, 0.0), 0.0)


def _pipeline_send_s(model: ModelSpec, seq_len: int, c: Candidates, hw: Hardware):
    """Activation (forward) and gradient (backward) sends of one micro-batch, per chunk."""
    tokens = c.micro_batch * seq_len / c.cp
    size = 2.0 * tokens * model.hidden / c.tp
    inter = c.tp * c.cp * c.dp >= hw.links.devices_per_node
    send = comm.p2p_time_s(size, inter, hw.links)
    return np.where(c.pp > 1, 2.0 * c.vp * send, 0.0)


def _dp_comm_s(model: ModelSpec, seq_len: int, c: Candidates, hw: Hardware, num_micro,
               micro_s):
    """Exposed data-parallel / ZeRO communication per step.

    ZeRO-3 / FSDP gathers each layer's weights before its forward and again before its backward
    and reduce-scatters its gradients, every micro-batch, on the hierarchical path, prefetched
    one layer ahead (FSDP ``forward_prefetch``/``backward_prefetch``; DeepSpeed's prefetch
    bucket): per micro-batch only what compute cannot cover is exposed, plus the first gather.
    HSDP keeps those collectives inside the shard group and all-reduces gradient shards across
    the replicas once per step (hidden behind the last micro-batch when the stack overlaps DP).
    """
    params = stage_params(model, c, seq_len, ep=hw.stack.ep)
    size = 2.0 * params
    n = c.dp * c.cp
    k = comm.members_per_node(n, c.tp, hw.links.devices_per_node)
    ar = comm.collective_time_s("all_reduce", size, n, k, hw.links)
    rs = comm.collective_time_s("reduce_scatter", size, n, k, hw.links)
    ag = comm.collective_time_s("all_gather", size, n, k, hw.links)
    window = micro_s if hw.dp_overlap else 0.0 * micro_s
    z01 = np.maximum(ar - window, 0.0)
    z2 = num_micro * np.maximum(rs - 2.0 / 3.0 * window, 0.0) + np.maximum(ag - window, 0.0)
    shard = shard_group(c, hw.stack, hw.links.devices_per_node)
    k3 = comm.members_per_node(shard, c.tp, hw.links.devices_per_node)
    layers = stage_layout(model, seq_len, c.pp, c.vp).max_layers
    per_layer = size / layers
    gather = comm.collective_time_s("all_gather", per_layer, shard, k3, hw.links)
    z3_mb = layers * (2.0 * gather
                      + comm.collective_time_s("reduce_scatter", per_layer, shard, k3, hw.links))
    # a bounded prefetch (DeepSpeed's bucket) covers only part of each layer's gathers: the rest
    # is fetched on demand, exposed, every micro-batch
    ahead = hw.stack.prefetch_params
    on_demand = 0.0 if ahead <= 0 else layers * 2.0 * gather * np.maximum(
        1.0 - ahead / (per_layer / 2.0), 0.0)
    z3 = (num_micro * (on_demand + np.maximum(z3_mb - on_demand - micro_s, 0.0))
          + z3_mb / layers / 3.0)
    replicas = n // shard
    k_rep = comm.members_per_node(replicas, c.tp * shard, hw.links.devices_per_node)
    across = comm.collective_time_s("all_reduce", size / shard, replicas, k_rep, hw.links)
    z3 = z3 + np.where(replicas > 1, np.maximum(across - window, 0.0), 0.0)
    out = np.where(c.zero_stage >= 3, z3, np.where(c.zero_stage == 2, z2, z01))
    return np.where(n > 1, out, 0.0)


def step_time(model: ModelSpec, seq_len: int, global_batch: int, c: Candidates,
              hw: Hardware) -> StepArrays:
    """Step time and its breakdown for every candidate (``global_batch`` in sequences; callers
    ensure ``global_batch`` is divisible by ``dp · micro_batch``)."""
    num_micro = np.maximum(global_batch // (c.dp * c.micro_batch), 1).astype(float)
    micro, comp, tp_s, cp_s, pp_s, ep_s = _micro_batch_time(model, seq_len, c, hw)
    bubble = (c.pp - 1) / c.vp * micro
    dp_s = _dp_comm_s(model, seq_len, c, hw, num_micro, micro)
    local = stage_params(model, c, seq_len, ep=hw.stack.ep)
    shard = shard_group(c, hw.stack, hw.links.devices_per_node)
    opt_params = local / np.where(c.zero_stage >= 3, shard,
                                  np.where(c.zero_stage >= 1, c.dp * c.cp, 1))
    opt_bytes = opt_params * ADAM_BYTES_PER_PARAM
    if hw.fp8:  # weights cast to fp8 (and transposed) once per step
        opt_bytes = opt_bytes + local * FP8_WEIGHT_CAST_BYTES
    opt = opt_bytes / (hw.hbm_bytes_per_s * hw.profile.hbm_fraction)
    overhead = np.full_like(micro, hw.profile.step_overhead_s)
    total = num_micro * micro + bubble + dp_s + opt + overhead
    return StepArrays(num_micro=num_micro, micro_s=micro, compute_s=num_micro * comp,
                      tp_comm_s=num_micro * tp_s, cp_comm_s=num_micro * cp_s,
                      pp_comm_s=num_micro * pp_s, bubble_s=bubble, dp_comm_s=dp_s,
                      optimizer_s=opt, overhead_s=overhead, step_time_s=total,
                      ep_comm_s=num_micro * ep_s)
