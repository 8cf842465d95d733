"""Shared CLI output: JSON to stdout, Rich tables for people."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()


def print_json(data: Any) -> None:
    """Machine-readable output: one JSON document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """Print a Rich table; numeric columns right-aligned."""
    t = Table(title=title, header_style="bold cyan")
    for i, col in enumerate(columns):
        numeric = bool(rows) and all(isinstance(r[i], int | float) for r in rows)
        t.add_column(col, justify="right" if numeric else "left")
    for r in rows:
        t.add_row(*[fmt(v) for v in r])
    console.print(t)


def fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 1e4 or abs(value) < 1e-2:
            return f"{value:.3g}"
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return str(value)
