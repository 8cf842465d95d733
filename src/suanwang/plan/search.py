"""Exhaustive, vectorised search for the fastest parallel configuration of one job on one pool.

Every combination of tp, pp, cp (dp = devices / (tp·pp·cp)), vp, micro-batch, recompute,
sequence parallelism and ZeRO stage is laid out as numpy arrays (``perf.Candidates``), checked
for legality (each rejection counted under its reason), pruned by the memory model, and only the
survivors get a step time, all through the same formulas as ``suanwang predict``. Redundant
combinations are not generated at all: sequence parallelism without tp, interleaving without pp,
ZeRO without data parallelism.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from suanwang.core.efficiency import EfficiencyProfile
from suanwang.core.errors import ConfigError, InfeasibleError
from suanwang.core.hardware import Cluster
from suanwang.core.model import ModelSpec
from suanwang.core.parallelism import Parallelism
from suanwang.perf import flops as fl
from suanwang.perf.candidates import (
    MICRO_BATCHES,
    RECOMPUTE,
    VIRTUAL_STAGES,
    ZERO_STAGES,
    Candidates,
)
from suanwang.perf.memory import memory
from suanwang.perf.predict import check_sizes
from suanwang.perf.stack import DEFAULT_STACK, Stack
from suanwang.perf.step import hardware, step_time


@dataclass(frozen=True, kw_only=True)
class Plan:
    """One ranked configuration with its predicted figures."""

    parallelism: Parallelism
    step_time_s: float
    tokens_per_s: float
    mfu: float
    memory_bytes_per_gpu: float
    state_bytes_per_gpu: float  # weights + gradients + optimizer state (what a checkpoint saves)
    time_to_train_s: float | None = None

    def to_dict(self) -> dict:
        d = {**self.parallelism.to_dict(), "step_time_s": self.step_time_s,
             "tokens_per_s": self.tokens_per_s, "mfu": self.mfu,
             "memory_bytes_per_gpu": self.memory_bytes_per_gpu,
             "state_bytes_per_gpu": self.state_bytes_per_gpu}
        if self.time_to_train_s is not None:
            d["time_to_train_s"] = self.time_to_train_s
        return d


@dataclass(frozen=True, kw_only=True)
class SearchResult:
    """Ranked feasible plans (fastest first) and why the other configurations were rejected."""

    plans: tuple[Plan, ...]
    configs_evaluated: int
    configs_feasible: int
    rejected: dict[str, int]

    def to_dict(self) -> dict:
        return {"configs_evaluated": self.configs_evaluated,
                "configs_feasible": self.configs_feasible, "rejected": dict(self.rejected),
                "plans": [p.to_dict() for p in self.plans]}


FIXABLE = ("tp", "pp", "cp", "dp", "micro_batch", "zero_stage")
"""Layout dimensions a caller may hold fixed in :func:`search`."""


def _divisors(n: int, cap: int) -> list[int]:
    """Divisors of ``n`` up to ``cap``: O(cap), so a huge ``n`` costs nothing extra (issue #16)."""
    return [d for d in range(1, min(n, cap) + 1) if n % d == 0]


def _powers_of_two_dividing(n: int, cap: int) -> list[int]:
    out, d = [], 1
    while d <= min(n, cap):
        if n % d == 0:
            out.append(d)
        d *= 2
    return out


def enumerate_candidates(model: ModelSpec, num_devices: int, seq_len: int,
                         max_cp: int = 16) -> Candidates:
    """Every non-redundant configuration for ``num_devices`` (legality not yet checked)."""
    cols: dict[str, list[np.ndarray]] = {k: [] for k in (
        "tp", "pp", "dp", "cp", "vp", "micro_batch", "zero_stage", "recompute",
        "sequence_parallel")}
    for tp in _powers_of_two_dividing(num_devices, 2 * model.heads):
        for cp in _powers_of_two_dividing(num_devices // tp, max_cp):
            # pp > layers is never legal: bounded by the model, not by the device count.
            for pp in _divisors(num_devices // (tp * cp), model.layers):
                dp = num_devices // (tp * cp * pp)
                grid = np.array(np.meshgrid(
                    VIRTUAL_STAGES if pp > 1 else (1,), MICRO_BATCHES,
                    ZERO_STAGES if dp * cp > 1 else (0,), RECOMPUTE,
                    (False, True) if tp > 1 else (False,), indexing="ij")).reshape(5, -1)
                n = grid.shape[1]
                for key, value in (("tp", tp), ("pp", pp), ("dp", dp), ("cp", cp)):
                    cols[key].append(np.full(n, value))
                for key, row in zip(("vp", "micro_batch", "zero_stage", "recompute",
                                     "sequence_parallel"), grid, strict=True):
                    cols[key].append(row)
    arrays = {k: np.concatenate(v) for k, v in cols.items()}
    arrays["sequence_parallel"] = arrays["sequence_parallel"].astype(bool)
    return Candidates(**{k: v.astype(np.int64) if k != "sequence_parallel" else v
                         for k, v in arrays.items()})


def legality(model: ModelSpec, seq_len: int, global_batch_seqs: int,
             c: Candidates) -> list[tuple[str, np.ndarray]]:
    """(reason, violated-mask) pairs, in the order rejections are attributed."""
    tp = c.tp
    return [
        ("tp must divide heads, kv_heads and ffn_hidden",
         (model.heads % tp != 0) | ((model.kv_heads % tp != 0) & (tp % model.kv_heads != 0))
         | (model.ffn_hidden % tp != 0)),
        ("cp must divide seq_len", seq_len % c.cp != 0),
        ("pp exceeds the number of layers", c.pp > model.layers),
        ("interleaving needs layers divisible by pp·vp",
         (c.vp > 1) & (model.layers % (c.pp * c.vp) != 0)),
        ("ZeRO-2 with pipeline parallelism (no framework runs it)",
         (c.zero_stage == 2) & (c.pp > 1)),
        ("global batch not divisible by dp·micro_batch",
         global_batch_seqs % (c.dp * c.micro_batch) != 0),
    ]


def search(model: ModelSpec, cluster: Cluster, *, global_batch_seqs: int,
           profile: EfficiencyProfile, seq_len: int | None = None, precision: str = "bf16",
           top: int = 10, tokens: float | None = None,
           stack: Stack | None = None,
           fixed: Mapping[str, int] | None = None) -> SearchResult:
    """Rank every legal configuration of ``model`` on ``cluster`` by predicted step time.

    ``tokens`` (optional) adds ``time_to_train_s`` = tokens / tokens-per-second to each plan.
    ``stack`` (attention, cross-entropy, partial recompute, HSDP, ep) defaults to
    :data:`suanwang.perf.stack.DEFAULT_STACK`; with ``ep`` > 1, splits whose dp·cp it does not
    divide are rejected.
    ``fixed`` holds part of the layout, e.g. ``{"tp": 2, "pp": 2}`` (keys tp, pp, cp, dp,
    micro_batch, zero_stage): only the rest is searched; other splits count as rejected.
    Raises InfeasibleError when nothing fits, with the rejection counts in the message.
    """
    s = seq_len if seq_len is not None else model.seq_len
    check_sizes(seq_len=s, global_batch_seqs=global_batch_seqs)
    if top < 1:
        raise ConfigError(f"must be >= 1 (got {top})", field="top")
    if tokens is not None and not tokens > 0:
        raise ConfigError(f"must be > 0 (got {tokens})", field="tokens")
    stack = stack or DEFAULT_STACK
    hw = hardware(cluster, profile, precision, stack=stack)
    c = enumerate_candidates(model, cluster.num_devices, s)
    total = len(c)
    rejected: dict[str, int] = {}
    ok = np.ones(total, dtype=bool)
    rules = legality(model, s, global_batch_seqs, c)
    for key, value in (fixed or {}).items():
        if key not in FIXABLE:
            raise ConfigError(f"cannot hold '{key}' fixed; use one of {', '.join(FIXABLE)}",
                              field=key)
        rules.append((f"{key} held at {value}", getattr(c, key) != value))
    if stack.ep > 1:
        rules.append(("ep must divide experts and dp·cp",
                      ((c.dp * c.cp) % stack.ep != 0) | (model.experts % stack.ep != 0)))
    for reason, bad in rules:
        hit = ok & bad
        if hit.any():
            rejected[reason] = int(hit.sum())
        ok &= ~bad
    c = c.take(ok)
    num_micro = (global_batch_seqs // (c.dp * c.micro_batch)).astype(float)
    mem = memory(model, s, c, num_micro, cluster.accelerator.hbm_bytes, stack=stack,
                 precision=precision, devices_per_node=cluster.devices_per_node)
    if (~mem.fits).any():
        rejected["does not fit in device memory"] = int((~mem.fits).sum())
    c = c.take(mem.fits)
    if len(c) == 0:
        raise InfeasibleError(_infeasible_message(model, cluster, rejected))
    st = step_time(model, s, global_batch_seqs, c, hw)
    order = np.argsort(st.step_time_s, kind="stable")[:top]
    state = mem.state_bytes()[mem.fits]
    total_mem = mem.total[mem.fits]
    tokens_per_step = global_batch_seqs * s
    flops_per_token = fl.model_flops_per_token(model, s)
    plans = []
    for i in order:
        step = float(st.step_time_s[i])
        tps = tokens_per_step / step
        plans.append(Plan(
            parallelism=c.parallelism(int(i)), step_time_s=step, tokens_per_s=tps,
            mfu=flops_per_token * tps / cluster.num_devices / hw.matmul_peak_flops_per_s,
            memory_bytes_per_gpu=float(total_mem[i]), state_bytes_per_gpu=float(state[i]),
            time_to_train_s=tokens / tps if tokens else None))
    return SearchResult(plans=tuple(plans), configs_evaluated=total, configs_feasible=len(c),
                        rejected=rejected)


def _infeasible_message(model: ModelSpec, cluster: Cluster, rejected: dict[str, int]) -> str:
    """Why nothing is left, worded from the rejection counts (the largest cause first)."""
    counts = ", ".join(f"{n:,} {why}" for why, n in sorted(rejected.items(), key=lambda x: -x[1]))
    where = f"{model.name} on {cluster.num_devices} x {cluster.accelerator.name}"
    if "does not fit in device memory" in rejected:
        return (f"no legal configuration of {where} fits in device memory (add devices or use a "
                f"larger-memory accelerator); rejected: {counts}")
    return (f"no legal configuration of {where}: every split violates a divisibility rule (try a "
            f"device count with more small factors, or another global batch); rejected: {counts}")
