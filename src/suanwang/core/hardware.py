"""Accelerators and node types: the hardware facts every model of time, memory and energy uses.

Figures come only from catalog data (``catalog/data/accelerators.yaml``), each with a source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from suanwang.core.errors import ConfigError

DTYPES = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8")


@dataclass(frozen=True, kw_only=True)
class Accelerator:
    """One accelerator (or a CPU-only node's compute, for supercomputer partitions).

    ``peak_flops_per_s`` maps dtype -> dense peak FLOP/s (no sparsity); a dtype the device lacks is
    absent. ``intra_node_bytes_per_s`` is the per-device, per-direction scale-up bandwidth
    (NVLink/HCCS/Infinity Fabric); ``nic_bits_per_s`` the typical scale-out NIC share per device.
    ``unverified`` names fields whose sources conflict or are secondary only.
    """

    name: str
    vendor: str
    domestic: bool
    kind: str  # "gpu" | "npu" | "cpu"
    peak_flops_per_s: Mapping[str, float]
    hbm_bytes: float
    hbm_bytes_per_s: float
    intra_node_bytes_per_s: float
    nic_bits_per_s: float
    tdp_watts: float
    sources: tuple[str, ...] = ()
    unverified: tuple[str, ...] = ()
    notes: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "peak_flops_per_s", MappingProxyType(dict(self.peak_flops_per_s)))

    def peak(self, dtype: str) -> float:
        """Dense peak FLOP/s for ``dtype``; raises ConfigError naming the dtypes it has."""
        try:
            return self.peak_flops_per_s[dtype]
        except KeyError:
            have = ", ".join(sorted(self.peak_flops_per_s)) or "none"
            raise ConfigError(
                f"accelerator '{self.name}' has no {dtype} peak; it supports: {have}",
                field="precision",
            ) from None

    def __hash__(self) -> int:
        return hash(self.name)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "vendor": self.vendor,
            "domestic": self.domestic,
            "kind": self.kind,
            "peak_flops_per_s": dict(self.peak_flops_per_s),
            "hbm_bytes": self.hbm_bytes,
            "hbm_bytes_per_s": self.hbm_bytes_per_s,
            "intra_node_bytes_per_s": self.intra_node_bytes_per_s,
            "nic_bits_per_s": self.nic_bits_per_s,
            "tdp_watts": self.tdp_watts,
            "sources": list(self.sources),
            "unverified": list(self.unverified),
            "notes": self.notes,
        }


@dataclass(frozen=True, kw_only=True)
class NodePool:
    """A homogeneous group of nodes inside a center.

    ``intra_node_bytes_per_s`` and ``inter_node_bits_per_s_per_device`` default to the
    accelerator's figures when the center file does not override them.
    ``price_per_device_hour`` is in the federation's currency.
    """

    accelerator: Accelerator
    nodes: int
    devices_per_node: int
    intra_node_bytes_per_s: float
    inter_node_bits_per_s_per_device: float
    price_per_device_hour: float
    node_overhead_watts: float = 0.0  # CPUs, NICs, fans per node beyond the devices' TDP
    failure_rate_multiplier: float = 1.0  # the pool's own; the center's multiplies it
    weight: float = 0.0
    """Placement preference among pools equally good for a job: lower first (Slurm's node
    ``Weight``). Give rare accelerator types a higher weight so that jobs able to run anywhere
    leave them to the jobs constrained to them."""

    @property
    def devices(self) -> int:
        return self.nodes * self.devices_per_node

    @property
    def watts_per_device(self) -> float:
        """Power drawn per device at full load including its share of node overhead."""
        return self.accelerator.tdp_watts + self.node_overhead_watts / self.devices_per_node

    def to_dict(self) -> dict:
        return {
            "accelerator": self.accelerator.name,
            "nodes": self.nodes,
            "devices_per_node": self.devices_per_node,
            "intra_node_bytes_per_s": self.intra_node_bytes_per_s,
            "inter_node_bits_per_s_per_device": self.inter_node_bits_per_s_per_device,
            "price_per_device_hour": self.price_per_device_hour,
            "node_overhead_watts": self.node_overhead_watts,
            "failure_rate_multiplier": self.failure_rate_multiplier,
            "weight": self.weight,
        }


@dataclass(frozen=True, kw_only=True)
class Cluster:
    """The hardware a single job sees: devices of one type, how they are grouped and linked.

    This is what the performance model needs; plan builds it from a NodePool or from CLI flags.
    """

    accelerator: Accelerator
    num_devices: int
    devices_per_node: int
    intra_node_bytes_per_s: float
    inter_node_bits_per_s_per_device: float

    def __post_init__(self) -> None:
        if self.num_devices < 1:
            raise ConfigError("must be >= 1", field="num_gpus")
        if self.devices_per_node < 1:
            raise ConfigError("must be >= 1", field="gpus_per_node")
        if self.intra_node_bytes_per_s <= 0:
            raise ConfigError("must be > 0", field="intra_node_bytes_per_s")
        if self.inter_node_bits_per_s_per_device <= 0:
            raise ConfigError("must be > 0", field="inter_node_gbps_per_gpu")

    @property
    def nodes(self) -> int:
        return -(-self.num_devices // self.devices_per_node)

    @classmethod
    def of(cls, accelerator: Accelerator, num_devices: int, devices_per_node: int = 8,
           inter_node_gbps_per_device: float | None = None) -> Cluster:
        """A cluster using the accelerator's own link figures unless overridden."""
        nic = (inter_node_gbps_per_device * 1e9 if inter_node_gbps_per_device is not None
               else accelerator.nic_bits_per_s)
        return cls(accelerator=accelerator, num_devices=num_devices,
                   devices_per_node=devices_per_node,
                   intra_node_bytes_per_s=accelerator.intra_node_bytes_per_s,
                   inter_node_bits_per_s_per_device=nic)

