"""Placement with marketplace products: where attached software runs, what moving data costs.

A pure function of the federation, a job's plan (``control.planning``'s dict: ``{"devices",
"estimate_s", "pools": {"center/accelerator": {"time_s", "cost", "nodes", ...}}}``) and the
products the job attaches (:class:`Attachment`):

* **software** runs only where it is installed: pools at other centers are dropped;
* a **model** or **dataset** used away from its home center is copied over the WAN first:
  ``transfer_s = Σ size_bytes x 8 / B + L``, where B (bits/s) is the bottleneck bandwidth of the
  widest path between home and destination over the federation's links (a max-min path,
  computed with a Dijkstra variant: Pollack, "The maximum capacity through a network",
  Operations Research 8(5), 1960) and L the sum of the path's link latencies; the copies share
  that path one after the other. ``transfer_s`` is added to the pool's ``time_s`` and the
  transfer charge ``Σ size_GB x price_per_GB`` to its ``cost``, so a cheaper center far from the
  data can lose. A center with no path to a home center cannot host the job.

GB = 10^9 bytes (the unit network providers bill in).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from suanwang.core.errors import InfeasibleError
from suanwang.core.federation import Federation

GB = 10**9


@dataclass(frozen=True)
class Attachment:
    """A product a job attaches. ``centers``: where software is installed; ``home_center`` and
    ``size_bytes``: where a model/dataset lives and how big it is; ``transfer_price_per_gb``:
    the WAN price (currency per GB) to the destination, from the price list."""

    name: str
    kind: str
    centers: tuple[str, ...] = ()
    home_center: str | None = None
    size_bytes: int = 0
    transfer_price_per_gb: Decimal = Decimal(0)


def widest_path(fed: Federation, src: str, dst: str) -> tuple[float, float] | None:
    """(bottleneck bits/s, total latency s) of the widest path src -> dst, ties broken by lower
    latency; (inf, 0) when src == dst; None when no path exists."""
    if src == dst:
        return float("inf"), 0.0
    best: dict[str, tuple[float, float]] = {src: (float("inf"), 0.0)}
    heap: list[tuple[float, float, str]] = [(-float("inf"), 0.0, src)]
    done: set[str] = set()
    while heap:
        neg_bw, lat, node = heapq.heappop(heap)
        if node in done:
            continue
        done.add(node)
        if node == dst:
            return -neg_bw, lat
        for link in fed.links:
            if node not in (link.a, link.b):
                continue
            other = link.b if link.a == node else link.a
            cand = (min(-neg_bw, link.bits_per_s), lat + link.latency_s)
            old = best.get(other)
            if old is None or cand[0] > old[0] or (cand[0] == old[0] and cand[1] < old[1]):
                best[other] = cand
                heapq.heappush(heap, (-cand[0], cand[1], other))
    return None


def transfer_to(fed: Federation, attachments: list[Attachment], center: str
                ) -> tuple[float, Decimal, Decimal] | None:
    """(seconds, GB moved, transfer charge) to bring the data products to ``center``; None when
    some home center has no path to it."""
    seconds, gb, charge = 0.0, Decimal(0), Decimal(0)
    for a in attachments:
        if a.kind == "software" or not a.home_center or a.home_center == center:
            continue
        path = widest_path(fed, a.home_center, center)
        if path is None:
            return None
        bps, latency = path
        seconds += a.size_bytes * 8 / bps + latency
        size = Decimal(a.size_bytes) / GB
        gb += size
        charge += size * a.transfer_price_per_gb
    return seconds, gb, charge


def apply_products(fed: Federation, plan: dict[str, Any], attachments: list[Attachment]
                   ) -> dict[str, Any]:
    """A copy of ``plan`` honouring ``attachments`` (module doc): pools where the software is
    missing or the data cannot reach are dropped; the others get ``transfer_s``,
    ``transfer_gb`` and ``transfer_cost`` (str Decimal) and the transfer added to ``time_s`` /
    ``cost``. Raises InfeasibleError (naming the products) when no pool remains."""
    if not attachments:
        return plan
    pools: dict[str, dict[str, Any]] = {}
    for key, p in plan["pools"].items():
        center = key.split("/", 1)[0]
        if any(a.kind == "software" and center not in a.centers for a in attachments):
            continue
        moved = transfer_to(fed, attachments, center)
        if moved is None:
            continue
        seconds, gb, charge = moved
        pools[key] = {**p, "time_s": float(p["time_s"]) + seconds,
                      "cost": float(p.get("cost", 0.0)) + float(charge), "transfer_s": seconds,
                      "transfer_gb": str(gb), "transfer_cost": str(charge)}
    if not pools:
        soft = [f"{a.name} (installed at {', '.join(a.centers) or 'no center'})"
                for a in attachments if a.kind == "software"]
        raise InfeasibleError("no allowed pool can run the job with its products: "
                              + ("; ".join(soft) or "the data cannot reach any allowed center"))
    return {**plan, "pools": pools, "products": [a.name for a in attachments]}
