"""Process boundary of the CLI: a SuanwangError becomes one red line on stderr and exit code 2.

Click (vendored by Typer) handles its own usage errors in standalone mode (exit code 2 with a
usage message); everything suanwang raises on purpose is caught here.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from suanwang.core.errors import ConfigError, SuanwangError


def run_app(app: typer.Typer) -> None:
    try:
        app()
    except SuanwangError as exc:
        kind = "config error" if isinstance(exc, ConfigError) else type(exc).__name__
        Console(stderr=True, soft_wrap=True).print(f"[bold red]{kind}:[/] {exc}",
                                                   highlight=False)
        sys.exit(2)
