"""The layer rules of docs/architecture.md, checked with import-linter (contracts in pyproject)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_import_contracts_hold():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run([exe, "--no-cache"], cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_cli_help_is_fast_and_light():
    """`suanwang --help` must not import torch, fastapi or matplotlib (house style 8)."""
    code = ("import sys, suanwang.cli.main as m; "
            "heavy = [x for x in ('torch', 'fastapi', 'matplotlib', 'sqlalchemy') "
            "if x in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
