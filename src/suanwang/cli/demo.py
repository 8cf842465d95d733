"""``make demo``: the main flow on embedded defaults, each step a real ``suanwang`` command.

Steps whose command is not part of this build yet are listed as skipped, never faked.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.rule import Rule

console = Console()

# (title, argv after `suanwang`) in the order a user would go: what is there, where to train,
# with which parallelism, will it survive failures, can chips be pooled, how a queue of jobs
# fares on a real trace, and finally real training with injected failures on this machine.
HELIOS = Path(__file__).resolve().parents[3].parent / "shared/data/traces/helios_15k.csv"
STEPS: list[tuple[str, list[str]]] = [
    ("The federation: centers, chips, links", ["catalog", "centers"]),
    ("Where should I train Llama-3 70B on 2T tokens? (failure-aware time, cost, energy)",
     ["where", "-m", "llama3-70b", "--tokens", "2e12", "--max-devices", "2048", "--top", "8"]),
    ("Which parallelism on 1,024 H100?",
     ["plan", "--model", "llama3-70b", "--accelerator", "H100-SXM", "--gpus", "1024",
      "--tokens", "2e12", "--top", "5"]),
    ("Will a 16,384-GPU job survive its failures? (Llama-3-like rates)",
     ["reliability", "--accelerator", "H100-SXM", "--gpus", "16384", "--ckpt-stall-s", "0.78",
      "--restart-s", "600", "--persist-s", "3", "--target-ettr", "0.97"]),
    ("Can I pool H100 and A100 into one job?",
     ["pool", "-m", "llama3-70b", "--part", "beijing-ai:H100-SXM:512",
      "--part", "beijing-ai:A100-SXM-80GB:512"]),
    ("A real trace (Helios, 15k jobs) on 512 GPUs under three policies",
     ["simulate", "--trace", str(HELIOS), "--trace-format", "dirlab", "--cluster-gpus", "512",
      "--policy", "fifo,backfill,suanwang"]),
    ("Real training on this machine: 2 ranks, a rank killed every 10 s, automatic recovery",
     ["train", "examples/train-tiny.yaml", "--nproc", "2", "--steps", "120",
      "--fail-every-s", "10", "--run-dir", "runs/demo"]),
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
        if argv[0] == "simulate" and not HELIOS.exists():
            console.print(f"[yellow]skipped:[/] trace not found at {HELIOS} (clone with "
                          "../shared beside the repository)")
            continue
        if argv[0] == "train":
            shutil.rmtree("runs/demo", ignore_errors=True)  # a fresh run, not a resumed one
        console.print(f"$ suanwang {' '.join(argv)}", style="dim")
        start = time.perf_counter()
        rc = subprocess.call([sys.executable, "-m", "suanwang", *argv])
        console.print(f"[dim]({time.perf_counter() - start:.1f} s, exit {rc})[/]")
        failures += rc != 0
    console.print(Rule("[bold green]demo done[/]" if not failures else "[bold red]demo failed[/]"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
