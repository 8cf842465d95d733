"""Names a job spec refers to, checked before planning or submission.

``constraints.centers`` / ``exclude_centers`` must name centers of the federation;
``constraints.accelerators`` / ``exclude_accelerators`` must name an accelerator of the
federation's pools or of the accelerator catalog (a catalog accelerator no pool has is not an
error here: planning answers 409, nothing can run on it). Marketplace products (``software``,
``base_model``, ``datasets``) must exist and be of the field's kind (docs/marketplace.md:
"an unknown product ... is a 422 naming the field"), checked by
:func:`suanwang.store.market.attachments`.

Errors: :class:`ConfigError` naming the field (``constraints.centers``, ...,
``software``, ``base_model``, ``datasets``) with the known names and a "did you mean"; the
API answers 422.
"""

from __future__ import annotations

from typing import Any

from suanwang.catalog import load_accelerators
from suanwang.catalog.fields import did_you_mean
from suanwang.core.errors import ConfigError
from suanwang.core.federation import Federation
from suanwang.core.jobspec import BatchSpec, TrainingSpec


def _check(field: str, names: list[str], known: list[str]) -> None:
    unknown = [n for n in names if n not in known]
    if unknown:
        noun = "center" if field.endswith("centers") else "accelerator"
        raise ConfigError(f"unknown {noun}(s) {', '.join(unknown)}"
                          f"{did_you_mean(unknown[0], known)}; known: {', '.join(known)}",
                          field=f"constraints.{field}")


def check_names(fed: Federation, spec: TrainingSpec | BatchSpec) -> None:
    """Raise ConfigError naming the first constraint that names an unknown center or
    accelerator (see the module docstring)."""
    c = spec.constraints
    centers = [x.name for x in fed.centers]
    _check("centers", c.centers, centers)
    _check("exclude_centers", c.exclude_centers, centers)
    if c.accelerators or c.exclude_accelerators:
        known = {p.accelerator.name for x in fed.centers for p in x.pools}
        known.update(load_accelerators())
        _check("accelerators", c.accelerators, sorted(known))
        _check("exclude_accelerators", c.exclude_accelerators, sorted(known))


def check_products(session: Any, doc: dict) -> None:
    """Raise ConfigError naming ``software`` / ``base_model`` / ``datasets`` when an attached
    product is not in the marketplace or is of another kind (``doc``: the spec as a dict)."""
    from suanwang.store.market import attached_names, attachments

    if attached_names(doc):
        attachments(session, doc)
