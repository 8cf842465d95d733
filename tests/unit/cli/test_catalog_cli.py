from __future__ import annotations

import json

from typer.testing import CliRunner

from suanwang.cli.main import app

runner = CliRunner()


def test_catalog_accelerators_json():
    result = runner.invoke(app, ["catalog", "accelerators", "--json"])
    assert result.exit_code == 0, result.output
    names = {a["name"] for a in json.loads(result.stdout)["accelerators"]}
    assert {"H100-SXM", "Ascend-910B", "MI300X"} <= names


def test_catalog_tables_print():
    for what, needle in (("accelerators", "H100-SXM"), ("models", "llama3-405b"),
                         ("centers", "wuhan-ai")):
        result = runner.invoke(app, ["catalog", what], env={"COLUMNS": "250"})
        assert result.exit_code == 0, result.output
        assert needle in result.stdout


def test_catalog_centers_json_roundtrip():
    result = runner.invoke(app, ["catalog", "centers", "--json"])
    doc = json.loads(result.stdout)
    assert doc["currency"] == "CNY" and len(doc["centers"]) >= 5 and doc["links"]


def test_bad_file_is_a_clear_error(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "fed.yaml"
    bad.write_text("centers: []\n")
    out = subprocess.run([sys.executable, "-m", "suanwang", "catalog", "centers", "-f", str(bad)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "fed.yaml: field 'centers': 'centers' must be a non-empty list" in out.stderr
