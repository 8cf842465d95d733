"""Straggler detection from per-rank step timings, and the split that adapts to them.

Every step, every rank reports (in the step's all-gather) ``arrive_s``: the seconds from the
start of the step until it reached the gradient synchronisation, i.e. its forward passes of all
``m`` micro-batches and the backward passes of all but the last (the last backward carries
DDP's all-reduce, so its duration includes waiting for the slowest rank). With a backward
costing about twice a forward (Kaplan et al. 2020, the 6N = 2N + 4N split of training FLOPs),
that is ``m - 2/3`` micro-batch units, so the rank's seconds per micro-batch are estimated as
``arrive_s / (m - 2/3)``.

A rank is a *straggler* when the median of its estimate over the last ``window`` steps is at
least ``ratio`` times the fastest rank's median (persistent, not one noisy step). Every rank
sees the same gathered numbers and runs the same detector, so every rank reaches the same
decision without another message. With ``data.adapt_split`` the micro-batches are re-dealt in
proportion to the measured speeds (``hetero.proportional_split``: the update stays exactly the
even-split one). Under FSDP the forward's all-gathers partly synchronise ranks before the
gradient step, so a straggler shows less there.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from suanwang.runtime.hetero import proportional_split

FORWARD_SHARE = 1 / 3  # forward = 2N of the 6N training FLOPs per token


def seconds_per_micro_batch(arrive_s: float, micro_batches: int) -> float:
    return arrive_s / max(micro_batches - (1 - FORWARD_SHARE), FORWARD_SHARE)


def _median(xs: Sequence[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


class StragglerDetector:
    """Feed per-rank seconds per micro-batch each step; ask who straggles."""

    def __init__(self, world: int, *, window: int = 8, ratio: float = 1.5) -> None:
        self.world, self.window, self.ratio = world, window, ratio
        self.samples: list[deque[float]] = [deque(maxlen=window) for _ in range(world)]
        self.flagged: set[int] = set()

    def reset(self) -> None:
        for d in self.samples:
            d.clear()

    def medians(self) -> list[float] | None:
        if self.world < 2 or len(self.samples[0]) < self.window:
            return None
        return [_median(d) for d in self.samples]

    def update(self, per_mb_s: Sequence[float]) -> tuple[list[tuple[int, float]], list[int]]:
        """Add one step; (newly flagged (rank, ratio) pairs, newly cleared ranks)."""
        for d, x in zip(self.samples, per_mb_s, strict=True):
            d.append(x)
        med = self.medians()
        if med is None:
            return [], []
        fastest = min(med)
        ratios = [m / fastest if fastest > 0 else 1.0 for m in med]
        now = {r for r, q in enumerate(ratios) if q >= self.ratio}
        new = [(r, ratios[r]) for r in sorted(now - self.flagged)]
        cleared = sorted(self.flagged - now)
        self.flagged = now
        return new, cleared

    def adapted_counts(self, total: int) -> list[int] | None:
        """Micro-batches per rank in proportion to measured speed (None before a full window)."""
        med = self.medians()
        if med is None or min(med) <= 0:
            return None
        return proportional_split(total, [1.0 / m for m in med])
