"""Failure-aware time to train for a plan: the memory model's state bytes -> reliability.

A plan's failure-free compute time (tokens / tokens-per-second) is stretched by checkpoint
stalls, restarts and lost work (``suanwang.reliability.goodput.assess``; docs/reliability.md).
The checkpoint holds weights + optimizer state (gradients are not saved); each shard is written
once (ZeRO-sharded state is already unique; replicated weights are deduplicated as PyTorch DCP
does), so unique bytes per device = (2 + 12) · params per device / (dp · cp) for every ZeRO stage.
"""

from __future__ import annotations

from dataclasses import dataclass

from suanwang.core.hardware import Cluster
from suanwang.core.model import ModelSpec
from suanwang.perf.memory import BYTES_OPTIMIZER, BYTES_WEIGHT, stage_params
from suanwang.plan.search import Plan
from suanwang.reliability.checkpoint_cost import (
    CheckpointCost,
    RestartCost,
    checkpoint_cost,
    restart_cost,
)
from suanwang.reliability.goodput import assess
from suanwang.reliability.rates import job_mtbf_s

DEFAULT_STORAGE_BYTES_PER_S = 100e9  # aggregate parallel-file-system write (and read) bandwidth
DEFAULT_STAGING_BYTES_PER_S = 25e9   # device -> host copy per device (PCIe Gen4 x16 class)
# Per-save overhead on the critical path (planning, barriers): PyTorch DCP async_save with plan
# caching blocked training 0.78 s per checkpoint of Llama-3 70B on 1,856 H200
# (../shared/notes/anchors.md, fault tolerance section).
DEFAULT_FIXED_STALL_S = 0.78


@dataclass(frozen=True, kw_only=True)
class Goodput:
    checkpoint_interval_s: float
    expected_failures: float
    ettr: float
    time_to_train_s: float
    checkpoint_bytes: float
    job_mtbf_s: float

    def to_dict(self) -> dict:
        return {"checkpoint_interval_s": self.checkpoint_interval_s,
                "expected_failures": self.expected_failures, "ettr": self.ettr,
                "time_to_train_s": self.time_to_train_s,
                "checkpoint_bytes": self.checkpoint_bytes, "job_mtbf_s": self.job_mtbf_s}


def unique_state_bytes_per_device(model: ModelSpec, plan: Plan) -> float:
    """Checkpointed bytes each device contributes once deduplicated (weights + optimizer)."""
    from suanwang.perf.candidates import Candidates

    params = float(stage_params(model, Candidates.of(plan.parallelism))[0])
    par = plan.parallelism
    return (BYTES_WEIGHT + BYTES_OPTIMIZER) * params / (par.dp * par.cp)


def plan_checkpoint_cost(model: ModelSpec, cluster: Cluster, plan: Plan, *,
                         storage_bytes_per_s: float = DEFAULT_STORAGE_BYTES_PER_S,
                         staging_bytes_per_s: float = DEFAULT_STAGING_BYTES_PER_S,
                         async_save: bool = True) -> tuple[CheckpointCost, RestartCost]:
    """Checkpoint stall/persist and restart cost of ``plan`` (its unique state bytes written to
    and read back from storage at ``storage_bytes_per_s``); used by :func:`assess_plan` and by
    ``suanwang reliability --model``."""
    state = unique_state_bytes_per_device(model, plan)
    ckpt = checkpoint_cost(state_bytes_per_device=state, devices=cluster.num_devices,
                           storage_write_bytes_per_s=storage_bytes_per_s,
                           staging_bytes_per_s=staging_bytes_per_s, async_save=async_save,
                           fixed_stall_s=DEFAULT_FIXED_STALL_S)
    restart = restart_cost(bytes_to_load=ckpt.bytes_written,
                           storage_read_bytes_per_s=storage_bytes_per_s)
    return ckpt, restart


def assess_plan(model: ModelSpec, cluster: Cluster, plan: Plan, *, tokens: float,
                storage_bytes_per_s: float = DEFAULT_STORAGE_BYTES_PER_S,
                staging_bytes_per_s: float = DEFAULT_STAGING_BYTES_PER_S,
                async_save: bool = True, failure_multiplier: float = 1.0) -> Goodput:
    """Checkpoint interval, expected failures, ETTR and failure-aware time to train.

    ``failure_multiplier`` scales the catalog failure rates (a center's and pool's multipliers).
    """
    n = cluster.num_devices
    ckpt, restart = plan_checkpoint_cost(model, cluster, plan,
                                         storage_bytes_per_s=storage_bytes_per_s,
                                         staging_bytes_per_s=staging_bytes_per_s,
                                         async_save=async_save)
    mtbf = job_mtbf_s(cluster.accelerator.name, n, cluster.devices_per_node,
                      multiplier=failure_multiplier)
    est = assess(compute_time_s=tokens / plan.tokens_per_s, job_mtbf_s=mtbf,
                 stall_s=ckpt.stall_s, persist_s=ckpt.persist_s, restart_s=restart.total_s)
    return Goodput(checkpoint_interval_s=est.interval_s, expected_failures=est.expected_failures,
                   ettr=est.ettr, time_to_train_s=est.time_to_train_s,
                   checkpoint_bytes=ckpt.bytes_written, job_mtbf_s=mtbf)
