"""The ledger: append-only money movements and the balance row they explain.

Every function locks the tenant's balance row (``SELECT ... FOR UPDATE`` on PostgreSQL; on
SQLite the IMMEDIATE write transaction already serialises writers), appends one
:class:`LedgerEntry` with a unique idempotency key, and updates ``balances`` in the same
transaction. A repeated key returns the existing entry and changes nothing.

* top_up: amount += x
* hold: held += x, only if amount - held >= x (else :class:`InsufficientBalance`); a tenant
  whose available balance is zero or below can therefore start nothing.
* release: held -= the job's open hold
* charge: amount -= x (may end below zero if a job overran its hold; later holds then fail)
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from suanwang.core.errors import ConfigError, NotFoundError, SuanwangError
from suanwang.store.base import utcnow
from suanwang.store.models import Balance, LedgerEntry


class InsufficientBalance(SuanwangError):
    """A hold did not fit the tenant's available balance."""


def _locked_balance(session: Session, tenant_id: int) -> Balance:
    bal = session.execute(select(Balance).where(Balance.tenant_id == tenant_id)
                          .with_for_update()).scalar_one_or_none()
    if bal is None:
        raise NotFoundError(f"tenant {tenant_id} has no balance row")
    return bal


def _existing(session: Session, key: str) -> LedgerEntry | None:
    return session.execute(select(LedgerEntry).where(LedgerEntry.idempotency_key == key)
                           ).scalar_one_or_none()


def _append(session: Session, bal: Balance, *, kind: str, amount: Decimal, key: str,
            job_id: int | None, detail: dict) -> LedgerEntry:
    now = utcnow()
    bal.updated_at = now
    entry = LedgerEntry(tenant_id=bal.tenant_id, kind=kind, amount=amount, job_id=job_id,
                        idempotency_key=key, balance_after=bal.amount, held_after=bal.held,
                        at=now, detail=detail)
    session.add(entry)
    session.flush()
    return entry


def top_up(session: Session, tenant_id: int, amount: Decimal, *, key: str, note: str = ""
           ) -> LedgerEntry:
    """Add ``amount`` (> 0, <= 4 dp) to the balance; idempotent on ``key``."""
    if amount <= 0 or amount != amount.quantize(Decimal("0.0001")):
        raise ConfigError(f"must be > 0 with at most 4 decimals (got {amount})", field="amount")
    if (old := _existing(session, f"topup:{key}")) is not None:
        return old
    bal = _locked_balance(session, tenant_id)
    bal.amount = bal.amount + amount
    return _append(session, bal, kind="topup", amount=amount, key=f"topup:{key}", job_id=None,
                   detail={"note": note})


def place_hold(session: Session, tenant_id: int, job_id: int, amount: Decimal) -> bool:
    """Hold ``amount`` for ``job_id`` at admission. True if held (or already held for this
    job); False, changing nothing, if ``amount`` exceeds the available balance (the job then
    stays PENDING with reason ``insufficient_balance``). A zero quote still needs a positive
    available balance, so a tenant at or below zero starts nothing."""
    key = f"hold:{job_id}"
    if _existing(session, key) is not None:
        return True
    bal = _locked_balance(session, tenant_id)
    available = bal.amount - bal.held
    if available <= 0 or amount > available:
        return False
    bal.held = bal.held + amount
    _append(session, bal, kind="hold", amount=amount, key=key, job_id=job_id, detail={})
    return True


def open_hold(session: Session, job_id: int) -> Decimal:
    """The job's hold still open (0 if none or released)."""
    hold = _existing(session, f"hold:{job_id}")
    if hold is None or _existing(session, f"release:{job_id}") is not None:
        return Decimal(0)
    return hold.amount


def release_hold(session: Session, job_id: int) -> Decimal:
    """Release the job's hold (idempotent); returns the amount released (0 if none)."""
    hold = _existing(session, f"hold:{job_id}")
    if hold is None or _existing(session, f"release:{job_id}") is not None:
        return Decimal(0)
    bal = _locked_balance(session, hold.tenant_id)
    bal.held = bal.held - hold.amount
    _append(session, bal, kind="release", amount=hold.amount, key=f"release:{job_id}",
            job_id=job_id, detail={})
    return hold.amount


def charge(session: Session, tenant_id: int, amount: Decimal, *, key: str,
           job_id: int | None = None, detail: dict | None = None) -> LedgerEntry:
    """Subtract ``amount`` (>= 0) from the balance; idempotent on ``key``."""
    if (old := _existing(session, f"charge:{key}")) is not None:
        return old
    bal = _locked_balance(session, tenant_id)
    bal.amount = bal.amount - amount
    return _append(session, bal, kind="charge", amount=amount, key=f"charge:{key}",
                   job_id=job_id, detail=detail or {})


def balance_of(session: Session, tenant_id: int) -> Balance:
    bal = session.get(Balance, tenant_id)
    if bal is None:
        raise NotFoundError(f"tenant {tenant_id} has no balance row")
    return bal


def entries(session: Session, tenant_id: int, limit: int = 100) -> list[LedgerEntry]:
    return list(session.execute(select(LedgerEntry).where(LedgerEntry.tenant_id == tenant_id)
                                .order_by(LedgerEntry.id.desc()).limit(limit)).scalars())
