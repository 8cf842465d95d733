"""Marketplace repository: providers list products, jobs attach them by name.

A product is a series of immutable versions (``products`` rows with the same ``name``): the
provider who listed version 1 owns the name, and every change (price, centers, description)
appends version n + 1 valid from its creation time. Usage is priced by the version valid when
it started (:func:`version_at`). Functions take the caller's session and never commit.

Errors: ConfigError naming the field (``kind``, ``centers``, ``home_center``, ``size_bytes``,
``price_unit``, ``price``, ``name``, ``software``/``base_model``/``datasets`` for an unknown
product attached); NotFoundError for an unknown product; PermissionError when another tenant
tries to change a product.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from suanwang.core.errors import ConfigError, NotFoundError
from suanwang.plan.market import Attachment
from suanwang.store.base import utcnow
from suanwang.store.billing.prices import ANY, price_at
from suanwang.store.models import Product
from suanwang.store.models.market import PRICE_UNITS, PRODUCT_KINDS

FIELDS = ("kind", "title", "release", "description", "centers", "home_center", "size_bytes",
          "price_unit", "price")
DEFAULTS = {"title": "", "release": "", "description": "", "centers": [], "home_center": None,
            "size_bytes": 0}


def _check(doc: dict[str, Any], known_centers: Iterable[str]) -> None:
    known = set(known_centers)
    if doc["kind"] not in PRODUCT_KINDS:
        raise ConfigError(f"must be one of {', '.join(PRODUCT_KINDS)}", field="kind")
    if doc["price_unit"] not in PRICE_UNITS:
        raise ConfigError(f"must be one of {', '.join(PRICE_UNITS)}", field="price_unit")
    price = Decimal(doc["price"])
    if price < 0 or price != price.quantize(Decimal("0.000001")):
        raise ConfigError("must be >= 0 with at most 6 decimals", field="price")
    unknown = [c for c in doc["centers"] if c not in known]
    if unknown:
        raise ConfigError(f"unknown center(s) {', '.join(unknown)}", field="centers")
    if doc["kind"] == "software":
        if not doc["centers"]:
            raise ConfigError("a software product names the centers where it is installed",
                              field="centers")
        return
    if doc.get("home_center") not in known:
        raise ConfigError(f"a {doc['kind']} needs a home_center among the federation's "
                          "centers", field="home_center")
    if int(doc.get("size_bytes") or 0) <= 0:
        raise ConfigError(f"a {doc['kind']} needs size_bytes > 0", field="size_bytes")


def create_product(session: Session, provider_id: int, doc: dict[str, Any],
                   known_centers: Iterable[str], now: datetime | None = None) -> Product:
    """List a new product (version 1) owned by ``provider_id``. ``doc``: name, kind, title,
    release, description, centers, home_center, size_bytes, price_unit, price."""
    if latest(session, doc["name"]) is not None:
        raise ConfigError(f"product {doc['name']!r} exists; add a version to change it",
                          field="name")
    doc = {**DEFAULTS, **{k: v for k, v in doc.items() if v is not None}}
    _check(doc, known_centers)
    now = now or utcnow()
    row = Product(name=doc["name"], version=1, provider_id=provider_id,
                  **{k: doc.get(k) for k in FIELDS}, valid_from=now, created_at=now)
    session.add(row)
    session.flush()
    return row


def add_version(session: Session, provider_id: int, name: str, changes: dict[str, Any],
                known_centers: Iterable[str], now: datetime | None = None) -> Product:
    """Append version n + 1 of ``name`` with ``changes`` applied (only its provider may)."""
    old = latest(session, name)
    if old is None:
        raise NotFoundError(f"no product {name!r}")
    if old.provider_id != provider_id:
        raise PermissionError(f"product {name!r} belongs to another provider")
    doc = {k: getattr(old, k) for k in FIELDS}
    doc.update({k: v for k, v in changes.items() if k in FIELDS and v is not None})
    doc["name"] = name
    _check(doc, known_centers)
    now = now or utcnow()
    row = Product(name=name, version=old.version + 1, provider_id=provider_id,
                  **{k: doc[k] for k in FIELDS}, valid_from=now, created_at=now)
    session.add(row)
    session.flush()
    return row


def latest(session: Session, name: str) -> Product | None:
    return session.execute(select(Product).where(Product.name == name)
                           .order_by(Product.version.desc()).limit(1)).scalar_one_or_none()


def version_at(session: Session, name: str, at: datetime) -> Product | None:
    """The version valid at ``at`` (the first version for earlier times)."""
    rows = versions(session, name)
    valid = [p for p in rows if p.valid_from <= at]
    return valid[-1] if valid else (rows[0] if rows else None)


def versions(session: Session, name: str) -> list[Product]:
    return list(session.execute(select(Product).where(Product.name == name)
                                .order_by(Product.version)).scalars())


def search(session: Session, *, kind: str | None = None, q: str | None = None,
           center: str | None = None, provider_id: int | None = None, limit: int = 100
           ) -> list[Product]:
    """Latest version of each product, filtered; ``q`` matches name, title or description."""
    newest = (select(Product.name, func.max(Product.version).label("v"))
              .group_by(Product.name).subquery())
    stmt = select(Product).join(newest, (Product.name == newest.c.name)
                                & (Product.version == newest.c.v))
    if kind:
        stmt = stmt.where(Product.kind == kind)
    if provider_id is not None:
        stmt = stmt.where(Product.provider_id == provider_id)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(func.lower(Product.name).like(like),
                              func.lower(Product.title).like(like),
                              func.lower(Product.description).like(like)))
    rows = list(session.execute(stmt.order_by(Product.name)).scalars())
    if center:
        rows = [p for p in rows if center in (p.centers or []) or p.home_center == center]
    return rows[:limit]


def attached_names(spec: dict) -> list[tuple[str, str]]:
    """(field, product name) for every product the spec attaches."""
    out = [("software", n) for n in spec.get("software", [])]
    if spec.get("base_model"):
        out.append(("base_model", spec["base_model"]))
    return out + [("datasets", n) for n in spec.get("datasets", [])]


def transfer_price(session: Session, center: str, at: datetime) -> Decimal:
    """WAN price per GB into ``center`` (price item ``transfer_gb``, center-specific or ``*``)."""
    for c in (center, ANY):
        item = price_at(session, kind="transfer_gb", center=c, resource=ANY, at=at)
        if item is not None:
            return item.price
    return Decimal(0)


def attachments(session: Session, spec: dict, *, center_hint: str = ANY,
                now: datetime | None = None) -> list[Attachment]:
    """The planner's view of the spec's products (latest versions). Raises ConfigError naming
    the spec field when a product is unknown or attached in the wrong field."""
    out = []
    now = now or utcnow()
    for fieldname, name in attached_names(spec):
        p = latest(session, name)
        if p is None:
            raise ConfigError(f"no product {name!r} in the marketplace "
                              "(`suanwang products list`)", field=fieldname)
        want = {"software": ("software",), "base_model": ("model",),
                "datasets": ("dataset",)}[fieldname]
        if p.kind not in want:
            raise ConfigError(f"product {name!r} is a {p.kind}, not a {want[0]}",
                              field=fieldname)
        out.append(Attachment(name=p.name, kind=p.kind, centers=tuple(p.centers or ()),
                              home_center=p.home_center, size_bytes=int(p.size_bytes or 0),
                              transfer_price_per_gb=transfer_price(session, center_hint, now)))
    return out
