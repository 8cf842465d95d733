"""/plans: what the controller would do with a spec (pools, size, time, hold), no submission."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import Annotated

from fastapi import APIRouter, Body, Request

from suanwang.api.deps import ReadSession, Scope, context
from suanwang.api.schemas.jobs import PlanOption, PlanPublic
from suanwang.api.spec_names import check_names
from suanwang.core.jobspec import JobSpec, spec_to_dict

router = APIRouter(prefix="/plans", tags=["plans"],
                   responses={401: {"description": "missing or invalid token"},
                              409: {"description": "no pool can run this spec"}})


@router.post("", response_model=PlanPublic)
def preview(spec: Annotated[JobSpec, Body()], request: Request, tenant: Scope,
            session: ReadSession) -> PlanPublic:
    """The planner's options for ``spec`` at the gang size the controller would use, each with
    the hold admission would place (store.billing.quote). Unknown centers, accelerators or
    products: 422 naming the field (api.spec_names), before any planning."""
    from suanwang.control.market import plan_with_products
    from suanwang.control.planning import checkpoint_interval_s
    from suanwang.store.billing import quote

    check_names(context(request).federation, spec)
    doc = spec_to_dict(spec)
    plan = plan_with_products(context(request).federation, doc, session)
    options = []
    for key, p in plan["pools"].items():
        center, accelerator = key.split("/", 1)
        transfer = Decimal(p.get("transfer_cost", "0")).quantize(Decimal("0.0001"), ROUND_CEILING)
        placement = {"center": center, "accelerator": accelerator, "devices": plan["devices"],
                     "nodes": p["nodes"], "duration_s": p["time_s"]}
        options.append(PlanOption(center=center, accelerator=accelerator,
                                  devices=plan["devices"], nodes=p["nodes"], time_s=p["time_s"],
                                  checkpoint_interval_s=checkpoint_interval_s(p),
                                  checkpoint_every_s=checkpoint_interval_s(p),
                                  planner_cost=p["cost"],
                                  hold=quote(session, doc, placement) + transfer,
                                  transfer_s=p.get("transfer_s", 0.0), transfer_cost=transfer))
    options.sort(key=lambda o: o.time_s)
    return PlanPublic(kind=doc["kind"], devices=plan["devices"], estimate_s=plan["estimate_s"],
                      source=plan["source"], options=options)
