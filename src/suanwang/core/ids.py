"""Identifiers: short, sortable-enough, URL-safe ids with a type prefix (``job-3f9c2a1b``)."""

from __future__ import annotations

import re
import uuid

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def new_id(prefix: str) -> str:
    """A new random id such as ``job-3f9c2a1b7d4e``."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def is_valid_name(name: str) -> bool:
    """Names of centers, tenants, jobs: 1-64 chars of letters, digits, '.', '_', '-'."""
    return bool(_NAME_RE.match(name))
