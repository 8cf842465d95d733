"""Click parameter types for quantities with units (``--deadline 30d``, ``--tokens 2T``).

They wrap :mod:`suanwang.core.quantity`, so the CLI, job files and the API accept the same forms,
and a bad value is a usage error (exit 2, one line) naming the option.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from suanwang.core.errors import ConfigError
from suanwang.core.quantity import parse_bytes, parse_count, parse_duration_s


class _Quantity(click.ParamType):
    def __init__(self, name: str, parse: Callable[..., float], *, positive: bool) -> None:
        self.name = name
        self._parse = parse
        self._positive = positive

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            return value
        try:
            out = self._parse(value, field=param.name if param else self.name)
        except ConfigError as exc:
            self.fail(exc.detail, param, ctx)
        if self._positive and out <= 0:
            self.fail(f"must be > 0 (got {value!r})", param, ctx)
        return out


DURATION = _Quantity("duration", parse_duration_s, positive=True)
"""Seconds; accepts 3600, 90s, 45min, 12h, 30d, 2w."""
COUNT = _Quantity("count", parse_count, positive=True)
"""A positive count; accepts 2e12, 1.5T, 500B, 5M, 300k."""
SIZE = _Quantity("size", parse_bytes, positive=True)
"""Bytes; accepts 1e9, 80GB, 64GiB."""
