"""An emulated wide-area link between centers, for collectives on a cross-center process group.

The kernel here has no ``netem``, so the link is emulated in user space by a *measured delay*:
each cross-center operation runs for real over gloo on loopback, its elapsed time is measured,
and the caller then sleeps until the operation has taken as long as the modelled link would take:

    transfer_s(n)      = latency_s + n / bytes_per_s                          (one message)
    all_reduce_s(n, C) = 2 (C - 1) * transfer_s(n / C)                        (ring, C centers)

The ring all-reduce (Patarasuk & Yuan 2009, "Bandwidth optimal all-reduce algorithms for
clusters of workstations") has each center send ``2 (C - 1) / C * n`` bytes in ``2 (C - 1)``
steps. If loopback itself is slower than the model (never, for these sizes), the real time
stands. Every rank of the group sleeps the same modelled time, so the ranks leave together.
Only collectives made through :class:`WanGroup` are slowed: traffic inside a center runs at
loopback speed, as it would on a center's fast fabric.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
import torch.distributed as dist


@dataclass(frozen=True, kw_only=True)
class WanLink:
    """Bandwidth in bytes/s and one-way latency in seconds (``bytes_per_s`` <= 0: no link)."""

    bytes_per_s: float
    latency_s: float

    @classmethod
    def from_bits(cls, bits_per_s: float, latency_s: float) -> WanLink:
        return cls(bytes_per_s=bits_per_s / 8.0, latency_s=latency_s)

    @property
    def emulated(self) -> bool:
        return self.bytes_per_s > 0

    def transfer_s(self, n_bytes: float) -> float:
        """Seconds for one message of ``n_bytes``: latency + size / bandwidth."""
        if not self.emulated:
            return 0.0
        return self.latency_s + n_bytes / self.bytes_per_s

    def all_reduce_s(self, n_bytes: float, centers: int) -> float:
        """Seconds for a ring all-reduce of ``n_bytes`` per center over ``centers`` centers."""
        if centers < 2:
            return 0.0
        return 2 * (centers - 1) * self.transfer_s(n_bytes / centers)


def all_reduce_egress_bytes(n_bytes: float, centers: int) -> float:
    """Bytes each center sends in a ring all-reduce of ``n_bytes``: ``2 (C-1)/C * n``."""
    return 0.0 if centers < 2 else 2 * (centers - 1) / centers * n_bytes


@dataclass(kw_only=True)
class WanGroup:
    """Collectives over ``pg`` (one leader rank per center) held to the link's modelled time.

    ``bytes_sent`` and ``seconds`` accumulate this rank's WAN egress bytes and time in
    WAN operations (including the emulation's sleeps).
    """

    link: WanLink
    pg: object | None
    centers: int
    bytes_sent: float = 0.0
    seconds: float = 0.0
    ops: int = field(default=0)

    def _hold(self, t0: float, target_s: float) -> None:
        left = t0 + target_s - time.perf_counter()
        if left > 0:
            time.sleep(left)
        self.seconds += time.perf_counter() - t0
        self.ops += 1

    def all_reduce(self, tensor: torch.Tensor) -> None:
        """Sum ``tensor`` over the centers' leaders, taking the link's ring all-reduce time."""
        t0 = time.perf_counter()
        n = tensor.numel() * tensor.element_size()
        if self.centers > 1:
            dist.all_reduce(tensor, group=self.pg)
            self.bytes_sent += all_reduce_egress_bytes(n, self.centers)
        self._hold(t0, self.link.all_reduce_s(n, self.centers))

    def transfer(self, tensor: torch.Tensor, *, src: int, dst: int, rank: int) -> None:
        """One message from global rank ``src`` to ``dst`` (both call it), in ``transfer_s``."""
        t0 = time.perf_counter()
        if rank == src:
            dist.send(tensor, dst, group=self.pg)
            self.bytes_sent += tensor.numel() * tensor.element_size()
        elif rank == dst:
            dist.recv(tensor, src, group=self.pg)
        self._hold(t0, self.link.transfer_s(tensor.numel() * tensor.element_size()))
