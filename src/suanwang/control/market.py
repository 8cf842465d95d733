"""Plans that honour marketplace products (issue #13), shared by admission and ``POST /plans``.

:func:`plan_with_products` = ``control.planning.plan_job`` followed by the pure
:func:`suanwang.plan.market.apply_products` on the products the spec attaches (read from the
store): software only where installed, WAN transfer time and charge for data away from home.
Raises ConfigError naming the spec field for an unknown product and InfeasibleError when no
allowed pool remains (admission then fails the job with reason ``infeasible``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from suanwang.control.planning import plan_job
from suanwang.core.federation import Federation
from suanwang.plan.market import apply_products
from suanwang.store import market


def plan_with_products(fed: Federation, spec: dict[str, Any], session: Session | None = None,
                       read=None) -> dict[str, Any]:
    """The job's plan with products applied (module doc). Give an open ``session`` or a
    session factory ``read``; a spec without products never touches the store."""
    plan = plan_job(fed, spec)
    if not market.attached_names(spec):
        return plan
    if session is not None:
        return apply_products(fed, plan, market.attachments(session, spec))
    with read() as s:
        return apply_products(fed, plan, market.attachments(s, spec))
