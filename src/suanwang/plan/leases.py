"""Lease admission: is a pool's capacity free for a whole window, and if not, when is it?

Pure functions over busy intervals (other leases; running jobs from now to their predicted end)
of one pool with ``capacity`` devices. Times are seconds (any epoch); intervals are half-open
[start, end).

The devices in use over a window peak at the window's start or at the start of some interval
inside it (a step function only rises at interval starts), so :func:`peak` checks exactly those
points. :func:`earliest_start` tries the requested start and then every interval end after it,
in order: the first window that fits is the earliest, because the usage at any time only falls
at interval ends (a later start that fits while no end happened in between would contradict
the earlier candidate's failure only if usage fell, which it cannot).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Busy:
    """``devices`` in use over [start, end) (end may be ``math.inf``: no predicted end)."""

    start: float
    end: float
    devices: int


def in_use(busy: Iterable[Busy], t: float) -> int:
    """Devices in use at instant ``t``."""
    return sum(b.devices for b in busy if b.start <= t < b.end)


def peak(busy: list[Busy], start: float, end: float) -> int:
    """Most devices in use at any instant of [start, end)."""
    points = [start] + [b.start for b in busy if start < b.start < end]
    return max((in_use(busy, t) for t in points), default=0)


def fits(capacity: int, busy: list[Busy], start: float, end: float, devices: int) -> bool:
    """True if ``devices`` more fit under ``capacity`` for all of [start, end)."""
    return end > start and peak(busy, start, end) + devices <= capacity


def earliest_start(capacity: int, busy: list[Busy], start: float, duration: float,
                   devices: int) -> float | None:
    """The earliest t >= ``start`` with [t, t + duration) fitting ``devices``; None when it can
    never fit (more devices than the pool, or intervals without end holding too much)."""
    if devices > capacity or duration <= 0:
        return None
    for t in sorted({start} | {b.end for b in busy if start < b.end < math.inf}):
        if fits(capacity, busy, t, t + duration, devices):
            return t
    return None
