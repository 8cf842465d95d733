"""Shared CLI output: JSON to stdout, Rich tables for people, CSV for spreadsheets.

Tables stay readable at any width: when stdout is a terminal, cells wrap (never cut to "…") and
no column is squeezed below its longest word; when stdout is a pipe or a file, the table is laid
out at its natural width so nothing is cut and ``| cat``, ``| less -S`` or a log file read the
whole of every cell.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)
"""Progress and status for people: on stderr, so ``--json`` and ``--csv`` on stdout stay clean."""

_CSV = {"on": False, "tables": 0}


def _csv_mode(value: bool) -> bool:
    """``--csv``: every :func:`table` becomes CSV on stdout; notes move to stderr."""
    _CSV["on"] = bool(value)
    _CSV["tables"] = 0
    console.file = sys.stderr if value else None  # None: follow sys.stdout
    return value


def csv_mode() -> bool:
    """True while ``--csv`` is on: a table with human-formatted values (``2.1 d``, ``98.8%``)
    may then give plain numbers with a unit column instead."""
    return _CSV["on"]


def reset_modes() -> None:
    """Back to tables on stdout (each command starts here; matters for in-process runs)."""
    _csv_mode(False)


CsvOpt = Annotated[bool, typer.Option(
    "--csv", callback=_csv_mode, help="Print the table as CSV (header + rows, unformatted "
    "numbers) for spreadsheets; notes go to stderr.")]
"""Add ``csv_: CsvOpt = False`` to a command that prints tables (the callback does the rest)."""


@contextmanager
def working(label: str, *, quiet: bool = False) -> Iterator[None]:
    """A spinner with elapsed time on stderr while long work runs (nothing when ``quiet`` or
    when stderr is not a terminal)."""
    if quiet or not err_console.is_terminal:
        yield
        return
    with err_console.status(f"{label}…"):
        yield

MAX_MIN_WIDTH = 18
"""A column is never squeezed below min(longest word in it, this many characters)."""


def print_json(data: Any) -> None:
    """Machine-readable output: one JSON document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def print_csv(columns: list[str], rows: list[list[Any]]) -> None:
    """Spreadsheet output: a header and one CSV row per table row, values unformatted; a
    command that prints several tables separates them with one empty line."""
    w = csv.writer(sys.stdout)
    if _CSV["tables"]:
        w.writerow([])
    _CSV["tables"] += 1
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if v is None else _plain(v) for v in r])


_GROUPED = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d+)?")


def _plain(value: Any) -> Any:
    """A number a table pre-formatted for people ("151,175") back to a plain one ("151175")."""
    if isinstance(value, str) and _GROUPED.fullmatch(value):
        return value.replace(",", "")
    return value


def _min_width(header: str, cells: list[str]) -> int:
    words = [w for text in [header, *cells] for w in text.split()]
    return min(max((len(w) for w in words), default=1), MAX_MIN_WIDTH)


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """Print a Rich table; numeric columns right-aligned, cells wrapped rather than cut.
    With ``--csv`` (:data:`CsvOpt`) the same rows go out as CSV instead."""
    if _CSV["on"]:
        print_csv(columns, rows)
        return
    t = fitted_table(title, columns, rows)
    cells = [[fmt(v) for v in r] for r in rows]
    if not console.is_terminal:  # a pipe or a file: natural width, nothing wrapped or cut
        t.title_justify = "left"  # centred over a wide table, line 1 would start blank
        Console(width=100_000, no_color=True, soft_wrap=False).print(t)
    elif _fits(t, [columns, *cells], console.width):
        console.print(t)
    else:  # too narrow even with every cell wrapped: one block of "column: value" per row
        _records(title, columns, cells)


def _fits(t: Table, cells: list[list[str]], width: int) -> bool:
    """Whether ``t`` rendered at ``width`` keeps every word of every cell whole (Rich shrinks
    columns below their min_width and crops the right edge when a table cannot fit)."""
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, force_terminal=False).print(t)
    words = set(buf.getvalue().split())
    return all(w in words for row in cells for cell in row for w in cell.split())


def fitted_table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    """The Rich table :func:`table` prints, for callers that render it themselves (``Live``):
    no column is squeezed below its longest word (capped), cells fold instead of being cut."""
    t = Table(title=title, header_style="bold cyan")
    cells = [[fmt(v) for v in r] for r in rows]
    for i, col in enumerate(columns):
        numeric = bool(rows) and all(isinstance(r[i], int | float) for r in rows)
        t.add_column(col, justify="right" if numeric else "left", overflow="fold",
                     min_width=_min_width(col, [c[i] for c in cells]))
    for r in cells:
        t.add_row(*r)
    return t


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
