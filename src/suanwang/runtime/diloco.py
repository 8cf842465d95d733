"""DiLoCo's outer optimizer and the process groups of a job spread over several centers.

Douillard et al. 2023, "DiLoCo: Distributed Low-Communication Training of Language Models"
(arXiv:2311.08105), Algorithm 1: every replica takes ``H`` inner AdamW steps from the shared
parameters ``theta``; then the pseudo-gradient ``delta = theta - theta_i`` is averaged over the
replicas and an outer Nesterov SGD step updates ``theta``; the replicas restart from it. Nesterov
momentum as in ``torch.optim.SGD(nesterov=True)`` (Sutskever et al. 2013):

    v     <- mu * v + delta
    theta <- theta - lr_out * (delta + mu * v)

Here one replica is one *center* (its ranks all-reduce gradients every inner step, so they hold
identical weights); only one leader rank per center talks over the WAN, then broadcasts the
result inside its center. ``delta`` may be sent in bf16 (half the WAN bytes; gloo then sums
in bf16, and the few control numbers riding along travel in fp32 in a message of their own).

The outer state (``theta`` and ``v``) lives in buffers of :class:`OuterState`, which the
cross-center checkpoint (``xc_checkpoint.py``) saves beside each center's weights and moments.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from suanwang.runtime.wan import WanGroup, WanLink


@dataclass(frozen=True, kw_only=True)
class CenterGroups:
    """This rank's center, its center's group and leader, and the leaders' cross-center group."""

    center: int
    centers: int
    center_pg: object
    center_ranks: tuple[int, ...]
    leader: int
    leaders_pg: object | None
    is_leader: bool

    @property
    def center_size(self) -> int:
        return len(self.center_ranks)


def make_groups(rank_centers: list[int], rank: int) -> CenterGroups:
    """Create (collectively, on every rank, in one order) one gloo group per center + leaders."""
    centers = max(rank_centers) + 1
    members = [tuple(r for r, c in enumerate(rank_centers) if c == k) for k in range(centers)]
    groups = [dist.new_group(list(m), backend="gloo") for m in members]
    leaders = [m[0] for m in members]
    leaders_pg = dist.new_group(leaders, backend="gloo")
    mine = rank_centers[rank]
    return CenterGroups(center=mine, centers=centers, center_pg=groups[mine],
                        center_ranks=members[mine], leader=members[mine][0],
                        leaders_pg=leaders_pg, is_leader=rank == members[mine][0])


def flat_grads(model: nn.Module) -> torch.Tensor:
    """Every parameter's gradient in one fp32 vector (zeros where a gradient is missing)."""
    return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
                      for p in model.parameters()])


def set_flat_grads(model: nn.Module, flat: torch.Tensor) -> None:
    i = 0
    for p in model.parameters():
        n = p.numel()
        p.grad = flat[i:i + n].view_as(p).clone()
        i += n


def hierarchical_all_reduce(flat: torch.Tensor, groups: CenterGroups, wan: WanGroup) -> None:
    """Sum ``flat`` over every rank: inside the center, then across centers over the WAN
    (leaders only), then back out from each leader to its center."""
    if groups.center_size > 1:
        dist.all_reduce(flat, group=groups.center_pg)
    if groups.is_leader:
        wan.all_reduce(flat)
    if groups.center_size > 1:
        dist.broadcast(flat, groups.leader, group=groups.center_pg)


class OuterState(nn.Module):
    """DiLoCo's outer state as buffers: ``anchor_i`` (theta) and ``momentum_i`` (v) per param."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        for i, p in enumerate(model.parameters()):
            self.register_buffer(f"anchor_{i}", p.detach().clone().float())
            self.register_buffer(f"momentum_{i}", torch.zeros_like(p, dtype=torch.float32))

    def anchors(self) -> list[torch.Tensor]:
        return [b for n, b in self.named_buffers() if n.startswith("anchor_")]

    def momenta(self) -> list[torch.Tensor]:
        return [b for n, b in self.named_buffers() if n.startswith("momentum_")]


def outer_step(model: nn.Module, outer: OuterState, groups: CenterGroups, wan: WanGroup, *,
               lr: float, momentum: float, bf16: bool, extra: torch.Tensor | None = None
               ) -> torch.Tensor | None:
    """Average the pseudo-gradient over centers, take the Nesterov step, reset every replica.

    ``extra`` (a small fp32 vector, e.g. the loss and stop flags) rides along in the same WAN
    message and comes back summed over centers. Returns that sum (or None).
    """
    params = list(model.parameters())
    anchors, moms = outer.anchors(), outer.momenta()
    delta = torch.cat([(a - p.detach().float()).reshape(-1) for a, p in zip(anchors, params,
                                                                            strict=True)])
    k = 0 if extra is None else extra.numel()
    both = delta if extra is None else torch.cat([delta, extra])
    if groups.is_leader:
        if bf16:  # the deltas travel in bf16; the few control numbers stay exact (own message)
            payload = delta.to(torch.bfloat16)
            wan.all_reduce(payload)
            both[:delta.numel()] = payload.float()
            if extra is not None:
                tail = both[delta.numel():].clone()
                wan.all_reduce(tail)
                both[delta.numel():] = tail
        else:
            wan.all_reduce(both)
    if groups.center_size > 1:
        dist.broadcast(both, groups.leader, group=groups.center_pg)
    delta = both[:both.numel() - k]
    extra = both[both.numel() - k:] if extra is not None else None
    delta /= groups.centers
    i = 0
    with torch.no_grad():
        for a, v, p in zip(anchors, moms, params, strict=True):
            d = delta[i:i + a.numel()].view_as(a)
            i += a.numel()
            v.mul_(momentum).add_(d)
            a.sub_(lr * (d + momentum * v))
            p.copy_(a)
    return extra


def wan_group(link: WanLink, groups: CenterGroups) -> WanGroup:
    return WanGroup(link=link, pg=groups.leaders_pg, centers=groups.centers)
