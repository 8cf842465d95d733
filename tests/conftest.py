"""Test conventions shared by every layer.

Markers (declared in pyproject.toml): ``slurm``, ``postgres``, ``browser``, ``gpu``, ``slow``.
A test that needs a service calls :func:`require_service`; when the service is missing the test
is skipped with a clear message, unless ``SUANWANG_REQUIRE`` (comma-separated, e.g.
``slurm,postgres,browser``) names it, in which case it fails. CI sets all three.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SHARED_DATA = SHARED / "data"


def required_services() -> set[str]:
    raw = os.environ.get("SUANWANG_REQUIRE", "")
    return {s.strip() for s in raw.split(",") if s.strip()}


def require_service(name: str, available: bool, why: str) -> None:
    """Skip (or fail, when SUANWANG_REQUIRE names ``name``) if ``available`` is false."""
    if available:
        return
    msg = f"{name} not available: {why}"
    if name in required_services():
        required = os.environ["SUANWANG_REQUIRE"]
        pytest.fail(f"{msg} (SUANWANG_REQUIRE={required} makes this an error)")
    pytest.skip(msg)


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data; skips the test with a clear message when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found at {path} (clone with ../shared beside the repo)")
    return path


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    if any("gpu" in item.keywords for item in items) and not _has_cuda():
        skip = pytest.mark.skip(reason="needs a CUDA GPU; none on this machine")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)
