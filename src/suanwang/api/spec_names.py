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

from suanwang.core.federation import Federation
from suanwang.core.jobspec import BatchSpec, TrainingSpec
from suanwang.plan.spec_search import check_names as check_constraint_names


def check_names(fed: Federation, spec: TrainingSpec | BatchSpec) -> None:
    """Raise ConfigError naming the first constraint that names an unknown center or
    accelerator (:func:`suanwang.plan.spec_search.check_names`)."""
    check_constraint_names(fed, spec.constraints)


def check_products(session: Any, doc: dict) -> None:
    """Raise ConfigError naming ``software`` / ``base_model`` / ``datasets`` when an attached
    product is not in the marketplace or is of another kind (``doc``: the spec as a dict)."""
    from suanwang.store.market import attached_names, attachments

    if attached_names(doc):
        attachments(session, doc)
