"""Out-of-range money and lease windows are usage errors (exit 2, one line naming the option
and the limit), not OverflowError or InvalidOperation from SQLite/decimal/datetime."""

from __future__ import annotations

import pytest

from tests.unit.cli.test_bad_input import assert_one_line_error, run_cli


@pytest.mark.parametrize("balance", ["1e400", "1e13", "1e20", "9999999999999.9999", "-1",
                                     "nan", "abc", "0.00001"])
def test_tenant_balance_out_of_range(tmp_path, capfd, monkeypatch, balance):
    monkeypatch.setenv("SUANWANG_DB_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    out = run_cli(["tenants", "create", "x2", "--balance", balance], capfd, monkeypatch)
    assert_one_line_error(out)
    assert "--balance" in out.stderr and "1E+12" in out.stderr, out.stderr


def test_tenant_balance_at_limit_is_accepted(tmp_path, capfd, monkeypatch):
    monkeypatch.setenv("SUANWANG_DB_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    out = run_cli(["tenants", "create", "rich", "--balance", "1000000000000", "--json"],
                  capfd, monkeypatch)
    assert out.code == 0, out.stderr
    assert '"balance": "1000000000000"' in out.stdout


@pytest.mark.parametrize(("extra", "option", "limit"), [
    (["--hours", "1e30"], "--hours", "87,600"),
    (["--start", "9999-12-31T23:00:00", "--hours", "1"], "--start", "9999"),
])
def test_lease_window_out_of_range(capfd, monkeypatch, extra, option, limit):
    # Checked before any request: nothing listens on port 9.
    monkeypatch.setenv("SUANWANG_URL", "http://127.0.0.1:9")
    out = run_cli(["lease", "create", "--center", "shanghai-ai", "--accelerator", "A800",
                   "--devices", "8", *extra], capfd, monkeypatch)
    assert_one_line_error(out)
    assert option in out.stderr and limit in out.stderr, out.stderr


@pytest.mark.parametrize("command", [["submit"], ["where"], ["predict"]])
def test_malformed_yaml_job_spec_is_one_line_with_file_and_line(tmp_path, capfd, monkeypatch,
                                                               command):
    monkeypatch.setenv("SUANWANG_URL", "http://127.0.0.1:9")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.yaml").write_text("kind: [oops\n")
    out = run_cli([*command, "bad.yaml"], capfd, monkeypatch)
    assert_one_line_error(out)
    assert "bad.yaml:2: not valid YAML: expected ',' or ']'" in out.stderr, out.stderr
    assert "<unicode string>" not in out.stderr


def test_where_off_a_terminal_writes_nothing_to_stderr_and_starts_with_its_title(
        capfd, monkeypatch):
    out = run_cli(["where", "--model", "llama3-8b", "--tokens", "1e9", "--top", "3"],
                  capfd, monkeypatch)
    assert out.code == 0, out.stderr
    assert out.stderr == ""
    assert out.stdout.startswith("llama3-8b, 1e+09 tokens"), out.stdout[:200]
