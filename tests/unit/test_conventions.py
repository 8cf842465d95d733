"""The service-requirement convention every integration test relies on."""

from __future__ import annotations

import pytest

from tests.conftest import require_service


def test_missing_service_skips_by_default(monkeypatch):
    monkeypatch.delenv("SUANWANG_REQUIRE", raising=False)
    with pytest.raises(pytest.skip.Exception, match="slurm not available: no slurmctld"):
        require_service("slurm", False, "no slurmctld")


def test_missing_required_service_fails(monkeypatch):
    monkeypatch.setenv("SUANWANG_REQUIRE", "postgres, slurm")
    with pytest.raises(pytest.fail.Exception, match="SUANWANG_REQUIRE"):
        require_service("slurm", False, "no slurmctld")
    require_service("slurm", True, "unused")  # available: no-op
