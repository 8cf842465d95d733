"""Option parsers for quantities with units (``--deadline 30d``, ``--tokens 2T``, ``--size 80GB``).

They wrap :mod:`suanwang.core.quantity`, so the CLI, job files and the API accept the same forms,
and a bad value is a usage error (exit 2, one line) naming the option. Use them as
``typer.Option(parser=COUNT, metavar="COUNT")``: Typer's vendored Click takes a ``parser``
callable (plain Click ``ParamType`` subclasses are not recognised by it).
"""

from __future__ import annotations

from collections.abc import Callable

import typer

from suanwang.core.errors import ConfigError
from suanwang.core.quantity import parse_bytes, parse_count, parse_duration_s


def _quantity(name: str, parse: Callable[..., float]) -> Callable[[str], float]:
    def convert(value: str | float) -> float:
        if isinstance(value, float):
            return value
        try:
            out = parse(value, field=name)
        except ConfigError as exc:
            raise typer.BadParameter(exc.detail) from None
        if out <= 0:
            raise typer.BadParameter(f"must be > 0 (got {value!r})")
        return out

    convert.__name__ = name
    return convert


DURATION = _quantity("duration", parse_duration_s)
"""Seconds (> 0); accepts 3600, 90s, 45min, 12h, 30d, 2w."""
COUNT = _quantity("count", parse_count)
"""A positive count; accepts 2e12, 1.5T, 500B, 5M, 300k."""
SIZE = _quantity("size", parse_bytes)
"""Bytes (> 0); accepts 1e9, 80GB, 64GiB."""

UNIT_FORMS = {
    "duration": "3600 | 90s | 45min | 12h | 30d | 2w",
    "count": "2e12 | 1.5T | 500B | 5M | 300k",
    "size": "1e9 | 80GB | 64GiB",
}
"""The forms each kind of quantity accepts, as the help texts and docs/cli.md quote them."""
