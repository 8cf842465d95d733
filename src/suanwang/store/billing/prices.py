"""Price items: immutable versions keyed by (kind, center, resource), valid from a time.

A change adds a new item with a later ``valid_from``; usage is priced by the item valid when it
happened (``price_segments`` splits a usage interval at every change, so an attempt running
across a change pays the old price before it and the new one after). Rows are never updated
(OpenSCOW's ``JobPriceItem`` history, read in ``createTime`` order, is the model).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from suanwang.core.errors import ConfigError
from suanwang.store.models import PriceItem
from suanwang.store.models.billing import PRICE_KINDS

UNITS = {"device_hour": "device-hour", "node_hour": "node-hour", "energy_kwh": "kWh",
         "software_hour": "node-hour", "lease_hour": "device-hour", "transfer_gb": "GB"}
ANY = "*"


def add_price(session: Session, *, kind: str, center: str, resource: str, price: Decimal,
              valid_from: datetime, note: str = "") -> PriceItem:
    """Append a price version. Raises ConfigError for an unknown kind, a negative price, more
    than 6 decimals, or a version that already exists for this key and time."""
    if kind not in PRICE_KINDS:
        raise ConfigError(f"must be one of {', '.join(PRICE_KINDS)} (got {kind!r})", field="kind")
    if price < 0 or price != price.quantize(Decimal("0.000001")):
        raise ConfigError(f"must be >= 0 with at most 6 decimals (got {price})", field="price")
    clash = session.execute(select(PriceItem.id).where(
        PriceItem.kind == kind, PriceItem.center == center, PriceItem.resource == resource,
        PriceItem.valid_from == valid_from)).first()
    if clash:
        raise ConfigError(f"a {kind} price for {center}/{resource} valid from "
                          f"{valid_from.isoformat()} exists; prices are immutable, add a new "
                          "version with a later valid_from", field="valid_from")
    item = PriceItem(kind=kind, center=center, resource=resource, unit=UNITS[kind],
                     price=price, valid_from=valid_from, note=note)
    session.add(item)
    session.flush()
    return item


def history(session: Session, *, kind: str, center: str, resource: str) -> list[PriceItem]:
    """Versions of one key, oldest first; falls back to the center-wide ``*`` resource."""
    for res in (resource, ANY):
        rows = list(session.execute(select(PriceItem).where(
            PriceItem.kind == kind, PriceItem.center == center, PriceItem.resource == res)
            .order_by(PriceItem.valid_from)).scalars())
        if rows:
            return rows
    return []


def price_at(session: Session, *, kind: str, center: str, resource: str, at: datetime
             ) -> PriceItem | None:
    """The version valid at ``at`` (the latest with valid_from <= at), or None."""
    valid = [p for p in history(session, kind=kind, center=center, resource=resource)
             if p.valid_from <= at]
    return valid[-1] if valid else None


@dataclass(frozen=True)
class Segment:
    """Part of a usage interval priced by one item: ``fraction`` of the interval's duration."""

    item: PriceItem | None
    start: datetime
    end: datetime
    fraction: Decimal


def price_segments(session: Session, *, kind: str, center: str, resource: str,
                   start: datetime, end: datetime) -> list[Segment]:
    """Split [start, end] at every price change of the key. Time before the first version is
    priced by the first version (a price list published after the job started still applies).
    Fractions sum to exactly 1 (the last segment takes the remainder)."""
    items = history(session, kind=kind, center=center, resource=resource)
    if not items:
        return [Segment(None, start, end, Decimal(1))]
    total = (end - start).total_seconds()
    bounds = [(items[i], items[i].valid_from, items[i + 1].valid_from if i + 1 < len(items)
               else None) for i in range(len(items))]
    segments: list[Segment] = []
    for i, (item, lo, hi) in enumerate(bounds):
        s = start if i == 0 else max(start, lo)
        e = end if hi is None else min(end, hi)
        if e > s or (total == 0 and s == start and not segments):
            segments.append(Segment(item, s, e, Decimal(0)))
    if total <= 0 or len(segments) == 1:
        return [Segment(segments[0].item, start, end, Decimal(1))]
    out, used = [], Decimal(0)
    for seg in segments[:-1]:
        frac = _seconds(seg.end - seg.start) / _seconds(end - start)
        out.append(Segment(seg.item, seg.start, seg.end, frac))
        used += frac
    last = segments[-1]
    out.append(Segment(last.item, last.start, last.end, Decimal(1) - used))
    return out


def _seconds(delta) -> Decimal:
    """Exact seconds of a timedelta (microsecond resolution)."""
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds).scaleb(-6)


def current_prices(session: Session) -> list[PriceItem]:
    """All versions, newest first (for the admin API)."""
    return list(session.execute(select(PriceItem).order_by(PriceItem.valid_from.desc(),
                                                           PriceItem.id.desc())).scalars())
