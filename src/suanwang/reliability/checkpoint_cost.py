"""Checkpoint and restart costs from state sizes and bandwidths.

The planner feeds the memory model's checkpointed state per device (weights + optimizer state);
storage figures come from the center (``Center.storage_write_bytes_per_s``, the aggregate write
bandwidth of its parallel file system).

* Bytes written: ``state_bytes_per_device × devices / replicas``; identical copies (pure data
  parallelism keeps ``dp`` copies of each shard) are written once (PyTorch DCP deduplicates).
* Persist time: bytes written / aggregate storage write bandwidth.
* Staging time: per-device state / device→host copy bandwidth (all devices copy in parallel).
* Sync save: the job blocks for staging and the whole write: stall = staging + persist, and the
  save is durable when the stall ends (persist_s = 0 in the result).
* Async save (DCP ``async_save``, DLRover Flash Checkpoint): the job blocks only for staging;
  the write runs in the background and the save is durable ``persist_s`` later.
  DCP measured 148.8 s → 6.3 s blocking for 7B, 0.78 s on 1,856 H200 (notes/anchors.md).
* Restart: detect + reschedule + init + load (bytes written / storage read bandwidth).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from suanwang.core.errors import ConfigError
from suanwang.reliability import inputs

# Order-of-magnitude defaults for restart parts when a center states none. Lablup/SKT B200:
# median automatic retry interval 11 min (failure_stats.md §2); Llama 3 held >90% ETTR at a
# failure every ~3 h, which needs restarts of ~10 min or less (docs/reliability.md).
DEFAULT_DETECT_S = 120.0
DEFAULT_RESCHEDULE_S = 180.0
DEFAULT_INIT_S = 180.0


@dataclass(frozen=True, kw_only=True)
class CheckpointCost:
    """Cost of one checkpoint. ``stall_s`` blocks training; ``persist_s`` runs in the background
    (0 for sync saves, whose write is inside ``stall_s``). Feed both to ``goodput.assess``."""

    async_save: bool
    bytes_written: float
    staging_s: float
    write_s: float
    stall_s: float
    persist_s: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class RestartCost:
    """Restart after a failure: ``total_s`` = detect + reschedule + init + load."""

    detect_s: float
    reschedule_s: float
    init_s: float
    load_s: float

    @property
    def total_s(self) -> float:
        return self.detect_s + self.reschedule_s + self.init_s + self.load_s

    def to_dict(self) -> dict:
        return {**asdict(self), "total_s": self.total_s}


def checkpoint_bytes(*, state_bytes_per_device: float, devices: int, replicas: int = 1) -> float:
    """Unique bytes one checkpoint writes: ``state_bytes_per_device × devices / replicas``."""
    s = inputs.positive(state_bytes_per_device, "state_bytes_per_device")
    if devices < 1:
        raise ConfigError(f"must be >= 1 (got {devices})", field="devices")
    if replicas < 1 or replicas > devices:
        raise ConfigError(f"must be in 1..devices (got {replicas})", field="replicas")
    return s * devices / replicas


def checkpoint_cost(*, state_bytes_per_device: float, devices: int,
                    storage_write_bytes_per_s: float, staging_bytes_per_s: float,
                    async_save: bool, replicas: int = 1,
                    fixed_stall_s: float = 0.0) -> CheckpointCost:
    """Blocking stall and background persist time of one checkpoint.

    ``staging_bytes_per_s``: device→host copy bandwidth per device (PCIe/C2C share);
    ``replicas``: devices holding an identical copy of each byte (the data-parallel degree for
    replicated state, 1 for fully sharded FSDP/ZeRO-3); ``fixed_stall_s``: per-save overhead on
    the critical path (planning, barriers).
    """
    written = checkpoint_bytes(state_bytes_per_device=state_bytes_per_device, devices=devices,
                               replicas=replicas)
    storage = inputs.positive(storage_write_bytes_per_s, "storage_write_bytes_per_s")
    staging_bw = inputs.positive(staging_bytes_per_s, "staging_bytes_per_s")
    fixed = inputs.non_negative(fixed_stall_s, "fixed_stall_s")
    staging = state_bytes_per_device / staging_bw
    write = written / storage
    if async_save:
        return CheckpointCost(async_save=True, bytes_written=written, staging_s=staging,
                              write_s=write, stall_s=fixed + staging, persist_s=write)
    return CheckpointCost(async_save=False, bytes_written=written, staging_s=staging,
                          write_s=write, stall_s=fixed + staging + write, persist_s=0.0)


def restart_cost(*, bytes_to_load: float, storage_read_bytes_per_s: float,
                 detect_s: float = DEFAULT_DETECT_S, reschedule_s: float = DEFAULT_RESCHEDULE_S,
                 init_s: float = DEFAULT_INIT_S) -> RestartCost:
    """Restart cost R: detect the failure, get replacement nodes, initialise (process groups,
    compile), load the last checkpoint (``bytes_to_load / storage_read_bytes_per_s``)."""
    b = inputs.non_negative(bytes_to_load, "bytes_to_load")
    bw = inputs.positive(storage_read_bytes_per_s, "storage_read_bytes_per_s")
    return RestartCost(detect_s=inputs.non_negative(detect_s, "detect_s"),
                       reschedule_s=inputs.non_negative(reschedule_s, "reschedule_s"),
                       init_s=inputs.non_negative(init_s, "init_s"), load_s=b / bw)
