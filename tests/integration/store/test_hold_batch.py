"""The bulk hold (store.billing.hold_batch) makes exactly the decisions, ledger rows and final
balances of the same sequence of one-by-one ``place_hold`` calls, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from suanwang.core.errors import NotFoundError
from suanwang.store import jobs
from suanwang.store.billing import balance_of, place_hold, place_holds
from suanwang.store.billing.hold_batch import HoldBatch
from suanwang.store.billing.ledger import charge
from suanwang.store.models import LedgerEntry
from suanwang.store.tenants import create_tenant

SPEC = {"kind": "batch", "name": "h", "command": "true", "walltime_s": 60, "devices": 1}
D = Decimal


def _world(s, tag: str):
    """Three tenants (balances 10, 5, 3 - 4 charged = -1) and 8 jobs; job 0 already held 1."""
    t = [create_tenant(s, f"{tag}{i}", balance=b)[0].id for i, b in enumerate((D(10), D(5),
                                                                              D(3)))]
    charge(s, t[2], D(4), key=f"{tag}-overrun")
    owners = [t[0], t[0], t[1], t[0], t[1], t[2], t[0], t[1]]
    js = [jobs.create_job(s, tenant_id=o, spec=SPEC).id for o in owners]
    assert place_hold(s, t[0], js[0], D(1))
    amounts = [D(1), D("4.5"), D(5), D("4.5"), D("0.0001"), D(0), D("0.0001"), D(0)]
    reqs = [(o, j, a) for o, j, a in zip(owners, js, amounts, strict=True)]
    return t, [*reqs, reqs[1]]  # the last one repeats job 1: already held by then


def _ledger(s, tenants):
    return [(tenants.index(e.tenant_id), e.kind, e.amount, e.balance_after, e.held_after)
            for e in s.execute(select(LedgerEntry).where(LedgerEntry.tenant_id.in_(tenants))
                               .order_by(LedgerEntry.id)).scalars()]


def test_bulk_holds_equal_one_by_one_holds(s):
    ta, ra = _world(s, "seq")
    tb, rb = _world(s, "bulk")
    one_by_one = [place_hold(s, t, j, a) for t, j, a in ra]
    bulk = place_holds(s, rb)
    s.commit()
    # by hand: t0 has 10, 1 held -> 4.5 fits (held 5.5), 4.5 fits (held 10), 0.0001 does not
    # (available 0); t1 has 5 -> 5 fits (held 5), 0.0001 no, 0 no (available 0 refuses even a
    # zero quote); t2 is at -1 -> 0 refused; job 0 and the repeated job 1 are already held
    assert one_by_one == bulk == [True, True, True, True, False, False, False, False, True]
    assert _ledger(s, ta) == _ledger(s, tb)
    assert [(balance_of(s, t).amount, balance_of(s, t).held) for t in tb] == [
        (D(10), D(10)), (D(5), D(5)), (D(-1), D(0))]
    assert place_holds(s, rb) == bulk  # idempotent: a replayed tick holds nothing twice
    assert _ledger(s, ta) == _ledger(s, tb)


def test_batch_refuses_unknown_tenants(s):
    with pytest.raises(NotFoundError, match="no balance row"):
        HoldBatch(s, [987654], [])
    t = create_tenant(s, "solo", balance=D(1))[0].id
    batch = HoldBatch(s, [t], [])
    with pytest.raises(NotFoundError, match="not locked"):
        batch.hold(t + 1, 1, D(1))
    assert batch.write() == 0
