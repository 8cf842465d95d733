"""How replicas in different centers stay in sync: the job file's ``sync:`` section.

::

    sync: {mode: diloco, centers: [0, 1], outer_every_steps: 20, outer_lr: 0.7,
           outer_momentum: 0.9, outer_bf16: false, wan_bits_per_s: 1.0e8, wan_latency_s: 0.03}

``mode: ddp`` averages gradients over every rank every step (across the WAN when ``centers`` spans
several centers); ``mode: diloco`` all-reduces gradients inside each center every step and, every
``outer_every_steps`` inner steps, averages the parameter deltas across centers and applies an
outer Nesterov SGD step (Douillard et al. 2023, "DiLoCo: Distributed Low-Communication Training
of Language Models", arXiv:2311.08105, Algorithm 1). ``centers`` gives each rank's center index
(empty: one center for ``ddp``; one center per rank for ``diloco``). ``wan_bits_per_s`` > 0
emulates the link between centers (``runtime/wan.py``). Pure: no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from suanwang.core.errors import ConfigError

SYNC_MODES = ("ddp", "diloco")


@dataclass(frozen=True, kw_only=True)
class SyncConfig:
    """Cross-center synchronisation; the defaults leave a job exactly as before (one center)."""

    mode: str = "ddp"
    centers: tuple[int, ...] = ()
    outer_every_steps: int = 20
    outer_lr: float = 0.7
    outer_momentum: float = 0.9
    outer_bf16: bool = False
    wan_bits_per_s: float = 0.0
    wan_latency_s: float = 0.0

    def check(self) -> None:
        if self.mode not in SYNC_MODES:
            raise ConfigError(f"'{self.mode}' is not one of {list(SYNC_MODES)}", entry="sync",
                              field="mode")
        if self.outer_every_steps < 1:
            raise ConfigError(f"must be >= 1 (got {self.outer_every_steps})", entry="sync",
                              field="outer_every_steps")
        if self.outer_lr <= 0:
            raise ConfigError(f"must be > 0 (got {self.outer_lr})", entry="sync",
                              field="outer_lr")
        if not 0 <= self.outer_momentum < 1:
            raise ConfigError(f"must be in [0, 1) (got {self.outer_momentum})", entry="sync",
                              field="outer_momentum")
        for name in ("wan_bits_per_s", "wan_latency_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"must be >= 0 (got {getattr(self, name)}); 0 disables the "
                                  "emulated link", entry="sync", field=name)
        if any(c < 0 for c in self.centers):
            raise ConfigError(f"center indices must be >= 0 (got {list(self.centers)})",
                              entry="sync", field="centers")

    def check_world(self, nproc: int) -> None:
        """``centers`` must name one center per rank, numbered 0..C-1 without gaps."""
        if self.centers and len(self.centers) != nproc:
            raise ConfigError(f"{len(self.centers)} center indices but nproc is {nproc}; give "
                              "one per rank", entry="sync", field="centers")
        if self.centers and sorted(set(self.centers)) != list(range(len(set(self.centers)))):
            raise ConfigError(f"number centers 0..C-1 without gaps (got {list(self.centers)})",
                              entry="sync", field="centers")

    @property
    def cross_center(self) -> bool:
        """True when the job needs the cross-center loop (``runtime/xc_train.py``)."""
        return self.mode == "diloco" or len(set(self.centers)) > 1

    def rank_centers(self, world: int) -> list[int]:
        """Center index of each rank (defaults as described in the module docstring)."""
        if self.centers:
            return list(self.centers)
        return list(range(world)) if self.mode == "diloco" else [0] * world
