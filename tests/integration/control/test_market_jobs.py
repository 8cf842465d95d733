"""Marketplace jobs through the real controller (sim centers): products restrict placement,
settlement bills products and transfers, provider statements add up, leases cover usage."""

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from suanwang.store import jobs as repo
from suanwang.store import leases, market
from suanwang.store.billing.market import provider_statement
from suanwang.store.billing.prices import add_price
from suanwang.store.models import InvoiceLine
from suanwang.store.tenants import create_tenant

TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")
CENTERS = ["local", "beijing-ai", "shanghai-ai", "wuhan-ai", "guiyang-ai", "wuxi-sc",
           "tianjin-sc"]


def _run(p, ids, timeout=60):
    t0 = time.time()
    while time.time() - t0 < timeout:
        p.ctl.tick()
        with p.read() as s:
            jobs = [repo.get_job(s, i, tenant_id=None) for i in ids]
        if all(j.state in TERMINAL for j in jobs):
            return jobs
        time.sleep(0.1)
    raise AssertionError([(j.id, j.state, j.reason) for j in jobs])


def _products(p):
    with p.write() as s:
        prov = create_tenant(s, "provider", balance=Decimal(0))[0].id
        market.create_product(s, prov, {"name": "openfoam", "kind": "software",
                                        "centers": ["tianjin-sc"], "price_unit": "node_hour",
                                        "price": Decimal("2")}, CENTERS)
        market.create_product(s, prov, {"name": "lammps", "kind": "software",
                                        "centers": ["wuxi-sc", "tianjin-sc"],
                                        "price_unit": "use", "price": Decimal("5")}, CENTERS)
        market.create_product(s, prov, {"name": "corpus", "kind": "dataset",
                                        "home_center": "wuxi-sc", "size_bytes": 2 * 10**12,
                                        "price_unit": "gb", "price": Decimal("0.001")}, CENTERS)
        add_price(s, kind="transfer_gb", center="*", resource="*", price=Decimal("0.02"),
                  valid_from=datetime(2000, 1, 1, tzinfo=UTC))
        s.commit()
    return prov


def test_products_place_bill_and_pay_the_provider(platform):
    p = platform
    prov = _products(p)
    base = {"kind": "batch", "command": "x", "nodes": 2, "node_type": "CPU-2xEPYC9654",
            "walltime_s": 600}
    with p.write() as s:
        ids = [repo.create_job(s, tenant_id=p.tenant, spec={**base, "name": n, **extra}).id
               for n, extra in (("cfd", {"software": ["openfoam"]}),
                                ("md", {"software": ["lammps"], "datasets": ["corpus"],
                                        "constraints": {"centers": ["tianjin-sc"]}}),
                                ("none", {"software": ["nope"]}))]
        s.commit()
    cfd, md, none = _run(p, ids)
    assert cfd.state == "SUCCEEDED" and cfd.placement["center"] == "tianjin-sc"
    assert md.state == "SUCCEEDED" and md.placement["center"] == "tianjin-sc"
    assert md.plan["pools"]["tianjin-sc/CPU-2xEPYC9654"]["transfer_cost"] == "40.0000"
    assert md.quote >= Decimal(40)  # the hold covers the WAN transfer of 2,000 GB x 0.02
    assert none.state == "FAILED" and none.reason == "infeasible"
    with p.read() as s:
        lines = s.query(InvoiceLine).filter(InvoiceLine.tenant_id == p.tenant).all()
        soft = [ln for ln in lines if ln.kind == "software"]
        assert {ln.description.split(": ", 1)[1] for ln in soft} == {
            "software openfoam v1 per node-hour", "software lammps v1 per use",
            "dataset corpus v1 per GB"}
        transfer = [ln for ln in lines if ln.kind == "transfer"]
        assert len(transfer) == 1 and transfer[0].amount == Decimal("40.0000")  # 2,000 GB
        assert "wuxi-sc -> tianjin-sc" in transfer[0].description
        paid = sum((ln.amount for ln in soft), Decimal(0))
        period = soft[0].at.strftime("%Y-%m")
        st = provider_statement(s, prov, period)
        assert st["total"] == paid > 0
        assert {x["name"] for x in st["products"]} == {"openfoam", "lammps", "corpus"}


def test_usage_inside_a_lease_is_not_billed_again(platform):
    p = platform
    now = datetime.now(UTC)
    with p.write() as s:
        lease = leases.create_lease(s, p.tenant, center="shanghai-ai", accelerator="H800",
                                    devices=16, start=now - timedelta(minutes=1),
                                    end=now + timedelta(hours=2))
        s.commit()
        lease_amount = lease.amount
    spec = {"kind": "batch", "name": "in-lease", "command": "x", "nodes": 2,
            "accelerator": "H800", "walltime_s": 600,
            "constraints": {"centers": ["shanghai-ai"]}}
    with p.write() as s:
        jid = repo.create_job(s, tenant_id=p.tenant, spec=spec).id
        s.commit()
    (job,) = _run(p, [jid])
    assert job.state == "SUCCEEDED"
    with p.read() as s:
        lines = s.query(InvoiceLine).filter(InvoiceLine.job_id == jid).all()
        resource = sum(ln.amount for ln in lines if ln.kind == "resource")
        credit = sum(ln.amount for ln in lines if ln.kind == "lease")
        assert resource > 0 and credit == -resource  # the lease already paid for the devices
        lease_line = s.query(InvoiceLine).filter(InvoiceLine.idempotency_key
                                                 == f"lease:{lease.id}").one()
        assert lease_line.amount == lease_amount  # billed whole, used or not


