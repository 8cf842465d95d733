"""Predicted cost of a job on a placement, held against the balance at admission.

quote = device_hours x device-hour price
      + energy_kWh(device_seconds, W_device, PUE) x the center's energy price
      + node_hours x each software product's node-hour price,
at the prices valid at ``now``, rounded up to 4 dp (``rounding.hold``). device_hours =
devices x duration_s / 3600; the duration is the planner's predicted time (training) or the
walltime (batch, the most it can run).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy.orm import Session

from suanwang.core.errors import ConfigError, NotFoundError
from suanwang.store import centers as center_rows
from suanwang.store.base import utcnow
from suanwang.store.billing import energy, rounding
from suanwang.store.billing.prices import ANY, price_at

DURATION_KEYS = ("duration_s", "time_to_train_s", "expected_s")


def _spec_dict(spec: BaseModel | Mapping) -> dict:
    return spec.model_dump(mode="json") if isinstance(spec, BaseModel) else dict(spec)


def duration_of(spec: dict, placement: Mapping) -> float:
    """Seconds the job is predicted to hold its devices (see module doc)."""
    for key in DURATION_KEYS:
        if placement.get(key) is not None:
            return float(placement[key])
    if spec.get("kind") == "batch":
        return float(spec["walltime_s"])
    raise ConfigError("placement needs a predicted duration (one of "
                      f"{', '.join(DURATION_KEYS)}) to quote a training job", field="placement")


def quote(session: Session, spec: BaseModel | Mapping, placement: Mapping, *,
          now: datetime | None = None) -> Decimal:
    """Predicted cost (Decimal, 4 dp, rounded up) of running ``spec`` on ``placement``.

    ``placement``: {"center", "accelerator", "devices", optional "nodes", and a duration (see
    :func:`duration_of`)}. Raises NotFoundError for an unknown center or pool.
    """
    now = now or utcnow()
    sd = _spec_dict(spec)
    center = center_rows.get_center(session, placement["center"])
    if center is None:
        raise NotFoundError(f"no center {placement['center']!r} in the store")
    pool = center_rows.pool_of(center, placement["accelerator"])
    if pool is None:
        raise NotFoundError(f"center {center.name!r} has no {placement['accelerator']!r} pool")
    devices = int(placement["devices"])
    nodes = int(placement.get("nodes") or -(-devices // int(pool["devices_per_node"])))
    seconds = duration_of(sd, placement)
    device_s = devices * seconds
    total = Decimal(0)
    item = price_at(session, kind="device_hour", center=center.name,
                    resource=placement["accelerator"], at=now)
    if item is not None:
        total += Decimal(repr(device_s / 3600)) * item.price
    kwh = energy.energy_kwh(device_s, pool["watts_per_device"], center.pue)
    item = price_at(session, kind="energy_kwh", center=center.name, resource=ANY, at=now)
    if item is not None:
        total += kwh * item.price
    for product in sd.get("software", []):
        item = price_at(session, kind="software_hour", center=ANY, resource=product, at=now)
        if item is not None:
            total += Decimal(repr(nodes * seconds / 3600)) * item.price
    return rounding.hold(total)
