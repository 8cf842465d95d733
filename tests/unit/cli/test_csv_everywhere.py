"""``--csv`` on every command that prints tables (the list #16 left out): clean CSV on stdout,
several tables separated by one empty line, notes on stderr."""

from __future__ import annotations

import csv
import io

import pytest

from tests.unit.cli.test_bad_input import run_cli

TABLE_COMMANDS = [
    ["predict"], ["pool"], ["reliability"], ["bench", "wan"], ["bench", "hetero"],
    ["bench", "calibration"], ["bench", "api"], ["bench", "sim"], ["bench", "sched"],
    ["calibration", "show"], ["products", "list"], ["products", "show"],
    ["products", "statement"], ["lease", "list"], ["lease", "impact"], ["tenants", "list"],
]


@pytest.mark.parametrize("cmd", TABLE_COMMANDS, ids=" ".join)
def test_table_commands_offer_csv(cmd, capfd, monkeypatch) -> None:
    out = run_cli([*cmd, "--help"], capfd, monkeypatch)
    assert out.code == 0 and "--csv" in out.stdout


def _blocks(text: str) -> list[list[list[str]]]:
    blocks: list[list[list[str]]] = [[]]
    for row in csv.reader(io.StringIO(text)):
        if row:
            blocks[-1].append(row)
        else:
            blocks.append([])
    return blocks


def test_predict_csv_is_two_clean_tables(capfd, monkeypatch) -> None:
    out = run_cli(["predict", "examples/scenario-llama3-70b-inline.yaml", "--csv"], capfd,
                  monkeypatch)
    assert out.code == 0, out.stderr
    step, memory = _blocks(out.stdout)
    assert step[0] == ["part", "seconds", "share"] and memory[0] == ["part", "GB"]
    parts = {r[0]: float(r[1]) for r in step[1:]}
    assert parts["step"] == pytest.approx(sum(v for k, v in parts.items() if k != "step"),
                                          rel=1e-6)
    assert "┃" not in out.stdout and "│" not in out.stdout


def test_reliability_and_bench_sched_csv(capfd, monkeypatch) -> None:
    out = run_cli(["reliability", "--accelerator", "H100-SXM", "--gpus", "1024",
                   "--ckpt-stall-s", "10", "--restart-s", "300", "--csv"], capfd, monkeypatch)
    assert out.code == 0, out.stderr
    (rows,) = _blocks(out.stdout)
    assert rows[0] == ["quantity", "value", "unit", "note"]
    assert all(len(r) == 4 for r in rows)
    values = {r[0]: (float(r[1]), r[2]) for r in rows[1:]}
    assert values["job MTBF"][1] == "s" and values["job MTBF"][0] > 0
    assert values["ETTR"][1] == "fraction" and 0 < values["ETTR"][0] < 1
    out = run_cli(["bench", "sched", "--case", "synth-plan-1.0", "--csv"], capfd, monkeypatch)
    assert out.code == 0, out.stderr
    (rows,) = _blocks(out.stdout)
    assert rows[0][0] == "case" and rows[1][0] == "synth-plan-1.0" and len(rows) == 2
    assert float(rows[1][rows[0].index("mean vs bf")]) > 0
