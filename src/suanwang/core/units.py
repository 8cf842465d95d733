"""SI units and conversions. Quantities carry their unit in their name (``hbm_bytes``,
``link_bytes_per_s``); these constants convert the units people quote into SI base units."""

from __future__ import annotations

KB = 1e3
MB = 1e6
GB = 1e9
TB = 1e12
KiB = 1024.0
MiB = 1024.0**2
GiB = 1024.0**3
TiB = 1024.0**4

TFLOP = 1e12
PFLOP = 1e15

MINUTE_S = 60.0
HOUR_S = 3600.0
DAY_S = 86400.0

BITS_PER_BYTE = 8.0


def gbps_to_bytes_per_s(gbps: float) -> float:
    """Gigabits per second (network convention, 10^9 bit/s) -> bytes per second."""
    return gbps * 1e9 / BITS_PER_BYTE


def bytes_per_s_to_gbps(bytes_per_s: float) -> float:
    """Bytes per second -> gigabits per second."""
    return bytes_per_s * BITS_PER_BYTE / 1e9


def human_bytes(n_bytes: float) -> str:
    """Format a byte count with a binary prefix, e.g. ``80.0 GiB``."""
    value = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024.0 or unit == "PiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{value:.0f} B"
        value /= 1024.0
    raise AssertionError("unreachable")


def human_seconds(seconds: float) -> str:
    """Format a duration compactly: ``42 s``, ``3.5 min``, ``7.2 h``, ``12.0 d``."""
    s = float(seconds)
    if s < 120:
        return f"{s:.3g} s"
    if s < 2 * HOUR_S:
        return f"{s / MINUTE_S:.1f} min"
    if s < 2 * DAY_S:
        return f"{s / HOUR_S:.1f} h"
    return f"{s / DAY_S:.1f} d"