def _local(name, command, preemptible=True):
    return {"kind": "batch", "name": name, "command": command, "devices": 2,
            "accelerator": "CPU-local", "walltime_s": 120,
            "constraints": {"centers": ["local"], "preemptible": preemptible}}


def _state(p, jid):
    with p.read() as s:
        return repo.get_job(s, jid, tenant_id=None)


def _ticks_until_started(p, mine, borrow) -> int:
    """Controller ticks until ``mine`` leaves PENDING/ADMITTED (at most 40; the borrower
    ``borrow``'s state is shown if it never does)."""
    ticks = 0
    while _state(p, mine).state in ("PENDING", "ADMITTED"):
        assert ticks < 40, (_state(p, mine).state, _state(p, borrow).state)
        p.ctl.tick()
        ticks += 1
        time.sleep(0.1)
    return ticks


def test_lease_reserves_lends_and_reclaims_by_preemption(platform):
    """local/CPU-local has 2 devices; the holder leases both. A non-preemptible job of another
    tenant waits; a preemptible one borrows the lease and is preempted when the holder's job
    arrives, which then starts within a tick of the borrower's stop."""
    p = platform
    now = datetime.now(UTC)
    with p.write() as s:
        holder = create_tenant(s, "holder", balance=Decimal(1000))[0].id
        leases.create_lease(s, holder, center="local", accelerator="CPU-local", devices=2,
                            start=now - timedelta(minutes=1), end=now + timedelta(hours=1))
        fixed = repo.create_job(s, tenant_id=p.tenant,
                                spec=_local("fixed", "sleep 1", preemptible=False)).id
        borrow = repo.create_job(s, tenant_id=p.tenant, spec=_local("borrow", "sleep 60")).id
        s.commit()
    t0 = time.time()
    while _state(p, borrow).state != "RUNNING":
        assert time.time() - t0 < 30, _state(p, borrow).state
        p.ctl.tick()
        time.sleep(0.1)
    assert _state(p, fixed).state == "ADMITTED"  # the lease's capacity is not for it
    with p.write() as s:
        mine = repo.create_job(s, tenant_id=holder, spec=_local("mine", "sleep 0.5")).id
        s.commit()
    ticks = _ticks_until_started(p, mine, borrow)
    # admit, preempt + stop the borrower, start: a few ticks, not the borrower's 60 s
    assert ticks <= 6 and time.time() - t0 < 30
    with p.read() as s:
        reasons = [e.reason for e in repo.events(s, borrow)]
    assert _state(p, borrow).state in ("RETRYING", "ADMITTED", "DISPATCHED", "RUNNING")
    assert any("preempt" in r for r in reasons), reasons
    assert _state(p, fixed).state == "ADMITTED"


@pytest.mark.slow  # ~20 s: a simulated training job checkpoints, is preempted and resumes
def test_borrowed_lease_reclaimed_from_a_checkpointing_training_job(platform):
    """tianjin-sc's 768 A100-40GB are leased; another tenant's preemptible training job borrows
    all of them and checkpoints (simulated center, 600x); the holder's job arrives, the
    borrower is preempted keeping its checkpointed progress, the holder's job starts within a
    few ticks, and the borrower resumes from its checkpoint afterwards."""
    p = platform
    pool = {"centers": ["tianjin-sc"], "accelerators": ["A100-SXM-40GB"]}
    now = datetime.now(UTC)
    with p.write() as s:
        holder = create_tenant(s, "holder", balance=Decimal(100_000))[0].id
        leases.create_lease(s, holder, center="tianjin-sc", accelerator="A100-SXM-40GB",
                            devices=768, start=now - timedelta(minutes=1),
                            end=now + timedelta(hours=1))
        borrow = repo.create_job(s, tenant_id=p.tenant, spec={
            "kind": "training", "name": "borrow", "model": "llama3-8b", "tokens": 2e10,
            "global_batch": 768,
            "constraints": {**pool, "min_devices": 768, "max_devices": 768}}).id
        s.commit()
    t0 = time.time()
    while True:  # running and past a few checkpoints (every ~226 virtual s = 0.4 s here)
        p.ctl.tick()
        with p.read() as s:
            ckpts = [e for e in repo.events(s, borrow) if e.reason == "checkpoint"]
        if len(ckpts) >= 2:
            break
        assert time.time() - t0 < 40, _state(p, borrow).state
        time.sleep(0.2)
    with p.write() as s:
        mine = repo.create_job(s, tenant_id=holder, spec={
            "kind": "batch", "name": "mine", "command": "x", "devices": 768,
            "accelerator": "A100-SXM-40GB", "walltime_s": 600,
            "constraints": {"centers": ["tianjin-sc"]}}).id
        s.commit()
    ticks = _ticks_until_started(p, mine, borrow)
    assert ticks <= 6  # admit, preempt, the borrower stops, start
    jobs = _run(p, [mine, borrow], timeout=90)
    assert [j.state for j in jobs] == ["SUCCEEDED", "SUCCEEDED"]
    with p.read() as s:
        atts = repo.attempts(s, borrow)
        reasons = [e.reason for e in repo.events(s, borrow)]
    assert "preempted" in reasons and atts[0].detail.get("preempt")
    assert float(atts[0].detail["progress"]) > 0  # checkpointed work kept
    assert float(atts[1].detail["progress_at_start"]) == float(atts[0].detail["progress"])
