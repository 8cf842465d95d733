"""``make demo``: the main flow on embedded defaults, each step a real ``suanwang`` command.

Steps whose command is not part of this build yet are listed as skipped, never faked.
"""

from __future__ import annotations

import subprocess
import sys
import time

from rich.console import Console
from rich.rule import Rule

console = Console()

# (title, argv after `suanwang`) in the order a user would go: what is there, how fast, how
# reliable, where to schedule, then real training on this machine.
STEPS: list[tuple[str, list[str]]] = [
    ("The federation: centers, chips, links", ["catalog", "centers"]),
    ("The hardware catalog", ["catalog", "accelerators"]),
]


def _registered(command: str) -> bool:
    from typer.main import get_command

    from suanwang.cli.main import app

    return command in get_command(app).commands  # type: ignore[attr-defined]


def main() -> int:
    failures = 0
    for title, argv in STEPS:
        console.print(Rule(f"[bold]{title}[/]"))
        if not _registered(argv[0]):
            console.print(f"[yellow]skipped:[/] `suanwang {argv[0]}` is not in this build yet")
            continue
        console.print(f"$ suanwang {' '.join(argv)}", style="dim")
        start = time.perf_counter()
        rc = subprocess.call([sys.executable, "-m", "suanwang", *argv])
        console.print(f"[dim]({time.perf_counter() - start:.1f} s, exit {rc})[/]")
        failures += rc != 0
    console.print(Rule("[bold green]demo done[/]" if not failures else "[bold red]demo failed[/]"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
