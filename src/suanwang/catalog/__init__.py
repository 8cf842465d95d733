"""Catalog: accelerators, model presets and federations, read from YAML once into core types.

Public API: :func:`load_accelerators`, :func:`get_accelerator`, :func:`load_models`,
:func:`get_model`, :func:`load_federation`. Every loader takes an optional path (a user's own
file); without one it reads the packaged data under ``catalog/data/``.
"""

from suanwang.catalog.accelerators import get_accelerator, load_accelerators
from suanwang.catalog.federation import load_federation
from suanwang.catalog.models import get_model, load_models

__all__ = ["get_accelerator", "get_model", "load_accelerators", "load_federation", "load_models"]
