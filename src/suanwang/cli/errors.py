"""Process boundary of the CLI: every error a user can cause becomes one line and exit code 2.

Click (vendored by Typer) handles its own usage errors in standalone mode (exit code 2 with a
usage message). Everything suanwang raises on purpose (:class:`SuanwangError`) is caught here,
and so are the input faults that slip past a loader: a file that is not text, a directory, a
missing or unreadable path, malformed YAML. An unexpected exception is a bug: it is reported in
one line naming the exception, with exit code 1 and the traceback only when
``SUANWANG_DEBUG=1``.
"""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console

from suanwang.core.errors import ConfigError, SuanwangError

EXIT_USAGE = 2
EXIT_BUG = 1


def _say(kind: str, message: str) -> None:
    Console(stderr=True, soft_wrap=True).print(f"[bold red]{kind}:[/] {message}", highlight=False)


def input_fault(exc: BaseException) -> str | None:
    """One line for an input fault a loader did not catch, or None when ``exc`` is no such fault."""
    import yaml

    if isinstance(exc, UnicodeDecodeError):
        return (f"input is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                f"{exc.start}); give a YAML, JSON or CSV text file")
    if isinstance(exc, IsADirectoryError):
        return f"'{exc.filename}' is a directory; give a file"
    if isinstance(exc, FileNotFoundError):
        return f"no such file: '{exc.filename}'"
    if isinstance(exc, PermissionError):
        return f"cannot read '{exc.filename}': permission denied"
    if isinstance(exc, yaml.YAMLError):
        return f"malformed YAML: {' '.join(str(exc).split())}"
    return None


def run_app(app: typer.Typer) -> None:
    try:
        app()
    except SuanwangError as exc:
        _say("config error" if isinstance(exc, ConfigError) else type(exc).__name__, str(exc))
        sys.exit(EXIT_USAGE)
    except Exception as exc:
        fault = input_fault(exc)
        if fault is not None:
            _say("input error", fault)
            sys.exit(EXIT_USAGE)
        if os.environ.get("SUANWANG_DEBUG"):
            raise
        _say("internal error", f"{type(exc).__name__}: {exc} (a bug in suanwang; "
             "set SUANWANG_DEBUG=1 for the traceback and report it)")
        sys.exit(EXIT_BUG)
