"""Centers in the store: synced from the federation file, with live capacity from backends.

``sync_centers`` upserts one row per center (pools with ``watts_per_device`` for the energy
model) and seeds the price list from the file: a ``device_hour`` item per pool (node_hour for
CPU nodes with one device per node is the same number) and an ``energy_kwh`` item per center,
valid from ``valid_from``, only for keys that have no version yet, so prices changed through
the admin API are never overwritten by a restart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from suanwang.core.federation import Federation
from suanwang.store.base import utcnow
from suanwang.store.billing.prices import ANY, add_price, history
from suanwang.store.models import CenterRow

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def _pools(center) -> list[dict]:
    return [{**p.to_dict(), "watts_per_device": p.watts_per_device,
             "devices": p.devices, "kind": p.accelerator.kind,
             "domestic": p.accelerator.domestic} for p in center.pools]


def sync_centers(session: Session, federation: Federation, *, valid_from: datetime = EPOCH
                 ) -> list[CenterRow]:
    """Upsert every center of ``federation`` and seed missing price items; returns the rows."""
    existing = {c.name: c for c in session.execute(select(CenterRow)).scalars()}
    rows = []
    for c in federation.centers:
        row = existing.get(c.name) or CenterRow(name=c.name, capacity={})
        row.kind, row.city, row.backend, row.pue = c.kind, c.city, c.backend, c.pue
        row.pools = _pools(c)
        if not row.capacity:
            row.capacity = {p.accelerator.name: {"free": p.devices, "total": p.devices}
                            for p in c.pools}
        row.updated_at = utcnow()
        session.add(row)
        rows.append(row)
        for p in c.pools:
            _seed(session, "device_hour", c.name, p.accelerator.name,
                  p.price_per_device_hour, valid_from)
        _seed(session, "energy_kwh", c.name, ANY, c.energy_price_per_kwh, valid_from)
    session.flush()
    return rows


def _seed(session: Session, kind: str, center: str, resource: str, price: float,
          valid_from: datetime) -> None:
    if history(session, kind=kind, center=center, resource=resource):
        return
    add_price(session, kind=kind, center=center, resource=resource,
              price=Decimal(repr(price)).quantize(Decimal("0.000001")), valid_from=valid_from,
              note="from the federation file")


def list_centers(session: Session) -> list[CenterRow]:
    return list(session.execute(select(CenterRow).order_by(CenterRow.name)).scalars())


def get_center(session: Session, name: str) -> CenterRow | None:
    return session.execute(select(CenterRow).where(CenterRow.name == name)).scalar_one_or_none()


def pool_of(center: CenterRow, accelerator: str) -> dict | None:
    for p in center.pools:
        if p["accelerator"] == accelerator:
            return p
    return None


def set_capacity(session: Session, name: str, capacity: dict[str, dict[str, int]],
                 now: datetime | None = None) -> None:
    """Record live capacity ``{accelerator: {"free": n, "total": n}}`` reported by a backend."""
    row = get_center(session, name)
    if row is not None:
        row.capacity = capacity
        row.capacity_at = now or utcnow()
