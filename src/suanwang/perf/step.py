"""Step time: compute, communication, pipeline bubble and overlap, for a batch of candidates.

One optimizer step of ``m = B / (dp·micro_batch)`` micro-batches through a ``pp``-stage pipeline
(1F1B; interleaved with ``vp`` chunks per stage) takes (Narayanan et al. 2021 §2.2):

    step = (m + (pp-1)/vp) · t_micro + exposed DP/ZeRO communication + optimizer + fixed overhead

``t_micro`` is the forward+backward(+recompute) time of the slowest stage for one micro-batch:
per layer, matmuls and attention at the size-dependent efficiency (``perf.compute``),
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
micro-batch's compute (Rajbhandari 2020 §7; Zhao et al. 2023, FSDP §3.3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suanwang.core.efficiency import EfficiencyProfile
from suanwang.core.errors import ConfigError
from suanwang.core.hardware import Cluster
from suanwang.core.model import ModelSpec
from suanwang.perf import comm, compute
from suanwang.perf import flops as fl
from suanwang.perf.candidates import Candidates
from suanwang.perf.memory import stage_params
from suanwang.perf.partition import stage_layout

TRAINING_PRECISIONS = ("bf16", "fp16", "fp8")
ADAM_BYTES_PER_PARAM = 30.0  # read master/m/v/grad, write master/m/v + low-precision copy


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


def hardware(cluster: Cluster, prof: EfficiencyProfile, precision: str, *,
             tp_overlap: bool | None = None, dp_overlap: bool | None = None) -> Hardware:
    """Bind a cluster and a profile; ``precision`` picks the matmul peak (fp8: matmuls only).

    Training precisions are the mixed-precision ones the memory model describes (bf16/fp16
    weights and gradients, fp32 Adam state; fp8 matmuls on top): fp32/tf32/fp64 training would
    need other byte counts and is refused rather than mis-predicted."""
    if precision not in TRAINING_PRECISIONS:
        raise ConfigError(f"training precision must be one of {', '.join(TRAINING_PRECISIONS)} "
                          f"(got {precision!r}); the model assumes mixed-precision training with "
                          "2-byte weights/gradients", field="precision")
    acc = cluster.accelerator
    vector = acc.peak("bf16") if "bf16" in acc.peak_flops_per_s else acc.peak(precision)
    links = comm.Links(
        intra_bytes_per_s=cluster.intra_node_bytes_per_s * prof.intra_link_fraction,
        inter_bytes_per_s=cluster.inter_node_bits_per_s_per_device / 8 * prof.inter_link_fraction,
        intra_latency_s=prof.intra_latency_s, inter_latency_s=prof.inter_latency_s,
        devices_per_node=cluster.devices_per_node)
    return Hardware(matmul_peak_flops_per_s=acc.peak(precision), vector_peak_flops_per_s=vector,
                    hbm_bytes_per_s=acc.hbm_bytes_per_s, links=links, profile=prof,
                    tp_overlap=prof.tp_comm_overlap if tp_overlap is None else tp_overlap,
                    dp_overlap=prof.dp_comm_overlap if dp_overlap is None else dp_overlap)


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


def _layer_times(model: ModelSpec, seq_len: int, c: Candidates, hw: Hardware):
    """Per layer, one micro-batch on one device: (forward compute s, attention fwd s, matmul fwd s,
    TP collective s per all-reduce)."""
    prof = hw.profile
    tokens = c.micro_batch * seq_len / c.cp
    mm = compute.gemm_time_s(tokens * fl.layer_matmul_flops_per_token(model) / c.tp,
                             hw.matmul_peak_flops_per_s, prof)
    att_flops = tokens * fl.layer_attention_flops_per_token(model, seq_len) / c.tp
    att = compute.gemm_time_s(att_flops * prof.attention_factor, hw.vector_peak_flops_per_s, prof)
    scores = tokens * seq_len * model.heads / c.tp  # s_local x s per head, this device's heads
    att = att + scores * prof.score_bytes_per_element / (hw.hbm_bytes_per_s * prof.hbm_fraction)
    hidden_dev = np.where(c.sequence_parallel, model.hidden / c.tp, model.hidden)
    ew = compute.elementwise_time_s(tokens, hidden_dev, hw.hbm_bytes_per_s, prof)
    k_tp = comm.members_per_node(c.tp, 1, hw.links.devices_per_node)
    ar = comm.collective_time_s("all_reduce", tokens * model.hidden * 2.0, c.tp, k_tp, hw.links)
    return mm + att + ew, att, mm, np.where(c.tp > 1, ar, 0.0)


def _micro_batch_time(model: ModelSpec, seq_len: int, c: Candidates, hw: Hardware):
    """Slowest stage, one micro-batch: (total s, compute s, exposed TP s, exposed CP s, PP s)."""
    fwd, att, mm, ar = _layer_times(model, seq_len, c, hw)
    rc = c.recompute
    layer_compute = 3.0 * fwd + np.where(rc == 2, fwd, np.where(rc == 1, att, 0.0))
    n_ar = np.where(rc == 2, 6.0, 4.0)
    tp = n_ar * ar
    mm_total = np.where(rc == 2, 4.0, 3.0) * mm
    hidden = hw.profile.tp_overlap_fraction * np.minimum(tp, mm_total) if hw.tp_overlap else 0.0
    tp_exposed = tp - hidden
    cp_exposed = _cp_exchange_s(model, seq_len, c, hw, att)
    layer = layer_compute + tp_exposed + cp_exposed
    head = _head_time_s(model, seq_len, c, hw)
    lay = stage_layout(model, seq_len, c.pp, c.vp)
    first, last = lay.first_layers * layer, lay.last_layers * layer + head
    on_last = last >= first  # the slowest stage: the last (with the head) or the first
    n = np.where(on_last, lay.last_layers, lay.first_layers)
    p2p = _pipeline_send_s(model, seq_len, c, hw) + hw.profile.micro_batch_overhead_s
    total = np.maximum(first, last) + p2p
    comp = n * layer_compute + np.where(on_last, head, 0.0)
    return total, comp, n * tp_exposed, n * cp_exposed, p2p


def _head_time_s(model: ModelSpec, seq_len: int, c: Candidates, hw: Hardware):
    """Output layer + loss on the last stage, forward and backward, one micro-batch."""
    prof = hw.profile
    tokens = c.micro_batch * seq_len / c.cp
    mm = compute.gemm_time_s(tokens * fl.head_flops_per_token(model) / c.tp,
                             hw.matmul_peak_flops_per_s, prof)
    ew = compute.elementwise_time_s(tokens, model.vocab / c.tp, hw.hbm_bytes_per_s, prof)
    return 3.0 * (mm + ew)


def _cp_exchange_s(model: ModelSpec, seq_len: int, c: Candidates, hw: Hardware, att):
    """Exposed ring exchange of K and V blocks (forward once, backward K/V and dK/dV)."""
    tokens = c.micro_batch * seq_len / c.cp
    kv_bytes = 2.0 * 2.0 * tokens * model.hidden * model.kv_heads / model.heads / c.tp
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

    ZeRO-3 gathers and reduce-scatters layer by layer (latency paid per layer), and across nodes
    each GPU moves the whole layer over its own NIC share: per-layer messages are too small to be
    spread over all rails hierarchically. This is what makes ZeRO-3's step time stay flat as GPUs
    are added at a fixed batch, i.e. its per-GPU throughput collapse (Narayanan 2021 §5.2, Fig. 10).
    """
    params = stage_params(model, c, seq_len)
    size = 2.0 * params
    n = c.dp * c.cp
    k = comm.members_per_node(n, c.tp, hw.links.devices_per_node)
    ar = comm.collective_time_s("all_reduce", size, n, k, hw.links)
    rs = comm.collective_time_s("reduce_scatter", size, n, k, hw.links)
    ag = comm.collective_time_s("all_gather", size, n, k, hw.links)
    window = micro_s if hw.dp_overlap else 0.0 * micro_s
    z01 = np.maximum(ar - window, 0.0)
    z2 = num_micro * np.maximum(rs - 2.0 / 3.0 * window, 0.0) + np.maximum(ag - window, 0.0)
    layers = stage_layout(model, seq_len, c.pp, c.vp).max_layers
    per_layer = size / layers
    k_flat = np.where(k < n, 1, n)
    z3_mb = layers * (2.0 * comm.collective_time_s("all_gather", per_layer, n, k_flat, hw.links)
                      + comm.collective_time_s("reduce_scatter", per_layer, n, k_flat, hw.links))
    z3 = num_micro * np.maximum(z3_mb - micro_s, 0.0) + z3_mb / layers / 3.0
    out = np.where(c.zero_stage >= 3, z3, np.where(c.zero_stage == 2, z2, z01))
    return np.where(n > 1, out, 0.0)


