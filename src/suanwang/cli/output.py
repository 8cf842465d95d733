"""Shared CLI output: JSON to stdout, Rich tables for people, CSV for spreadsheets.

Tables stay readable at any width: when stdout is a terminal, cells wrap (never cut to "…") and
no column is squeezed below its longest word; when stdout is a pipe or a file, the table is laid
out at its natural width so nothing is cut and ``| cat``, ``| less -S`` or a log file read the
whole of every cell.
"""

from __future__ import annotations

import csv
import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()

MAX_MIN_WIDTH = 18
"""A column is never squeezed below min(longest word in it, this many characters)."""


def print_json(data: Any) -> None:
    """Machine-readable output: one JSON document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def print_csv(columns: list[str], rows: list[list[Any]]) -> None:
    """Spreadsheet output: a header and one CSV row per table row, values unformatted."""
    w = csv.writer(sys.stdout)
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])


def _min_width(header: str, cells: list[str]) -> int:
    words = [w for text in [header, *cells] for w in text.split()]
    return min(max((len(w) for w in words), default=1), MAX_MIN_WIDTH)


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """Print a Rich table; numeric columns right-aligned, cells wrapped rather than cut."""
    t = Table(title=title, header_style="bold cyan")
    cells = [[fmt(v) for v in r] for r in rows]
    widths = [_min_width(col, [c[i] for c in cells]) for i, col in enumerate(columns)]
    for i, col in enumerate(columns):
        numeric = bool(rows) and all(isinstance(r[i], int | float) for r in rows)
        t.add_column(col, justify="right" if numeric else "left", overflow="fold",
                     min_width=widths[i])
    for r in cells:
        t.add_row(*r)
    if not console.is_terminal:  # a pipe or a file: natural width, nothing wrapped or cut
        Console(width=100_000, no_color=True, soft_wrap=False).print(t)
    elif sum(widths) + 3 * len(widths) + 1 <= console.width:  # cells + padding + borders
        console.print(t)
    else:  # too narrow even with every cell wrapped: one block of "column: value" per row
        _records(title, columns, cells)


def _records(title: str, columns: list[str], cells: list[list[str]]) -> None:
    """The table as records, the layout of ``psql \\x``: readable at any width."""
    console.print(f"[bold]{title}[/]", highlight=False)
    pad = max((len(c) for c in columns), default=0)
    for n, row in enumerate(cells, 1):
        console.print(f"[dim]-- {n} --[/]", highlight=False)
        for col, cell in zip(columns, row, strict=True):
            console.print(f"[cyan]{col.ljust(pad)}[/] {cell}", highlight=False, soft_wrap=False)


def fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 1e4 or abs(value) < 1e-2:
            return f"{value:.3g}"
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)
