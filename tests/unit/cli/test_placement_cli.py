from __future__ import annotations

import json

from typer.testing import CliRunner

from suanwang.cli.main import app

runner = CliRunner()


def test_where_json_ranks_options():
    result = runner.invoke(app, ["where", "-m", "llama2-7b", "--tokens", "1e11", "--max-devices",
                                 "64", "--center", "beijing-ai", "--center", "guiyang-ai",
                                 "--objective", "cost", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    costs = [o["cost"] for o in doc["options"]]
    assert costs == sorted(costs) and doc["currency"] == "CNY"
    assert {o["center"] for o in doc["options"]} == {"beijing-ai", "guiyang-ai"}
    assert all("ettr" in o["goodput"] for o in doc["options"])


def test_pool_json_and_table():
    args = ["pool", "-m", "llama2-7b", "--part", "beijing-ai:H100-SXM:64",
            "--part", "beijing-ai:A100-SXM-80GB:64", "--global-batch", "256"]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert sum(p["batch_seqs"] for p in doc["parts"]) == 256
    table = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert "worth it" in table.stdout