def step_time(model: ModelSpec, seq_len: int, global_batch: int, c: Candidates,
              hw: Hardware) -> StepArrays:
    """Step time and its breakdown for every candidate (``global_batch`` in sequences; callers
    ensure ``global_batch`` is divisible by ``dp · micro_batch``)."""
    num_micro = np.maximum(global_batch // (c.dp * c.micro_batch), 1).astype(float)
    micro, comp, tp_s, cp_s, pp_s = _micro_batch_time(model, seq_len, c, hw)
    bubble = (c.pp - 1) / c.vp * micro
    dp_s = _dp_comm_s(model, seq_len, c, hw, num_micro, micro)
    opt_params = stage_params(model, c, seq_len) / np.where(c.zero_stage >= 1, c.dp * c.cp, 1)
    opt = opt_params * ADAM_BYTES_PER_PARAM / (hw.hbm_bytes_per_s * hw.profile.hbm_fraction)
    overhead = np.full_like(micro, hw.profile.step_overhead_s)
    total = num_micro * micro + bubble + dp_s + opt + overhead
    return StepArrays(num_micro=num_micro, micro_s=micro, compute_s=num_micro * comp,
                      tp_comm_s=num_micro * tp_s, cp_comm_s=num_micro * cp_s,
                      pp_comm_s=num_micro * pp_s, bubble_s=bubble, dp_comm_s=dp_s,
                      optimizer_s=opt, overhead_s=overhead, step_time_s=total)
