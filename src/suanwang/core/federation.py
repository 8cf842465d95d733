"""Centers, the WAN links between them, and the federation that groups them."""

from __future__ import annotations

from dataclasses import dataclass

from suanwang.core.errors import ConfigError, NotFoundError
from suanwang.core.hardware import NodePool

CENTER_KINDS = ("supercomputing", "ai")
BACKENDS = ("local", "slurm", "sim")


@dataclass(frozen=True, kw_only=True)
class SlurmSite:
    """How to reach and use one Slurm cluster (a ``backend: slurm`` center's ``slurm:`` section).

    ``slurm_conf``: path of the cluster's slurm.conf, exported as ``SLURM_CONF`` to every client
    command (empty: the client default). ``ssh_host``: run the client commands on this login
    node via ``ssh`` (empty: on this machine). ``partition``/``account``/``qos``: sbatch's
    ``--partition``/``--account``/``--qos`` (empty: the cluster default). ``gres``: accelerator
    name -> GRES request per node without the count (``"gpu"`` or ``"gpu:h100"``); accelerators
    not listed are CPU pools (a device is a CPU core). ``python``: the interpreter that runs
    ``python -m suanwang.runtime`` on the compute nodes (empty: the controller's own).
    ``setup``: shell lines run first in every job script (``module load ...``).
    ``ssh_options``: extra ``ssh`` arguments before the host (``-i KEY``, ``-J JUMP``,
    ``-o UserKnownHostsFile=...``); ``ssh_host`` may also be ``ssh://user@host:port``.
    ``release_requeued``: after Slurm requeues a job (node failure) it holds it ~120 s
    (BeginTime); when true the backend releases it with ``scontrol update StartTime=now``.
    """

    slurm_conf: str = ""
    ssh_host: str = ""
    partition: str = ""
    account: str = ""
    qos: str = ""
    gres: tuple[tuple[str, str], ...] = ()
    python: str = ""
    setup: tuple[str, ...] = ()
    release_requeued: bool = False
    ssh_options: tuple[str, ...] = ()

    def gres_for(self, accelerator: str) -> str:
        """The GRES name for ``accelerator`` ('' for a CPU pool)."""
        return dict(self.gres).get(accelerator, "")

    def to_dict(self) -> dict:
        return {"slurm_conf": self.slurm_conf, "ssh_host": self.ssh_host,
                "partition": self.partition, "account": self.account, "qos": self.qos,
                "gres": dict(self.gres), "python": self.python, "setup": list(self.setup),
                "release_requeued": self.release_requeued,
                "ssh_options": list(self.ssh_options)}


@dataclass(frozen=True, kw_only=True)
class Center:
    """A computing center: node pools, storage, power, price and the backend that runs its jobs.

    ``storage_write_bytes_per_s`` is the aggregate checkpoint-write bandwidth of its parallel
    file system; ``pue`` the power usage effectiveness (facility power / IT power).
    """

    name: str
    kind: str
    city: str
    backend: str
    pools: tuple[NodePool, ...]
    storage_write_bytes_per_s: float
    pue: float
    failure_rate_multiplier: float = 1.0
    energy_price_per_kwh: float = 0.0
    notes: str = ""
    slurm: SlurmSite | None = None

    @property
    def devices(self) -> int:
        return sum(p.devices for p in self.pools)

    def pool(self, accelerator_name: str) -> NodePool:
        for p in self.pools:
            if p.accelerator.name == accelerator_name:
                return p
        raise NotFoundError(f"center '{self.name}' has no '{accelerator_name}' pool")

    def to_dict(self) -> dict:
        return {
            "name": self.name, "kind": self.kind, "city": self.city, "backend": self.backend,
            "pools": [p.to_dict() for p in self.pools],
            "storage_write_bytes_per_s": self.storage_write_bytes_per_s, "pue": self.pue,
            "failure_rate_multiplier": self.failure_rate_multiplier,
            "energy_price_per_kwh": self.energy_price_per_kwh, "notes": self.notes,
            **({"slurm": self.slurm.to_dict()} if self.slurm else {}),
        }


@dataclass(frozen=True, kw_only=True)
class Link:
    """A wide-area link between two centers (symmetric)."""

    a: str
    b: str
    bits_per_s: float
    latency_s: float

    def joins(self, x: str, y: str) -> bool:
        return {self.a, self.b} == {x, y}

    def to_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "bits_per_s": self.bits_per_s,
                "latency_s": self.latency_s}


@dataclass(frozen=True, kw_only=True)
class Federation:
    """All centers and links; names are unique (checked by the loader)."""

    name: str
    currency: str
    centers: tuple[Center, ...]
    links: tuple[Link, ...] = ()

    def center(self, name: str) -> Center:
        for c in self.centers:
            if c.name == name:
                return c
        known = ", ".join(c.name for c in self.centers)
        raise NotFoundError(f"no center named '{name}'; known centers: {known}")

    def link(self, a: str, b: str) -> Link | None:
        if a == b:
            return None
        for link in self.links:
            if link.joins(a, b):
                return link
        return None

    @property
    def devices(self) -> int:
        return sum(c.devices for c in self.centers)

    def validate(self) -> None:
        names = [c.name for c in self.centers]
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ConfigError(f"duplicate center name(s): {', '.join(dup)}", field="name")

    def to_dict(self) -> dict:
        return {"name": self.name, "currency": self.currency,
                "centers": [c.to_dict() for c in self.centers],
                "links": [link.to_dict() for link in self.links]}
