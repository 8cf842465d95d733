"""Tenants and API tokens: create (prints the token once), resolve a bearer token.

Tokens are 32 random bytes (``secrets.token_urlsafe``) prefixed ``sw_``; only their SHA-256 is
stored. SHA-256 without salt is enough here because the token itself carries 256 bits of
entropy (no dictionary to attack), and it makes lookup an indexed equality.
"""

from __future__ import annotations

import hashlib
import secrets
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from suanwang.core.errors import ConfigError
from suanwang.store.base import utcnow
from suanwang.store.models import ApiToken, Balance, Quota, Tenant

TOKEN_PREFIX = "sw_"

MAX_AMOUNT = Decimal("1E+12")
"""Largest money amount (CNY) a balance, top-up or initial balance may be: the API's ``MoneyIn``
bound (api/schemas/common.py) and the CLI's ``--balance`` check share this value. Amounts are
stored as NUMERIC with 4 decimals; 1E+12 keeps them inside SQLite's 64-bit integer storage."""


def check_amount(value: Decimal, field: str = "--balance") -> Decimal:
    """``value`` unchanged if it is a finite amount in [0, MAX_AMOUNT] with at most 4 decimals;
    else ConfigError naming ``field`` and the limit."""
    if (not value.is_finite() or value < 0 or value > MAX_AMOUNT
            or value != value.quantize(Decimal("0.0001"))):
        raise ConfigError(f"must be between 0 and {MAX_AMOUNT} with at most 4 decimals "
                          f"(got {value})", field=field)
    return value


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_tenant(session: Session, name: str, *, balance: Decimal = Decimal(0),
                  is_admin: bool = False, max_devices: int = 0) -> tuple[Tenant, str]:
    """Insert a tenant with a quota, a balance (as a ledger top-up) and one token.

    Returns (tenant, token); the clear token exists only in the return value. Raises
    ConfigError if the name is taken or the balance is not in [0, MAX_AMOUNT] (4 decimals).
    """
    from suanwang.store.billing.ledger import top_up

    if session.execute(select(Tenant.id).where(Tenant.name == name)).first():
        raise ConfigError(f"tenant {name!r} already exists", field="name")
    check_amount(balance)
    tenant = Tenant(name=name, is_admin=is_admin)
    session.add(tenant)
    session.flush()
    session.add(Quota(tenant_id=tenant.id, max_devices=max_devices))
    session.add(Balance(tenant_id=tenant.id, amount=Decimal(0), held=Decimal(0)))
    session.flush()
    if balance > 0:
        top_up(session, tenant.id, balance, key=f"initial:{tenant.id}", note="initial balance")
    token = issue_token(session, tenant.id)
    return tenant, token


def issue_token(session: Session, tenant_id: int) -> str:
    """A new token for ``tenant_id`` (returned in clear once, stored hashed)."""
    token = new_token()
    session.add(ApiToken(tenant_id=tenant_id, token_hash=hash_token(token),
                         prefix=token[:8]))
    return token


def resolve_token(session: Session, token: str) -> Tenant | None:
    """The tenant owning ``token`` if it is valid and not revoked, else None."""
    row = session.execute(
        select(Tenant).join(ApiToken, ApiToken.tenant_id == Tenant.id)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    ).scalar_one_or_none()
    return row


def revoke_tokens(session: Session, tenant_id: int) -> int:
    rows = session.execute(select(ApiToken).where(ApiToken.tenant_id == tenant_id,
                                                  ApiToken.revoked_at.is_(None))).scalars()
    n = 0
    for tok in rows:
        tok.revoked_at = utcnow()
        n += 1
    return n


def get_tenant(session: Session, name_or_id: str | int) -> Tenant | None:
    if isinstance(name_or_id, int) or str(name_or_id).isdigit():
        return session.get(Tenant, int(name_or_id))
    return session.execute(select(Tenant).where(Tenant.name == name_or_id)).scalar_one_or_none()
