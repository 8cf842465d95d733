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

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request

from suanwang.api.deps import Scope, context
from suanwang.api.spec_names import check_names
from suanwang.core.errors import ConfigError, InfeasibleError
from suanwang.core.federation import Federation
from suanwang.core.jobspec import InlineModel, JobSpec, TrainingSpec

router = APIRouter(prefix="/plans", tags=["plans"],
                   responses={401: {"description": "missing or invalid token"},
                              409: {"description": "no option meets the constraints"}})


def _centers(fed: Federation, spec: TrainingSpec) -> tuple[str, ...]:
    c = spec.constraints
    names = [x.name for x in fed.centers]
    unknown = [n for n in c.centers if n not in names]
    if unknown:
        raise ConfigError(f"unknown center(s) {', '.join(unknown)}; known: {', '.join(names)}",
                          field="constraints.centers")
    kept = tuple(n for n in (c.centers or names) if n not in c.exclude_centers)
    if not kept:
        raise InfeasibleError("the constraints exclude every center")
    return kept


def _accelerator_filter(fed: Federation, spec: TrainingSpec):
    c = spec.constraints
    domestic = {p.accelerator.name: p.accelerator.domestic for x in fed.centers for p in x.pools}

    def ok(name: str) -> bool:
        return ((not c.accelerators or name in c.accelerators)
                and name not in c.exclude_accelerators
                and (not c.domestic_only or domestic.get(name, False)))
    return ok


def explore(fed: Federation, spec: TrainingSpec) -> dict[str, Any]:
    """The option space of ``spec`` on ``fed`` (see the module docstring), JSON-able:
    ``{objective, currency, options: [Option.to_dict()...], skipped: [{pool, reason}]}``."""
    from suanwang.catalog import get_model
    from suanwang.plan.placement import pareto_front, select_compute

    c = spec.constraints
    model = (spec.model.to_model_spec() if isinstance(spec.model, InlineModel)
             else get_model(spec.model))
    sel = select_compute(fed, model, tokens=spec.tokens, global_batch_seqs=spec.global_batch,
                         seq_len=spec.seq_len, precision=spec.precision, objective="time",
                         max_devices=c.max_devices, min_devices=c.min_devices,
                         deadline_s=c.deadline_s,
                         budget=float(c.budget) if c.budget is not None else None,
                         centers=_centers(fed, spec))
    ok = _accelerator_filter(fed, spec)
    kept = [o for o in sel.options if ok(o.accelerator)]
    if not kept:
        raise InfeasibleError("no option uses an accelerator the spec allows "
                              "(constraints.accelerators / exclude_accelerators / domestic_only)")
    front = pareto_front(kept)
    kept = [dataclasses.replace(o, pareto=i in front) for i, o in enumerate(kept)]
    return dataclasses.replace(sel, options=tuple(kept)).to_dict()


@router.post("/explore")
def explore_spec(spec: Annotated[JobSpec, Body()], request: Request, _tenant: Scope) -> dict:
    """Every (center, accelerator, size) option for a training spec, Pareto front marked."""
    if not isinstance(spec, TrainingSpec):
        raise ConfigError("the plan explorer takes training specs; for a batch spec use "
                          "POST /plans", field="kind")
    check_names(context(request).federation, spec)
    return explore(context(request).federation, spec)
