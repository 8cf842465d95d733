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
    unknown = tmp / "unknown.yaml"
    unknown.write_text("zzz_not_a_key: 1\n")
    wrong = tmp / "wrong.yaml"
    wrong.write_text("- a list\n- where a mapping belongs\n")
    return {"random": rand, "empty": empty, "dir": folder, "missing": tmp / "nope.yaml",
            "unknown": unknown, "wrong_type": wrong}


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
    ["simulate", "--trace", "{}", "--trace-format", "swf", "--cluster-gpus", "16"],
    ["simulate", "--trace", "{}", "--trace-format", "alibaba2023", "--cluster-gpus", "16"],
    ["where", "{}"],
    ["where", "--model", "llama3-8b", "--tokens", "1e9", "--federation", "{}"],
    ["where", "--model", "{}", "--tokens", "1e9"],
    ["plan", "--model", "{}", "--accelerator", "H100-SXM", "--gpus", "8"],
    ["plan", "--model", "llama3-8b", "--accelerator", "H100-SXM", "--gpus", "8",
     "--accelerators", "{}"],
    ["pool", "--model", "llama3-8b", "--part", "beijing-ai:H100-SXM:8",
     "--part", "shanghai-ai:H800:8", "--federation", "{}"],
    ["reliability", "--accelerator", "H100-SXM", "--gpus", "8", "--model", "llama3-8b",
     "--center", "beijing-ai", "--federation", "{}"],
    ["validate", "../shared/data/published_runs.csv", "{}"],
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
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr  # one line, usage errors too
    # Issue #16's bound is 10 s on an idle machine; the guard here is looser because test
    # machines are shared: it catches hangs and unbounded work, not slowness.
    assert out.elapsed_s < 30.0, f"took {out.elapsed_s:.1f} s"


@pytest.mark.parametrize("kind", ["random", "empty", "dir", "missing", "unknown", "wrong_type"])
@pytest.mark.parametrize("command", FILE_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_bad_files(tmp_path, capfd, monkeypatch, command, kind):
    monkeypatch.chdir(REPO)
    path = _files(tmp_path)[kind]
    args = [str(path) if a == "{}" else a for a in command]
    out = run_cli(args, capfd, monkeypatch)
    assert_one_line_error(out)
    # The message names the file (unwrapped: Rich may fold a long path across lines).
    assert path.name in "".join(out.stderr.split()), out.stderr


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
    # Not finite, negative or empty (a NaN scheduling interval used to hang the event loop).
    *(["simulate", "--trace-format", "synthetic", "--jobs", "10", "--cluster-gpus", "16",
       *bad] for bad in (["--sched-interval", "nan"], ["--sched-interval", "inf"],
                         ["--sched-interval", "-1"], ["--seed", "-1"], ["--load", "inf"],
                         ["--policy", ","], ["--plot", str(REPO / "README.md")])),
    ["simulate", "--trace-format", "bogus", "--cluster-gpus", "16"],
    ["bench", "sim", "--sched-interval", "nan"],
    ["bench", "sim", "--seed", "-1"],
    # Absurdly large: answered within seconds (work bounded by structure, or a stated limit).
    ["plan", "--model", "llama3-70b", "--accelerator", "H100-SXM", "--gpus", "1000000000000"],
    ["simulate", "--trace-format", "synthetic", "--jobs", "1000000000000",
     "--cluster-gpus", "16"],
    ["simulate", "--trace-format", "synthetic", "--jobs", "10",
     "--cluster-gpus", "1000000000000"],
    ["bench", "sim", "--jobs", "1000000000000"],
    ["bench", "sim", "--gpus", "1000000000000"],
    ["bench", "wan", "--steps", "1000000000000"],
    ["bench", "hetero", "--layers", "1000000000000"],
    ["bench", "calibration", "--steps", "1000000000000"],
    ["bench", "planner", "--repeat", "1000000000000"],
    ["bench", "control", "--running", "1000000000000"],
    ["reliability", "--accelerator", "H100-SXM", "--gpus", "1000000000000",
     "--model", "llama3-70b"],
    ["pool", "--model", "llama3-8b", "--part", "beijing-ai:H100-SXM:1000000000000",
     "--part", "shanghai-ai:H800:8"],
    # Wrong types and units.
    ["where", "--model", "llama3-8b", "--tokens", "2Q"],
    ["where", "--model", "llama3-8b", "--tokens", "1e9", "--deadline", "soon"],
    ["where", "--model", "llama3-8b", "--tokens", "1e9", "--budget", "-5"],
    ["plan", "--model", "llama3-70b", "--accelerator", "H100-SXM", "--gpus", "64",
     "--tp", "0"],
    ["plan", "--model", "llama3-70b", "--accelerator", "H100-SXM", "--gpus", "64",
     "--tp", "3"],
    ["reliability", "--accelerator", "H100-SXM", "--gpus", "8"],
]


@pytest.mark.parametrize("args", NUMBER_CASES, ids=lambda a: " ".join(a[:1] + a[-2:]))
def test_bad_numbers(capfd, monkeypatch, args):
    assert_one_line_error(run_cli(args, capfd, monkeypatch))


SIM = ["simulate", "--trace-format", "synthetic", "--jobs", "10", "--cluster-gpus", "16"]


@pytest.mark.parametrize(("args", "field"), [
    ([*SIM, "--sched-interval", "nan"], "sched_interval_s"),
    (["bench", "sim", "--sched-interval", "inf"], "sched_interval_s"),
    ([*SIM, "--seed", "-1"], "--seed"),
    ([*SIM, "--load", "inf"], "'load'"),
    ([*SIM, "--policy", ","], "'policy'"),
    ([*SIM, "--plot", str(REPO / "README.md")], "'plot'"),
    (["simulate", "--trace-format", "bogus", "--cluster-gpus", "16"], "unknown trace format"),
    # huge or tiny values that used to crash or give silently wrong numbers
    ([*SIM, "--sched-interval", "1e308"], "sched_interval_s"),
    (["bench", "sim", "--jobs", "200", "--gpus", "64", "--sched-interval", "1e308"],
     "sched_interval_s"),
    ([*SIM, "--load", "1e-300"], "'load'"),
    ([*SIM, "--plot", ""], "'plot'"),
    ([*SIM, "--preemption", "maybe"], "'preemption'"),
    ([*SIM, "--trace", str(REPO / "README.md")], "'trace'"),  # synthetic takes no --trace
    (["simulate", "--trace", "", "--cluster-gpus", "16"], "'trace'"),
    (["simulate", "--trace-format", "synthetic", "--federation", ""], "'federation'"),
    # synthetic-only options with a trace were silently ignored
    (["simulate", "--trace", str(REPO / "README.md"), "--cluster-gpus", "16", "--jobs", "7"],
     "'jobs'"),
    (["simulate", "--trace", str(REPO / "README.md"), "--cluster-gpus", "16", "--load", "5"],
     "'load'"),
    (["simulate", "--trace", str(REPO / "README.md"), "--cluster-gpus", "16", "--no-models"],
     "'models'"),
])
def test_simulator_options_name_what_is_wrong(capfd, monkeypatch, args, field):
    """The simulator's options: the one line names the option at fault (the unknown trace
    format before the missing --trace it implies)."""
    out = run_cli(args, capfd, monkeypatch)
    assert_one_line_error(out)
    assert field in out.stderr, out.stderr
