"""Every command that reads a file or a number fails on bad input with one line and exit 2.

Each case runs the real CLI entry point, ``suanwang.cli.main.main`` (so the process boundary in
``suanwang.cli.errors`` is what is tested), in this process for speed, and checks: exit code 2,
no traceback, a message on stderr, and an answer within 10 s (the bound issue #16 states).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def _files(tmp: Path) -> dict[str, Path]:
    rand = tmp / "random.bin"
    rand.write_bytes(bytes(range(256)) * 8)
    empty = tmp / "empty.yaml"
    empty.write_text("")
    folder = tmp / "folder"
    folder.mkdir()
    return {"random": rand, "empty": empty, "dir": folder, "missing": tmp / "nope.yaml"}


# (command prefix, how the file is given); the file replaces "{}".
FILE_COMMANDS = [
    ["predict", "{}"],
    ["validate", "{}"],
    ["train", "{}"],
    ["catalog", "centers", "-f", "{}"],
    ["catalog", "accelerators", "-f", "{}"],
    ["catalog", "models", "-f", "{}"],
    ["simulate", "--trace", "{}", "--cluster-gpus", "16", "--policy", "fifo"],
    ["simulate", "--trace-format", "synthetic", "--jobs", "10", "--federation", "{}"],
]


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    elapsed_s: float


def run_cli(args: list[str], capfd, monkeypatch) -> Outcome:
    from suanwang.cli.main import main

    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("SUANWANG_DEBUG", raising=False)
    monkeypatch.setattr(sys, "argv", ["suanwang", *args])
    t0 = time.monotonic()
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    elapsed = time.monotonic() - t0
    out = capfd.readouterr()
    return Outcome(code, out.out, out.err, elapsed)


def assert_one_line_error(out: Outcome) -> None:
    assert out.code == 2, (out.code, out.stdout[-500:], out.stderr[-2000:])
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout, out.stderr[-2000:]
    assert out.stderr.strip(), "no message on stderr"
    # Issue #16's bound is 10 s on an idle machine; the guard here is looser because test
    # machines are shared: it catches hangs and unbounded work, not slowness.
    assert out.elapsed_s < 30.0, f"took {out.elapsed_s:.1f} s"


@pytest.mark.parametrize("kind", ["random", "empty", "dir", "missing"])
@pytest.mark.parametrize("command", FILE_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_bad_files(tmp_path, capfd, monkeypatch, command, kind):
    monkeypatch.chdir(REPO)
    path = _files(tmp_path)[kind]
    args = [str(path) if a == "{}" else a for a in command]
    assert_one_line_error(run_cli(args, capfd, monkeypatch))


NUMBER_CASES = [
    ["plan", "--model", "llama3-70b", "--accelerator", "H100-SXM", "--gpus", "-8"],
    ["plan", "--model", "llama3-70b", "--accelerator", "H100-SXM", "--gpus", "0"],
    ["plan", "--model", "llama3-70b", "--accelerator", "H100-SXM", "--gpus", "abc"],
    ["where", "--model", "llama3-8b", "--tokens", "-1"],
    ["where", "--model", "llama3-8b", "--tokens", "0"],
    ["reliability", "--accelerator", "H100-SXM", "--gpus", "-1", "--ckpt-stall-s", "1"],
    ["reliability", "--accelerator", "H100-SXM", "--gpus", "1000000000000",
     "--ckpt-stall-s", "1"],
    ["simulate", "--trace-format", "synthetic", "--jobs", "-5", "--cluster-gpus", "16"],
    ["simulate", "--trace-format", "synthetic", "--jobs", "10", "--cluster-gpus", "0"],
    # Absurdly large: answered within seconds (work bounded by structure, or a stated limit).
    ["plan", "--model", "llama3-70b", "--accelerator", "H100-SXM", "--gpus", "1000000000000"],
    ["simulate", "--trace-format", "synthetic", "--jobs", "1000000000000",
     "--cluster-gpus", "16"],
    ["simulate", "--trace-format", "synthetic", "--jobs", "10",
     "--cluster-gpus", "1000000000000"],
    ["bench", "sim", "--jobs", "1000000000000"],
    ["bench", "sim", "--gpus", "1000000000000"],
]


@pytest.mark.parametrize("args", NUMBER_CASES, ids=lambda a: " ".join(a[:1] + a[-2:]))
def test_bad_numbers(capfd, monkeypatch, args):
    assert_one_line_error(run_cli(args, capfd, monkeypatch))
