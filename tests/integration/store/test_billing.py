"""Billing arithmetic checked by hand, a price change mid-month, holds and idempotent settlement.

Every expected number below is worked out in the comment next to it, not recomputed by the code
under test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from suanwang.store import jobs, usage
from suanwang.store.billing import balance_of, place_hold, quote, settle
from suanwang.store.billing.invoices import get_invoice
from suanwang.store.billing.ledger import charge, entries
from suanwang.store.billing.prices import add_price
from suanwang.store.models import Attempt
from suanwang.store.tenants import create_tenant

NOV = datetime(2026, 11, 1, tzinfo=UTC)
BATCH = {"kind": "batch", "name": "sim", "command": "true", "walltime_s": 3600, "devices": 2}


def _job_with_attempts(s, tenant_id, spans, *, devices=2, energy=()):
    """A job with one finished attempt per (start, seconds) span on local/CPU-local."""
    job = jobs.create_job(s, tenant_id=tenant_id, spec=BATCH)
    for n, (start, seconds) in enumerate(spans, start=1):
        a = Attempt(job_id=job.id, n=n, center="local", backend="local",
                    accelerator="CPU-local", devices=devices, nodes=1)
        s.add(a)
        s.flush()
        usage.record_usage(s, attempt_id=a.id, device_seconds=devices * seconds,
                           node_seconds=seconds, energy_kwh=energy[n - 1] if energy else 0,
                           started_at=start, ended_at=start + timedelta(seconds=seconds))
    return job


def _prices(s, device=Decimal("2.5"), energy=Decimal("0.8"), at=NOV - timedelta(days=30)):
    add_price(s, kind="device_hour", center="local", resource="CPU-local", price=device,
              valid_from=at)
    add_price(s, kind="energy_kwh", center="local", resource="*", price=energy, valid_from=at)


def test_one_invoice_by_hand(session):
    s = session
    # Seeded demo prices exist from EPOCH; ours are later versions and win for November.
    _prices(s)
    tenant, _ = create_tenant(s, "acme", balance=Decimal("100"))
    job = _job_with_attempts(s, tenant.id, [(NOV + timedelta(days=3), 1800),
                                            (NOV + timedelta(days=4), 2700),
                                            (NOV + timedelta(days=5), 500)],
                             energy=(Decimal("0.35"), Decimal("0.525"), Decimal("0.1")))
    assert place_hold(s, tenant.id, job.id, Decimal("20"))
    assert balance_of(s, tenant.id).held == Decimal("20")
    total = settle(s, job.id)
    # attempt 1: 2 devices x 1800 s = 1.0 device-h x 2.5 = 2.5000; 0.35 kWh x 0.8 = 0.2800
    # attempt 2: 2 x 2700 s = 1.5 device-h x 2.5 = 3.7500; 0.525 kWh x 0.8 = 0.4200
    # attempt 3: 2 x 500 s = 0.277777(7) -> 0.277777 device-h (down) x 2.5 = 0.6944425 ->
    #            0.6944 (half-up); 0.1 kWh x 0.8 = 0.0800
    # total = 2.5 + 0.28 + 3.75 + 0.42 + 0.6944 + 0.08 = 7.7244
    assert total == Decimal("7.7244")
    inv, lines = get_invoice(s, tenant.id, "2026-11")
    assert inv.total == Decimal("7.7244")
    got = sorted((li.kind, li.quantity, li.unit_price, li.amount) for li in lines)
    assert got == sorted([
        ("resource", Decimal("1.000000"), Decimal("2.5"), Decimal("2.5")),
        ("resource", Decimal("1.500000"), Decimal("2.5"), Decimal("3.75")),
        ("resource", Decimal("0.277777"), Decimal("2.5"), Decimal("0.6944")),
        ("energy", Decimal("0.350000"), Decimal("0.8"), Decimal("0.28")),
        ("energy", Decimal("0.525000"), Decimal("0.8"), Decimal("0.42")),
        ("energy", Decimal("0.100000"), Decimal("0.8"), Decimal("0.08")),
    ])
    bal = balance_of(s, tenant.id)
    assert (bal.amount, bal.held) == (Decimal("92.2756"), Decimal("0"))  # 100 - 7.7244


def test_price_change_mid_month_splits_usage(session):
    s = session
    change = datetime(2026, 11, 15, tzinfo=UTC)
    _prices(s, device=Decimal("2"), energy=Decimal("0"))
    add_price(s, kind="device_hour", center="local", resource="CPU-local", price=Decimal("3"),
              valid_from=change)
    tenant, _ = create_tenant(s, "acme", balance=Decimal("100"))
    before = _job_with_attempts(s, tenant.id, [(NOV + timedelta(days=9), 3600)], devices=1)
    across = _job_with_attempts(s, tenant.id, [(change - timedelta(hours=1), 7200)], devices=1)
    after = _job_with_attempts(s, tenant.id, [(change + timedelta(days=2), 3600)], devices=1)
    assert settle(s, before.id) == Decimal("2.0000")  # 1 device-h at the old 2.0
    assert settle(s, across.id) == Decimal("5.0000")  # 1 h at 2.0 before + 1 h at 3.0 after
    assert settle(s, after.id) == Decimal("3.0000")  # 1 device-h at the new 3.0
    inv, lines = get_invoice(s, tenant.id, "2026-11")
    assert inv.total == Decimal("10.0000")
    resource = sorted((li.job_id, li.unit_price) for li in lines if li.kind == "resource")
    assert resource == [(before.id, Decimal(2)), (across.id, Decimal(2)), (across.id, Decimal(3)),
                        (after.id, Decimal(3))]


def test_settle_is_idempotent(session):
    s = session
    _prices(s)
    tenant, _ = create_tenant(s, "acme", balance=Decimal("10"))
    job = _job_with_attempts(s, tenant.id, [(NOV, 3600)], energy=(Decimal("1"),))
    assert place_hold(s, tenant.id, job.id, Decimal("6"))
    first = settle(s, job.id)  # 2 device-h x 2.5 = 5.0 + 1 kWh x 0.8 = 5.8
    assert first == settle(s, job.id) == Decimal("5.8000")
    kinds = sorted(e.kind for e in entries(s, tenant.id))
    assert kinds == ["charge", "hold", "release", "topup"]
    assert balance_of(s, tenant.id).amount == Decimal("4.2000")


def test_zero_balance_blocks_holds(session):
    s = session
    poor, _ = create_tenant(s, "poor", balance=Decimal("0"))
    job = jobs.create_job(s, tenant_id=poor.id, spec=BATCH)
    assert not place_hold(s, poor.id, job.id, Decimal("0.0001"))
    assert not place_hold(s, poor.id, job.id, Decimal("0"))  # even a free quote needs > 0
    # A tenant driven below zero by an overrun can start nothing more.
    rich, _ = create_tenant(s, "rich", balance=Decimal("1"))
    charge(s, rich.id, Decimal("1.5"), key="overrun")
    assert balance_of(s, rich.id).amount == Decimal("-0.5")
    job2 = jobs.create_job(s, tenant_id=rich.id, spec=BATCH)
    assert not place_hold(s, rich.id, job2.id, Decimal("0.01"))
    assert balance_of(s, rich.id).held == 0


def test_hold_must_fit_available_balance(session):
    s = session
    tenant, _ = create_tenant(s, "acme", balance=Decimal("10"))
    a = jobs.create_job(s, tenant_id=tenant.id, spec=BATCH)
    b = jobs.create_job(s, tenant_id=tenant.id, spec=BATCH)
    assert place_hold(s, tenant.id, a.id, Decimal("7"))
    assert place_hold(s, tenant.id, a.id, Decimal("7"))  # same job again: already held
    assert not place_hold(s, tenant.id, b.id, Decimal("3.0001"))  # available is 3
    assert place_hold(s, tenant.id, b.id, Decimal("3"))
    assert balance_of(s, tenant.id).available == 0


def test_quote_by_hand(session):
    s = session
    _prices(s, device=Decimal("2.5"), energy=Decimal("1"))
    q = quote(s, BATCH, {"center": "local", "accelerator": "CPU-local", "devices": 2})
    # walltime 3600 s x 2 devices = 2 device-h x 2.5 = 5.0; energy: the demo's CPU-local pool
    # draws W watts per device -> 2 device-h x W x (0.3 + 0.7 x 1.0) x PUE 1.0 / 1000 kWh x 1.0
    from suanwang.catalog import load_federation

    watts = load_federation().center("local").pool("CPU-local").watts_per_device
    expected = Decimal("5") + Decimal(repr(2 * watts / 1000))
    assert q == expected.quantize(Decimal("0.0001"), rounding="ROUND_CEILING")
    with pytest.raises(Exception, match="duration"):
        quote(s, {"kind": "training"}, {"center": "local", "accelerator": "CPU-local",
                                        "devices": 1})
