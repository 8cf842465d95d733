"""Error lines print the user's own text verbatim: square brackets are not Rich markup."""

from __future__ import annotations

import sys

import pytest


def test_user_text_in_brackets_survives(capfd, monkeypatch):
    from suanwang.cli.main import main

    monkeypatch.setattr(sys, "argv", ["suanwang", "plan", "--model", "x[bold]y[/bold]",
                                      "--accelerator", "H100-SXM", "--gpus", "8"])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capfd.readouterr().err
    assert "x[bold]y[/bold]" in err
    assert len(err.strip().splitlines()) == 1
