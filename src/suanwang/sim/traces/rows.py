"""Shared parsing of trace rows: typed fields with ConfigErrors that name file, line and field."""

from __future__ import annotations

import csv
import difflib
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from suanwang.core.errors import ConfigError
from suanwang.core.textfile import text_lines, unreadable


@contextmanager
def open_text(path: str | Path) -> Iterator[Iterator[str]]:
    """The lines of a trace file; missing, unreadable or non-UTF-8 input is a ConfigError
    naming the file (and the line, for bytes that do not decode)."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError("is a directory; give a trace file (check the path given to "
                          "--trace or --traces)", file=str(p))
    if not p.is_file():
        raise ConfigError("trace file not found (check the path given to --trace or --traces)",
                          file=str(p))
    try:
        f = p.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise unreadable(exc, str(p), what="trace file") from None
    with f:
        yield text_lines(f, str(p), kind="a CSV or SWF trace")


def csv_rows(path: str | Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) of a CSV with a header naming at least ``required``."""
    with open_text(path) as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            raise ConfigError(f"missing column(s) {', '.join(missing)}{_typos(missing, header)}"
                              f"; the header has: {', '.join(header) or '(empty file)'}",
                              file=str(path), line=1)
        for row in reader:
            if None in row or any(v is None for v in row.values()):
                raise ConfigError(f"expected {len(header)} comma-separated fields",
                                  file=str(path), line=reader.line_num)
            yield reader.line_num, row


def _typos(missing: Sequence[str], header: Sequence[str]) -> str:
    """`` (did you mean 'gpu_num' for 'gpu_nums'?)``: header columns close to a missing one
    (extra columns are normal in published traces, so only near misses are named)."""
    pairs = []
    for col in missing:
        close = difflib.get_close_matches(col, [h for h in header if h not in missing], n=1,
                                          cutoff=0.8)
        if close:
            pairs.append(f"'{close[0]}' for '{col}'")
    return f" (did you mean {', '.join(pairs)}?)" if pairs else ""


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
