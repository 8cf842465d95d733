"""Shared parsing of trace rows: typed fields with ConfigErrors that name file, line and field."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from pathlib import Path

from suanwang.core.errors import ConfigError


def open_text(path: str | Path):
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"trace file not found: {p} (check the --trace path)")
    return p.open(newline="", encoding="utf-8")


def csv_rows(path: str | Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) of a CSV with a header naming at least ``required``."""
    with open_text(path) as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            raise ConfigError(f"missing column(s) {', '.join(missing)}; the header has: "
                              f"{', '.join(header) or '(empty file)'}", file=str(path), line=1)
        for row in reader:
            if None in row or any(v is None for v in row.values()):
                raise ConfigError(f"expected {len(header)} comma-separated fields",
                                  file=str(path), line=reader.line_num)
            yield reader.line_num, row


def number(raw: str, *, file: str, line: int, field: str, integer: bool = False,
           minimum: float | None = 0.0) -> float:
    """Parse one numeric field; a bad value is a ConfigError at ``file:line`` naming ``field``.

    Non-finite values (``inf``, ``nan``) are rejected; with ``integer`` the value must be a
    whole number (``8`` or ``8.0``; ``2.5`` is an error, never truncated).
    """
    text = raw.strip()
    kind = "an integer" if integer else "a number"
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"expected {kind}, got {raw!r}", file=file, line=line,
                          field=field) from None
    if not math.isfinite(value):
        raise ConfigError(f"expected a finite number, got {raw!r}", file=file, line=line,
                          field=field)
    if integer:
        if not value.is_integer():
            raise ConfigError(f"expected {kind} (a count), got {raw!r}", file=file, line=line,
                              field=field)
        value = int(value)
    if minimum is not None and value < minimum:
        raise ConfigError(f"must be >= {minimum:g} (got {value:g})", file=file, line=line,
                          field=field)
    return value
