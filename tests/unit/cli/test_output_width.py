"""Tables stay readable at 80 columns and in a pipe; --csv and --json stay clean (issue #16)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from rich.console import Console

from suanwang.cli import output
from tests.unit.cli.test_bad_input import run_cli

SIM = ["simulate", "--trace-format", "synthetic", "--jobs", "300", "--cluster-gpus", "256"]
SIM_HEADERS = ["policy", "mean JCT s", "p99 wait s", "util", "makespan s", "finished"]


def _unwrapped(text: str) -> str:
    return " ".join(text.split())


def test_simulate_in_a_pipe_at_80_columns_keeps_every_cell_whole(capfd, monkeypatch):
    out = run_cli([*SIM, "--policy", "fifo,backfill,priority"], capfd, monkeypatch)
    assert out.code == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("│")]
    rows = {cells[0]: cells for cells in
            ([c.strip() for c in ln.strip("│").split("│")] for ln in lines)}
    assert set(rows) == {"fifo", "backfill", "priority"}, out.stdout
    for header in SIM_HEADERS:
        assert header in out.stdout  # headers whole, not folded to one letter per line
    for cells in rows.values():
        assert all(len(c) > 1 or c in "0-" for c in cells), cells
        assert cells[-1] == "300/300" and cells[-4] == "n/a"  # no prices: cost n/a, not 0


def test_identical_policies_are_named():
    from suanwang.cli.sim_cmd import _identical
    from suanwang.sched.registry import get_policy
    from suanwang.sim.cluster import homogeneous
    from suanwang.sim.engine import SimOptions, simulate
    from suanwang.sim.traces.synthetic import synthetic_llm

    cluster = homogeneous(64)
    work = synthetic_llm(60, 64, seed=3)
    runs = [simulate(work, cluster, get_policy(p), SimOptions()) for p in
            ("fifo", "backfill", "fifo")]
    assert ("fifo", "fifo") in _identical(runs)
    assert all(pair != ("backfill", "fifo") for pair in _identical(runs[:2]))


def test_simulate_csv_is_clean_csv(capfd, monkeypatch):
    out = run_cli([*SIM, "--policy", "fifo", "--csv"], capfd, monkeypatch)
    assert out.code == 0, out.stderr
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert rows[0][:2] == ["policy", "mean JCT s"] and rows[1][0] == "fifo"
    assert len(rows) == 2 and all(len(r) == len(rows[0]) for r in rows)
    float(rows[1][1])  # "151,175" for people is 151175 for spreadsheets


def test_simulate_json_stays_clean(capfd, monkeypatch):
    out = run_cli([*SIM, "--policy", "fifo", "--json"], capfd, monkeypatch)
    assert out.code == 0, out.stderr
    assert json.loads(out.stdout)["policies"]["fifo"]["finished"] == 300


@pytest.mark.parametrize("width", [80, 60])
def test_terminal_table_never_cuts_a_cell(monkeypatch, width):
    buf = io.StringIO()
    monkeypatch.setattr(output, "console", Console(file=buf, width=width, force_terminal=True,
                                                   color_system=None))
    cols = ["center", "chip", "devices", "days", "cost MCNY", "MWh", "MFU", "ETTR", "layout"]
    rows = [["shanghai-ai", "H800", 2048, 1.25, 1.23, 75.8, 0.476, 0.99, "tp1 pp1 dp1024 cp2"],
            ["beijing-ai", "H100-SXM", 1024, 2.45, 1.45, 71.6, 0.482, 0.994, "tp1 pp1 dp1024"]]
    output.table("options", cols, rows)
    text = buf.getvalue()
    assert max(len(ln) for ln in text.splitlines()) <= width
    words = _unwrapped(text).split()
    for r in rows:
        for cell in r:
            for word in output.fmt(cell).split():
                assert word in words, (word, text)


def test_fitted_table_folds_at_80_columns_without_one_letter_cells():
    cols = ["id", "name", "state", "reason", "where", "attempts", "step", "loss"]
    rows = [["1", "gpt-1.7b-sim", "RUNNING", "restarted after node failure",
             "beijing-ai (slurm)", "2", "110", "2.345"],
            ["2", "tiny-local", "SUCCEEDED", "", "local (local)", "1", "60", "1.902"]]
    buf = io.StringIO()
    Console(file=buf, width=80, color_system=None).print(
        output.fitted_table("jobs", cols, rows))
    text = buf.getvalue()
    for word in ("gpt-1.7b-sim", "RUNNING", "SUCCEEDED", "beijing-ai", "attempts"):
        assert word in text, text
