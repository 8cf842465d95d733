"""Quantities as people type them: ``30d``, ``90min``, ``5M``, ``2e12``, ``1.5T``, ``80GB``.

Each parser returns the SI base value (seconds, a plain count, bytes) or raises
:class:`~suanwang.core.errors.ConfigError` naming the field, the accepted forms and an example.
Decimal prefixes for counts (k = 10^3, M = 10^6, B/G = 10^9, T = 10^12, as token counts are
quoted); bytes accept both decimal (kB, MB, GB, TB) and binary (KiB, MiB, GiB, TiB) units.
"""

from __future__ import annotations

import math
import re

from suanwang.core.errors import ConfigError

DURATION_UNITS_S = {"": 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0,
                    "hr": 3600.0, "d": 86400.0, "day": 86400.0, "days": 86400.0,
                    "w": 604800.0, "week": 604800.0, "weeks": 604800.0}
COUNT_PREFIXES = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12,
                  "P": 1e15}
BYTE_UNITS = {"": 1.0, "B": 1.0, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
              "PB": 1e15, "KiB": 1024.0, "MiB": 1024.0**2, "GiB": 1024.0**3, "TiB": 1024.0**4}

_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]*)\s*$")


def _split(text: str | float | int, field: str, what: str, units: dict[str, float],
           example: str) -> float:
    if isinstance(text, bool):
        raise ConfigError(f"must be {what} (got {text!r}), e.g. {example}", field=field)
    if isinstance(text, int | float):
        value, unit = float(text), ""
    else:
        m = _NUMBER.match(str(text))
        if not m:
            raise ConfigError(f"must be {what} (got {text!r}), e.g. {example}", field=field)
        value, unit = float(m.group(1)), m.group(2)
    if unit not in units:
        known = ", ".join(u for u in units if u)
        raise ConfigError(f"unknown unit '{unit}' in {text!r}; use one of {known}, "
                          f"e.g. {example}", field=field)
    out = value * units[unit]
    if not math.isfinite(out):
        raise ConfigError(f"must be finite (got {text!r})", field=field)
    return out


def parse_duration_s(text: str | float | int, *, field: str = "duration") -> float:
    """Seconds from ``3600``, ``90s``, ``45min``, ``12h``, ``30d`` or ``2w``."""
    return _split(text, field, "a duration", DURATION_UNITS_S, "'30d', '12h' or '3600'")


def parse_count(text: str | float | int, *, field: str = "count") -> float:
    """A count from ``2e12``, ``500B`` (10^9), ``1.5T``, ``5M`` or ``300k``."""
    return _split(text, field, "a number", COUNT_PREFIXES, "'2e12', '1.5T' or '5M'")


def parse_bytes(text: str | float | int, *, field: str = "size") -> float:
    """Bytes from ``1e9``, ``80GB``, ``64GiB`` or ``512MiB``."""
    return _split(text, field, "a size", BYTE_UNITS, "'80GB', '64GiB' or '1e9'")
