"""Bulk admission holds: many ``place_hold`` decisions in one transaction with a constant number
of statements (docs/billing.md, "Holds").

:func:`suanwang.store.billing.ledger.place_hold` locks the tenant's balance row, looks up the
job's idempotency key, appends one entry and flushes — four round trips per job, ~85% of the
controller's burst tick with 1,000 pending jobs (docs/control.md). :class:`HoldBatch` applies
*exactly the same money rules* to a whole batch:

* one ``SELECT ... FOR UPDATE`` of the balance rows of every tenant involved (ordered by tenant
  id, so two batches never deadlock on PostgreSQL; SQLite's IMMEDIATE transaction serialises
  writers anyway), and one ``SELECT`` of the existing ``hold:{job_id}`` keys (500 per ``IN``);
* each :meth:`HoldBatch.hold` decides in memory, in call order, with ``Decimal`` arithmetic:
  already held for this job -> True, unchanged; ``available = amount - held``; refused (False)
  if ``available <= 0`` or ``x > available``; else ``held += x``;
* :meth:`HoldBatch.write` appends every accepted hold as one ``ledger_entries`` row (key
  ``hold:{job_id}``, ``balance_after``/``held_after`` the running values after that hold, as
  the one-by-one path records them) in one executemany, and updates each balance row once.

Sequential ``place_hold`` calls in the same order give the same decisions, the same ledger rows
and the same final balances (``tests/integration/store/test_hold_batch.py`` checks this against
the one-by-one path). Nothing commits; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from suanwang.core.errors import NotFoundError
from suanwang.store.base import utcnow
from suanwang.store.models import Balance, LedgerEntry

CHUNK = 500


def _hold_key(job_id: int) -> str:
    return f"hold:{job_id}"


class HoldBatch:
    """Holds for many jobs of any tenants, decided in memory and written in bulk.

    ``tenant_ids``: every tenant a later :meth:`hold` may name (their balance rows are locked
    now; a tenant without a balance row raises :class:`NotFoundError`, as ``place_hold`` does).
    ``job_ids``: the jobs that may be held (their existing hold entries are read now).
    """

    def __init__(self, session: Session, tenant_ids: Iterable[int], job_ids: Iterable[int]):
        self._session = session
        tenants = sorted(set(tenant_ids))
        self._bal: dict[int, Balance] = {}
        for i in range(0, len(tenants), CHUNK):
            rows = session.execute(
                select(Balance).where(Balance.tenant_id.in_(tenants[i:i + CHUNK]))
                .order_by(Balance.tenant_id).with_for_update()).scalars()
            self._bal.update((b.tenant_id, b) for b in rows)
        if missing := [t for t in tenants if t not in self._bal]:
            raise NotFoundError(f"tenant {missing[0]} has no balance row")
        self._amount = {t: b.amount for t, b in self._bal.items()}
        self._held = {t: b.held for t, b in self._bal.items()}
        self._done = self._existing_holds(sorted(set(job_ids)))
        self._rows: list[dict[str, Any]] = []

    def _existing_holds(self, job_ids: Sequence[int]) -> set[int]:
        keys = [_hold_key(j) for j in job_ids]
        done: set[int] = set()
        for i in range(0, len(keys), CHUNK):
            done.update(self._session.execute(
                select(LedgerEntry.job_id)
                .where(LedgerEntry.idempotency_key.in_(keys[i:i + CHUNK]))).scalars())
        return done

    def available(self, tenant_id: int) -> Decimal:
        """``amount - held`` of the tenant after the holds accepted so far (money, Decimal)."""
        return self._amount[tenant_id] - self._held[tenant_id]

    def hold(self, tenant_id: int, job_id: int, amount: Decimal) -> bool:
        """The decision ``place_hold(session, tenant_id, job_id, amount)`` would make at this
        point of the batch; an accepted hold is queued for :meth:`write`."""
        if tenant_id not in self._bal:
            raise NotFoundError(f"tenant {tenant_id} was not locked by this batch")
        if job_id in self._done:
            return True
        available = self.available(tenant_id)
        if available <= 0 or amount > available:
            return False
        self._held[tenant_id] += amount
        self._done.add(job_id)
        self._rows.append({"tenant_id": tenant_id, "kind": "hold", "amount": amount,
                           "job_id": job_id, "idempotency_key": _hold_key(job_id),
                           "balance_after": self._amount[tenant_id],
                           "held_after": self._held[tenant_id], "detail": {}})
        return True

    def write(self) -> int:
        """Append the accepted holds' ledger entries (one executemany) and update the balance
        rows they changed; returns the number of entries written. Call once, before commit."""
        if not self._rows:
            return 0
        now = utcnow()
        for row in self._rows:
            row["at"] = now
        self._session.execute(insert(LedgerEntry), self._rows)
        for t in {r["tenant_id"] for r in self._rows}:
            bal = self._bal[t]
            bal.held = self._held[t]
            bal.updated_at = now
        self._session.flush()
        n, self._rows = len(self._rows), []
        return n


def place_holds(session: Session, requests: Sequence[tuple[int, int, Decimal]]) -> list[bool]:
    """Bulk ``place_hold``: ``requests`` are (tenant_id, job_id, amount) in decision order;
    returns one bool per request, as the same sequence of ``place_hold`` calls would."""
    batch = HoldBatch(session, (t for t, _j, _a in requests), (j for _t, j, _a in requests))
    out = [batch.hold(t, j, a) for t, j, a in requests]
    batch.write()
    return out
