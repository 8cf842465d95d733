"""The simulated hardware: pools built from a federation file or one homogeneous cluster.

Each pool's ``speed`` is its accelerator's training throughput relative to the reference device,
from the one performance model: the planner's tokens/s for a reference job
(:data:`SPEED_MODEL` on :data:`SPEED_DEVICES` devices, :func:`pool_speed`); trace run times are
taken as measured on the reference, so a job runs ``runtime / speed`` seconds on a pool. Jobs
that name their model get job-specific speeds from the same function (``ClusterState.speed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from suanwang.catalog import get_accelerator, load_federation
from suanwang.core.errors import ConfigError
from suanwang.core.federation import Federation
from suanwang.plan.throughput import tokens_per_s
from suanwang.sched.state import REFERENCE_ACCELERATOR, PoolView

__all__ = ["REFERENCE_ACCELERATOR", "SimCluster", "from_federation", "homogeneous",
           "load_cluster", "pool_speed", "scaled_accelerator_pools"]

SPEED_MODEL = "llama3-8b"
SPEED_DEVICES = 8
"""The reference job whose planned tokens/s ratio gives a pool's generic speed (assumption: an
8-GPU fine-tune of a mid-size model, the commonest job shape in the traces)."""


def pool_speed(accelerator: str, reference: str = REFERENCE_ACCELERATOR) -> float:
    """tokens_per_s(SPEED_MODEL, accelerator, SPEED_DEVICES) / the same on ``reference``
    (plan.throughput: the best plan's predicted throughput); 0.0 when the model cannot train
    there (e.g. CPU partitions)."""
    ref = tokens_per_s(SPEED_MODEL, reference, SPEED_DEVICES)
    return tokens_per_s(SPEED_MODEL, accelerator, SPEED_DEVICES) / ref if ref > 0 else 0.0


@dataclass(kw_only=True)
class SimCluster:
    """Pools the simulator runs jobs on, with WAN bandwidth between centers (bytes/s)."""

    name: str
    pools: list[PoolView]
    wan_bytes_per_s: dict[tuple[str, str], float] = field(default_factory=dict)
    currency: str = ""
    failure_multipliers: list[float] = field(default_factory=list)

    @property
    def devices(self) -> int:
        return sum(p.devices for p in self.pools)


def homogeneous(num_devices: int, *, accelerator: str = REFERENCE_ACCELERATOR,
                devices_per_node: int = 8, price_per_device_hour: float = 0.0) -> SimCluster:
    """One cluster of ``num_devices`` devices (``devices_per_node`` per node), speed 1.0."""
    if num_devices < 1:
        raise ConfigError(f"must be >= 1 (got {num_devices})", field="cluster-gpus")
    acc = get_accelerator(accelerator)
    pool = PoolView(name=f"cluster/{acc.name}", center="cluster", accelerator=acc.name,
                    devices=num_devices, devices_per_node=devices_per_node, speed=1.0,
                    price_per_device_hour=price_per_device_hour,
                    watts_per_device=acc.tdp_watts, pue=1.0)
    return SimCluster(name=f"{num_devices} x {acc.name}", pools=[pool])


def from_federation(fed: Federation, *, reference: str = REFERENCE_ACCELERATOR) -> SimCluster:
    """Pools of every center (CPU-only pools included: jobs may be constrained away from them)."""
    ref = get_accelerator(reference)
    pools = []
    mults = []
    for c in fed.centers:
        for p in c.pools:
            mults.append(p.failure_rate_multiplier)
            pools.append(PoolView(
                name=f"{c.name}/{p.accelerator.name}", center=c.name,
                accelerator=p.accelerator.name, devices=p.devices,
                devices_per_node=p.devices_per_node,
                speed=pool_speed(p.accelerator.name, ref.name),
                price_per_device_hour=p.price_per_device_hour,
                watts_per_device=p.watts_per_device, pue=c.pue, weight=p.weight))
    wan = {}
    for link in fed.links:
        bw = link.bits_per_s / 8.0
        wan[(link.a, link.b)] = bw
        wan[(link.b, link.a)] = bw
    return SimCluster(name=fed.name, pools=pools, wan_bytes_per_s=wan, currency=fed.currency,
                      failure_multipliers=mults)


def load_cluster(federation: str | None) -> SimCluster:
    """A federation file (None = the packaged demo federation) as a :class:`SimCluster`."""
    return from_federation(load_federation(federation))


def scaled_accelerator_pools(cluster: SimCluster, devices: int) -> SimCluster:
    """The cluster's accelerator pools (CPU-only pools dropped) scaled to about ``devices``
    devices in total, node counts rounded; for benchmarks at sizes no demo file has."""
    accel = [p for p in cluster.pools if p.speed >= 0.25]
    total = sum(p.devices for p in accel)
    if not accel or devices < 1:
        raise ConfigError("need at least one accelerator pool and >= 1 device", field="gpus")
    pools, mults = [], []
    for p in accel:
        nodes = max(1, round(p.devices / p.devices_per_node * devices / total))
        pools.append(replace(p, devices=nodes * p.devices_per_node))
        mults.append(cluster.failure_multipliers[cluster.pools.index(p)]
                     if cluster.failure_multipliers else 1.0)
    return SimCluster(name=f"{cluster.name} x{devices / total:.1f}", pools=pools,
                      wan_bytes_per_s=cluster.wan_bytes_per_s, currency=cluster.currency,
                      failure_multipliers=mults)
