"""``POST /api/v1/plans/explore``: every way a training spec could run, for the Plan explorer.

``POST /plans`` answers what the controller would do (one gang size, the hold). The explorer
shows the whole option space instead: :func:`suanwang.plan.placement.select_compute` over every
allowed (center, pool, device count) under the spec's constraints (centers, accelerators,
``domestic_only``, min/max devices, deadline, budget), each option with its failure-aware time
to train (s), cost (federation currency) and energy (kWh), Pareto-optimal in (time, cost,
energy) marked (recomputed after the accelerator filter), plus the pools skipped and why.
Batch specs have no option space to explore: 422 naming ``kind`` (use ``POST /plans``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request

from suanwang.api.deps import Scope, context
from suanwang.core.errors import ConfigError
from suanwang.core.federation import Federation
from suanwang.core.jobspec import JobSpec, TrainingSpec

router = APIRouter(prefix="/plans", tags=["plans"],
                   responses={401: {"description": "missing or invalid token"},
                              409: {"description": "no option meets the constraints"}})


def explore(fed: Federation, spec: TrainingSpec) -> dict[str, Any]:
    """The option space of ``spec`` on ``fed`` (see the module docstring), JSON-able:
    ``{objective, currency, options: [Option.to_dict()...], skipped: [{pool, reason}]}``."""
    from suanwang.plan.placement import select_compute
    from suanwang.plan.spec_search import (
        accelerator_filter,
        allowed_centers,
        restrict,
        search_kwargs,
    )

    c = spec.constraints
    sel = select_compute(fed, objective="time", **search_kwargs(spec, allowed_centers(fed, c)))
    return restrict(sel, accelerator_filter(fed, c)).to_dict()


@router.post("/explore")
def explore_spec(spec: Annotated[JobSpec, Body()], request: Request, _tenant: Scope) -> dict:
    """Every (center, accelerator, size) option for a training spec, Pareto front marked."""
    if not isinstance(spec, TrainingSpec):
        raise ConfigError("the plan explorer takes training specs; for a batch spec use "
                          "POST /plans", field="kind")
    return explore(context(request).federation, spec)
