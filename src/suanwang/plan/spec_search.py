"""A training job spec's constraints as the placement search takes them.

One reading of ``constraints`` (centers, accelerators, ``domestic_only``, min/max devices,
deadline, budget) and of the spec's model and stack, shared by ``suanwang where JOB.yaml``,
``POST /plans/explore`` and the controller's planner, so the three never disagree on what a spec
allows. "Domestic" is the catalog's ``domestic`` flag of each accelerator
(``catalog/data/accelerators.yaml``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from suanwang.catalog import load_accelerators
from suanwang.catalog.fields import did_you_mean
from suanwang.core.errors import ConfigError, InfeasibleError
from suanwang.core.federation import Federation
from suanwang.core.jobspec import Constraints, InlineModel, TrainingSpec
from suanwang.core.model import ModelSpec
from suanwang.perf.stack import Stack
from suanwang.plan.placement import Selection, pareto_front


def model_of(spec: TrainingSpec) -> ModelSpec:
    """The spec's model: inline dimensions, or a catalog preset by name."""
    if isinstance(spec.model, InlineModel):
        return spec.model.to_model_spec()
    from suanwang.catalog import get_model

    return get_model(spec.model)


def _check(field: str, names: list[str], known: list[str], file: str | None) -> None:
    unknown = [n for n in names if n not in known]
    if unknown:
        noun = "center" if field.endswith("centers") else "accelerator"
        raise ConfigError(f"unknown {noun}(s) {', '.join(unknown)}"
                          f"{did_you_mean(unknown[0], known)}; known: {', '.join(known)}",
                          file=file, field=f"constraints.{field}")


def check_names(fed: Federation, c: Constraints, *, file: str | None = None) -> None:
    """Raise ConfigError naming the first constraint that names an unknown center (not in the
    federation) or accelerator (in neither the federation's pools nor the catalog), with the
    known names and a "did you mean"."""
    centers = [x.name for x in fed.centers]
    _check("centers", c.centers, centers, file)
    _check("exclude_centers", c.exclude_centers, centers, file)
    if c.accelerators or c.exclude_accelerators:
        known = {p.accelerator.name for x in fed.centers for p in x.pools}
        known.update(load_accelerators())
        _check("accelerators", c.accelerators, sorted(known), file)
        _check("exclude_accelerators", c.exclude_accelerators, sorted(known), file)


def allowed_centers(fed: Federation, c: Constraints, *, file: str | None = None
                    ) -> tuple[str, ...]:
    """Centers the constraints allow, in federation order. Raises ConfigError for an unknown
    name (:func:`check_names`) and InfeasibleError when none is left."""
    check_names(fed, c, file=file)
    names = [x.name for x in fed.centers]
    kept = tuple(n for n in names if (not c.centers or n in c.centers)
                 and n not in c.exclude_centers)
    if not kept:
        raise InfeasibleError("the constraints exclude every center")
    return kept


def accelerator_filter(fed: Federation, c: Constraints) -> Callable[[str], bool]:
    """Whether an accelerator name is allowed by ``accelerators``, ``exclude_accelerators`` and
    ``domestic_only`` (the catalog flag of the federation's pools)."""
    domestic = {p.accelerator.name: p.accelerator.domestic for x in fed.centers for p in x.pools}

    def ok(name: str) -> bool:
        return ((not c.accelerators or name in c.accelerators)
                and name not in c.exclude_accelerators
                and (not c.domestic_only or domestic.get(name, False)))
    return ok


def search_kwargs(spec: TrainingSpec, centers: tuple[str, ...]) -> dict[str, Any]:
    """Keyword arguments of :func:`suanwang.plan.placement.select_compute` for ``spec``."""
    c = spec.constraints
    return {"model": model_of(spec), "tokens": spec.tokens, "global_batch_seqs": spec.global_batch,
            "seq_len": spec.seq_len, "precision": spec.precision,
            "stack": Stack(attention=spec.attention), "max_devices": c.max_devices,
            "min_devices": c.min_devices, "deadline_s": c.deadline_s,
            "budget": float(c.budget) if c.budget is not None else None, "centers": centers}


def restrict(selection: Selection, ok: Callable[[str], bool]) -> Selection:
    """``selection`` (a ``plan.placement`` Selection) keeping only allowed accelerators, Pareto
    marks recomputed over what is kept. Raises InfeasibleError when nothing is left."""
    kept = [o for o in selection.options if ok(o.accelerator)]
    if not kept:
        raise InfeasibleError("no option uses an accelerator the spec allows "
                              "(constraints.accelerators / exclude_accelerators / domestic_only)")
    front = pareto_front(kept)
    kept = [dataclasses.replace(o, pareto=i in front) for i, o in enumerate(kept)]
    return dataclasses.replace(selection, options=tuple(kept))
