"""Sync DDP vs DiLoCo for one job whose replicas sit in different centers joined by a WAN link.

Both modes compute the same per-step work; they differ in what crosses the link:

* sync DDP: every step a ring all-reduce of the gradients (``grad_bytes_per_param`` x params);
* DiLoCo (Douillard et al. 2023, "DiLoCo: Distributed Low-Communication Training of Language
  Models", arXiv:2311.08105, Algorithm 1): every ``H`` steps a ring all-reduce of the parameter
  deltas (4 bytes/param, 2 when sent in bf16); inside a center gradients are still all-reduced
  every step, over the center's own fabric.

Ring all-reduce of ``n`` bytes over ``C`` centers (Patarasuk & Yuan 2009): ``2 (C - 1)`` steps,
each sending ``n / C`` bytes, so each center sends ``2 (C - 1) / C * n`` bytes and it takes

    allreduce_s = 2 (C - 1) * (latency_s + n / (C * link_bytes_per_s))

The exchange is counted as not overlapped with compute (as ``plan/pooled.py`` does). Step times:

    ddp_step_s    = compute_s + allreduce_s(grad bytes)
    diloco_step_s = compute_s + allreduce_s(delta bytes) / H          (amortised over H steps)

Convergence caveat (not modelled as a number): DiLoCo trades communication for optimisation
quality. Douillard et al. 2023 (Section 3, ablations over the number of inner steps H and of
replicas) report that the loss at equal tokens degrades as H grows, and more so with more
replicas; Charles et al. 2025 ("Communication-Efficient Language Model Training Scales Reliably
and Robustly: Scaling Laws for DiLoCo", arXiv:2503.09799) fit how the gap shrinks with model
size. So plan extra tokens (or a smaller H) when the loss target is tight; ``suanwang bench wan``
measures the gap for the tiny model.
"""

from __future__ import annotations

from dataclasses import dataclass

from suanwang.core.errors import ConfigError

CAVEAT = ("DiLoCo reaches a somewhat higher loss than sync DDP at equal tokens, growing with H "
          "and with the number of replicas (Douillard et al. 2023, arXiv:2311.08105, Sec. 3 "
          "ablations; scaling: Charles et al. 2025, arXiv:2503.09799): budget extra tokens or a "
          "smaller H when the loss target is tight.")


def ring_all_reduce_s(n_bytes: float, centers: int, *, link_bytes_per_s: float,
                      latency_s: float) -> float:
    """Seconds for a ring all-reduce of ``n_bytes`` over ``centers`` centers (see module doc)."""
    if centers < 2:
        return 0.0
    return 2 * (centers - 1) * (latency_s + n_bytes / (centers * link_bytes_per_s))


def ring_egress_bytes(n_bytes: float, centers: int) -> float:
    """Bytes each center sends over the WAN in one ring all-reduce of ``n_bytes``."""
    return 0.0 if centers < 2 else 2 * (centers - 1) / centers * n_bytes


@dataclass(frozen=True, kw_only=True)
class SyncPrediction:
    """One sync mode's step time (s), WAN bytes sent per center per step, and tokens/s."""

    mode: str
    step_time_s: float
    wan_bytes_per_step: float
    wan_s_per_step: float
    tokens_per_s: float

    def to_dict(self) -> dict:
        return {"mode": self.mode, "step_time_s": self.step_time_s,
                "wan_bytes_per_step": self.wan_bytes_per_step,
                "wan_s_per_step": self.wan_s_per_step, "tokens_per_s": self.tokens_per_s}


@dataclass(frozen=True, kw_only=True)
class CrossCenterPlan:
    ddp: SyncPrediction
    diloco: SyncPrediction
    outer_every_steps: int
    link_bits_per_s: float
    latency_s: float
    centers: int
    caveat: str = CAVEAT

    @property
    def diloco_speedup(self) -> float:
        return self.diloco.tokens_per_s / self.ddp.tokens_per_s

    def to_dict(self) -> dict:
        return {"ddp": self.ddp.to_dict(), "diloco": self.diloco.to_dict(),
                "outer_every_steps": self.outer_every_steps,
                "link_bits_per_s": self.link_bits_per_s, "latency_s": self.latency_s,
                "centers": self.centers, "diloco_speedup": self.diloco_speedup,
                "caveat": self.caveat}


def plan_sync(*, params: float, compute_s: float, tokens_per_step: float, centers: int,
              link_bits_per_s: float, latency_s: float, outer_every_steps: int = 20,
              grad_bytes_per_param: float = 2.0, delta_bytes_per_param: float = 4.0
              ) -> CrossCenterPlan:
    """Predict sync DDP and DiLoCo over one WAN link.

    ``compute_s``: one step's time without the WAN (compute + in-center sync), seconds;
    ``tokens_per_step``: tokens over all centers per step. Raises :class:`ConfigError` naming
    the argument on non-positive inputs.
    """
    for name, value in (("params", params), ("compute_s", compute_s),
                        ("tokens_per_step", tokens_per_step),
                        ("link_bits_per_s", link_bits_per_s),
                        ("outer_every_steps", outer_every_steps),
                        ("grad_bytes_per_param", grad_bytes_per_param),
                        ("delta_bytes_per_param", delta_bytes_per_param)):
        if value <= 0:
            raise ConfigError(f"must be > 0 (got {value})", field=name)
    if latency_s < 0:
        raise ConfigError(f"must be >= 0 (got {latency_s})", field="latency_s")
    if centers < 2:
        raise ConfigError(f"cross-center sync needs >= 2 centers (got {centers})",
                          field="centers")
    bw = link_bits_per_s / 8.0

    def mode(name: str, payload: float, every: int) -> SyncPrediction:
        wan_s = ring_all_reduce_s(payload, centers, link_bytes_per_s=bw,
                                  latency_s=latency_s) / every
        step = compute_s + wan_s
        return SyncPrediction(mode=name, step_time_s=step,
                              wan_bytes_per_step=ring_egress_bytes(payload, centers) / every,
                              wan_s_per_step=wan_s, tokens_per_s=tokens_per_step / step)

    return CrossCenterPlan(
        ddp=mode("ddp", grad_bytes_per_param * params, 1),
        diloco=mode("diloco", delta_bytes_per_param * params, outer_every_steps),
        outer_every_steps=outer_every_steps, link_bits_per_s=link_bits_per_s,
        latency_s=latency_s, centers=centers)
