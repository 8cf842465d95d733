"""One fixed configuration -> step time with its breakdown, throughput, MFU and memory.

The public entry point of ``suanwang.perf``: :func:`predict` (and :func:`check_config`, which
raises a ConfigError naming the offending field for configurations no framework can run).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from suanwang.core.efficiency import EfficiencyProfile
from suanwang.core.errors import ConfigError
from suanwang.core.hardware import Cluster
from suanwang.core.model import ModelSpec
from suanwang.core.parallelism import Parallelism
from suanwang.perf import flops as fl
from suanwang.perf.candidates import Candidates
from suanwang.perf.memory import memory
from suanwang.perf.stack import DEFAULT_STACK, Stack
from suanwang.perf.step import hardware, step_time


@dataclass(frozen=True, kw_only=True)
class Prediction:
    """Result of :func:`predict`. Times in seconds, memory in bytes per GPU (heaviest stage)."""

    model: str
    accelerator: str
    num_gpus: int
    parallelism: Parallelism
    seq_len: int
    global_batch_seqs: int
    precision: str
    profile: str
    step_time_s: float
    time_breakdown_s: dict[str, float]
    num_micro_batches: int
    tokens_per_s: float
    model_tflops_per_gpu: float
    hardware_tflops_per_gpu: float
    mfu: float
    hfu: float
    memory_bytes: dict[str, float]
    memory_bytes_per_gpu: float
    hbm_bytes: float
    fits: bool
    notes: tuple[str, ...] = field(default=())
    stack: Stack = field(default=DEFAULT_STACK)

    def to_dict(self) -> dict:
        return {
            "model": self.model, "accelerator": self.accelerator, "num_gpus": self.num_gpus,
            **self.parallelism.to_dict(), "seq_len": self.seq_len,
            "global_batch_seqs": self.global_batch_seqs, "precision": self.precision,
            "efficiency_profile": self.profile, "step_time_s": self.step_time_s,
            "time_breakdown_s": dict(self.time_breakdown_s),
            "num_micro_batches": self.num_micro_batches, "tokens_per_s": self.tokens_per_s,
            "model_tflops_per_gpu": self.model_tflops_per_gpu,
            "hardware_tflops_per_gpu": self.hardware_tflops_per_gpu, "mfu": self.mfu,
            "hfu": self.hfu, "memory_bytes": dict(self.memory_bytes),
            "memory_bytes_per_gpu": self.memory_bytes_per_gpu, "hbm_bytes": self.hbm_bytes,
            "fits": self.fits, "notes": list(self.notes), **self.stack.to_dict(),
        }


def check_config(model: ModelSpec, num_gpus: int, par: Parallelism, *, seq_len: int,
                 global_batch_seqs: int, stack: Stack | None = None) -> None:
    """Raise ConfigError (naming the field) if ``par`` cannot run ``model`` on ``num_gpus``
    with ``stack`` (expert parallelism must divide the experts and dp·cp)."""
    check_sizes(seq_len=seq_len, global_batch_seqs=global_batch_seqs)
    ep = (stack or DEFAULT_STACK).ep
    if ep > 1 and (model.experts % ep or (par.dp * par.cp) % ep):
        raise ConfigError(f"ep {ep} must divide the model's {model.experts} experts and "
                          f"dp·cp = {par.dp * par.cp}", field="ep")
    if par.world_size != num_gpus:
        raise ConfigError(f"tp·pp·dp·cp = {par.tp}·{par.pp}·{par.dp}·{par.cp} = "
                          f"{par.world_size} must equal num_gpus {num_gpus}", field="dp")
    if model.heads % par.tp:
        raise ConfigError(f"tp {par.tp} must divide the model's {model.heads} heads", field="tp")
    if model.kv_heads % par.tp and par.tp % model.kv_heads:
        raise ConfigError(f"tp {par.tp} and kv_heads {model.kv_heads} must divide one another",
                          field="tp")
    if model.ffn_hidden % par.tp:
        raise ConfigError(f"tp {par.tp} must divide ffn_hidden {model.ffn_hidden}", field="tp")
    if par.pp > model.layers:
        raise ConfigError(f"pp {par.pp} exceeds the model's {model.layers} layers", field="pp")
    if par.vp > 1 and model.layers % (par.pp * par.vp):
        raise ConfigError(f"interleaving needs layers ({model.layers}) divisible by pp·vp "
                          f"({par.pp}·{par.vp})", field="vp")
    if par.zero_stage == 2 and par.pp > 1:
        raise ConfigError(
            f"ZeRO-2 with pipeline parallelism (pp {par.pp}) is not run by any mainstream "
            "framework: DeepSpeed rejects it with its pipeline engine (gradients would be "
            "re-sharded every micro-batch); use ZeRO-1 (Megatron's distributed optimizer) or "
            "ZeRO-3/FSDP (torchtitan and NeMo Automodel run FSDP with pp > 1)",
            field="zero_stage")
    if seq_len % par.cp:
        raise ConfigError(f"cp {par.cp} must divide seq_len {seq_len}", field="cp")
    if global_batch_seqs % (par.dp * par.micro_batch):
        raise ConfigError(f"global_batch_seqs {global_batch_seqs} must be divisible by "
                          f"dp·micro_batch = {par.dp}·{par.micro_batch}", field="micro_batch")


def check_sizes(*, seq_len: int, global_batch_seqs: int) -> None:
    """Raise ConfigError unless the sequence length and the global batch are >= 1."""
    if seq_len < 1:
        raise ConfigError(f"must be >= 1 (got {seq_len})", field="seq_len")
    if global_batch_seqs < 1:
        raise ConfigError(f"must be >= 1 (got {global_batch_seqs})", field="global_batch_seqs")


def _executed_flops_per_token(model: ModelSpec, seq_len: int, par: Parallelism,
                              stack: Stack) -> float:
    """Executed FLOPs per token, with partial full-recompute (``recompute_layers``) pro rata."""
    base = fl.hardware_flops_per_token(model, seq_len, par.recompute, attention=stack.attention)
    if par.recompute != "full" or stack.recompute_layers == 0:
        return base
    none = fl.hardware_flops_per_token(model, seq_len, "none", attention=stack.attention)
    per_stage = model.layers / par.pp
    share = min(stack.recompute_layers * par.vp, per_stage) / per_stage
    return none + share * (base - none)


def predict(model: ModelSpec, cluster: Cluster, par: Parallelism, *, seq_len: int | None = None,
            global_batch_seqs: int, precision: str = "bf16", profile: EfficiencyProfile,
            tp_comm_overlap: bool | None = None,
            dp_comm_overlap: bool | None = None, stack: Stack | None = None) -> Prediction:
    """Predict one training step of ``model`` on ``cluster`` split as ``par``.

    ``seq_len`` defaults to the model's; ``profile`` comes from
    :func:`suanwang.catalog.efficiency.get_efficiency`; the overlap flags default to the profile's;
    ``stack`` (attention, cross-entropy, partial recompute, HSDP, ep) defaults to
    :data:`suanwang.perf.stack.DEFAULT_STACK` (FlashAttention, fused cross-entropy).
    MFU = causal model FLOPs / time / peak of ``precision``; HFU counts executed FLOPs.
    """
    s = seq_len if seq_len is not None else model.seq_len
    stack = stack or DEFAULT_STACK
    check_config(model, cluster.num_devices, par, seq_len=s, global_batch_seqs=global_batch_seqs,
                 stack=stack)
    hw = hardware(cluster, profile, precision, tp_overlap=tp_comm_overlap,
                  dp_overlap=dp_comm_overlap, stack=stack)
    c = Candidates.of(par)
    st = step_time(model, s, global_batch_seqs, c, hw)
    mem = memory(model, s, c, st.num_micro, cluster.accelerator.hbm_bytes, stack=stack,
                 precision=precision, devices_per_node=cluster.devices_per_node)
    step = float(st.step_time_s[0])
    tokens = global_batch_seqs * s
    n = cluster.num_devices
    model_tf = fl.model_flops_per_token(model, s) * tokens / step / n
    hw_tf = _executed_flops_per_token(model, s, par, stack) * tokens / step / n
    peak = hw.matmul_peak_flops_per_s
    parts = ("compute", "tp_comm", "cp_comm", "pp_comm", "ep_comm", "bubble", "dp_comm",
             "optimizer", "overhead")
    breakdown = {p: float(np.asarray(getattr(st, f"{p}_s"))[0]) for p in parts}
    mem_parts = ("weights", "gradients", "optimizer", "activations", "temporary")
    notes = []
    if profile.name.startswith("default"):
        notes.append(f"no measurements for {cluster.accelerator.name}: default efficiency "
                     "profile, treat as +-30%")
    if not mem.fits[0]:
        notes.append("does not fit in device memory: raise pp/tp/zero_stage or recompute")
    return Prediction(
        model=model.name, accelerator=cluster.accelerator.name, num_gpus=n, parallelism=par,
        seq_len=s, global_batch_seqs=global_batch_seqs, precision=precision,
        profile=profile.name, step_time_s=step, time_breakdown_s=breakdown,
        num_micro_batches=int(st.num_micro[0]), tokens_per_s=tokens / step,
        model_tflops_per_gpu=model_tf / 1e12, hardware_tflops_per_gpu=hw_tf / 1e12,
        mfu=model_tf / peak, hfu=hw_tf / peak,
        memory_bytes={p: float(getattr(mem, p)[0]) for p in mem_parts},
        memory_bytes_per_gpu=float(mem.total[0]), hbm_bytes=cluster.accelerator.hbm_bytes,
        fits=bool(mem.fits[0]), notes=tuple(notes), stack=stack)
