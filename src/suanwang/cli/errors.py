"""Process boundary of the CLI: every error a user can cause becomes one line and exit code 2.

Click's usage errors (vendored by Typer: unknown option, bad value or unit, a number past its
stated limit) are caught here too (the app runs with ``standalone_mode=False``) and said in one
line with a pointer to ``-h``, exit code 2; a bare ``suanwang`` still prints the help.
Everything suanwang raises on purpose (:class:`SuanwangError`) is caught here, and so are the
input faults that slip past a loader: a file that is not text, a directory, a
missing or unreadable path, malformed YAML. An unexpected exception is a bug: it is reported in
one line naming the exception, with exit code 1 and the traceback only when
``SUANWANG_DEBUG=1``.
"""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console
from rich.markup import escape

from suanwang.core.errors import ConfigError, SuanwangError

EXIT_USAGE = 2
EXIT_BUG = 1


def _say(kind: str, message: str) -> None:
    """One line on stderr; ``message`` is user text and is printed verbatim (never as markup)."""
    Console(stderr=True, soft_wrap=True).print(f"[bold red]{kind}:[/] {escape(message)}",
                                               highlight=False)


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


def _usage_error(exc) -> None:
    """A Click usage error (bad option, bad value, missing argument) in one line, exit 2."""
    from typer._click.exceptions import BadParameter, NoArgsIsHelpError

    if isinstance(exc, NoArgsIsHelpError):  # bare `suanwang` / `suanwang bench`: the help
        from typer import rich_utils

        rich_utils.rich_format_error(exc)
        sys.exit(exc.exit_code)
    ctx = getattr(exc, "ctx", None)
    hint = f" (see '{ctx.command_path} -h')" if ctx is not None else ""
    param = getattr(exc, "param", None)
    if isinstance(exc, BadParameter) and param is not None and param.opts:
        # the same shape as a ConfigError about a flag: "field '--tokens': must be > 0"
        text = f"field '{max(param.opts, key=len)}': {exc.message}"
    else:
        text = exc.format_message()
    _say("usage error", " ".join(text.split()) + hint)
    sys.exit(exc.exit_code)


def run_app(app: typer.Typer) -> None:
    from typer._click.exceptions import ClickException
    from typer.exceptions import Abort

    try:
        code = app(standalone_mode=False)  # Click's errors come here, to be said in one line
    except ClickException as exc:
        _usage_error(exc)
    except Abort:
        _say("aborted", "interrupted")
        sys.exit(130)
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
    if isinstance(code, int) and not isinstance(code, bool) and code:
        sys.exit(code)  # typer.Exit(code) / ctx.exit(code) come back as a return value
