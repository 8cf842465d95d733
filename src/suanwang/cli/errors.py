"""Process boundary of the CLI: a SuanwangError becomes one red line on stderr and exit code 2."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from suanwang.core.errors import ConfigError, SuanwangError


def run_app(app: typer.Typer) -> None:
    try:
        app(standalone_mode=False)
    except SuanwangError as exc:
        kind = "config error" if isinstance(exc, ConfigError) else type(exc).__name__
        Console(stderr=True, soft_wrap=True).print(f"[bold red]{kind}:[/] {exc}", highlight=False)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
