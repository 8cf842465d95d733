"""Marketplace and lease routes against a real app on SQLite (docs/marketplace.md)."""

from datetime import UTC, datetime, timedelta

import pytest

GROMACS = {"name": "gromacs", "kind": "software", "title": "GROMACS molecular dynamics",
           "release": "2024.3", "centers": ["tianjin-sc"], "price_unit": "node_hour",
           "price": "1.5"}
BATCH = {"kind": "batch", "name": "md", "command": "gmx mdrun", "nodes": 2,
         "node_type": "CPU-2xEPYC9654", "walltime_s": 3600, "software": ["gromacs"]}


def test_products_list_show_version_and_ownership(sqlite_platform):
    p = sqlite_platform
    r = p.client.post("/api/v1/products", json=GROMACS, headers=p.h("a"))
    assert r.status_code == 201 and r.json()["version"] == 1
    assert p.client.post("/api/v1/products", json=GROMACS, headers=p.h("b")).json()[
        "field"] == "name"
    bad = p.client.post("/api/v1/products", json={**GROMACS, "name": "x", "centers": []},
                        headers=p.h("a"))
    assert bad.status_code == 422 and bad.json()["field"] == "centers"
    bad = p.client.post("/api/v1/products", json={**GROMACS, "name": "y", "kind": "dataset",
                                                  "centers": []}, headers=p.h("a"))
    assert bad.status_code == 422 and bad.json()["field"] == "home_center"
    assert p.client.patch("/api/v1/products/gromacs", json={"price": "2"},
                          headers=p.h("b")).status_code == 403
    r = p.client.patch("/api/v1/products/gromacs", json={"price": "2"}, headers=p.h("a"))
    assert r.json()["version"] == 2 and r.json()["price"] == 2.0
    doc = p.client.get("/api/v1/products/gromacs", headers=p.h("b")).json()
    assert [v["price"] for v in doc["versions"]] == [1.5, 2.0]
    found = p.client.get("/api/v1/products", params={"q": "dynamics"}, headers=p.h("b")).json()
    assert [x["name"] for x in found["data"]] == ["gromacs"] and found["data"][0]["version"] == 2
    assert p.client.get("/api/v1/products", params={"kind": "model"},
                        headers=p.h("b")).json()["count"] == 0
    assert p.client.get("/api/v1/products/nope", headers=p.h("b")).status_code == 404


def test_plan_only_on_centers_with_the_software(sqlite_platform):
    p = sqlite_platform
    assert p.client.post("/api/v1/products", json=GROMACS, headers=p.h("a")).status_code == 201
    plain = {**BATCH, "software": []}
    centers = {o["center"] for o in p.client.post("/api/v1/plans", json=plain,
                                                  headers=p.h("b")).json()["options"]}
    assert centers == {"wuxi-sc", "tianjin-sc"}
    r = p.client.post("/api/v1/plans", json=BATCH, headers=p.h("b"))
    assert {o["center"] for o in r.json()["options"]} == {"tianjin-sc"}
    r = p.client.post("/api/v1/plans", json={**BATCH, "software": ["nope"]}, headers=p.h("b"))
    assert r.status_code == 422 and r.json()["field"] == "software"


def test_plan_adds_transfer_for_data_away_from_home(sqlite_platform):
    p = sqlite_platform
    corpus = {"name": "corpus", "kind": "dataset", "home_center": "wuxi-sc",
              "size_bytes": 4 * 10**12, "price_unit": "use", "price": "10"}
    assert p.client.post("/api/v1/products", json=corpus, headers=p.h("a")).status_code == 201
    with p.write() as s:
        from suanwang.store.billing.prices import add_price

        add_price(s, kind="transfer_gb", center="*", resource="*", price=__import__(
            "decimal").Decimal("0.02"), valid_from=datetime(2000, 1, 1, tzinfo=UTC))
        s.commit()
    r = p.client.post("/api/v1/plans", json={**BATCH, "software": [], "datasets": ["corpus"]},
                      headers=p.h("b")).json()
    opts = {o["center"]: o for o in r["options"]}
    assert opts["wuxi-sc"]["transfer_s"] == 0 and opts["wuxi-sc"]["transfer_cost"] == 0
    # wuxi -> shanghai (400) -> beijing (400) -> tianjin (800): 4 TB at 400 Gb/s = 80 s
    assert opts["tianjin-sc"]["transfer_s"] == pytest.approx(80.02)
    assert opts["tianjin-sc"]["transfer_cost"] == 80.0  # 4,000 GB x 0.02
    assert opts["tianjin-sc"]["time_s"] == pytest.approx(3680.02)


def _lease(p, who, start, hours, devices=512, **kw):
    body = {"center": "shanghai-ai", "accelerator": "A800", "devices": devices,
            "start": start.isoformat(), "end": (start + timedelta(hours=hours)).isoformat(),
            **kw}
    return p.client.post("/api/v1/leases", json=body, headers=p.h(who))


def test_lease_admission_conflict_billing_cancel(sqlite_platform):
    p = sqlite_platform
    with p.write() as s:
        from decimal import Decimal

        from suanwang.store.billing import top_up

        top_up(s, p.tenant_ids["a"], Decimal(10**6), key="lease-test-a")
        top_up(s, p.tenant_ids["b"], Decimal(10**6), key="lease-test-b")
        s.commit()
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    first = _lease(p, "a", t0, 24, devices=768)  # 768 of the pool's 1024 A800s
    assert first.status_code == 201, first.text
    lease = first.json()
    # 768 x 24 device-hours x 8.5 x (1 - 5 % one-day term discount)
    assert lease["amount"] == pytest.approx(768 * 24 * 8.5 * 0.95)
    assert lease["reservation"] == f"suanwang-lease-{lease['id']}"
    clash = _lease(p, "b", t0 + timedelta(hours=2), 4, devices=512)
    assert clash.status_code == 409
    assert datetime.fromisoformat(clash.json()["earliest_start"]) == t0 + timedelta(hours=24)
    assert _lease(p, "b", t0 + timedelta(hours=2), 4, devices=256).status_code == 201
    bad = _lease(p, "b", t0, 4, devices=12)
    assert bad.status_code == 422 and bad.json()["field"] == "devices"
    bad = _lease(p, "b", t0, 4, accelerator="H100")
    assert bad.status_code == 422 and bad.json()["field"] == "accelerator"
    assert _lease(p, "poor", t0 + timedelta(days=5), 1, devices=8).status_code == 402
    inv = p.client.get("/api/v1/invoices", headers=p.h("a")).json()
    assert [ln["kind"] for ln in inv["lines"]] == ["lease"]
    assert inv["total"] == pytest.approx(lease["amount"])
    # cancel before the start: refunded, the window is free again
    r = p.client.post(f"/api/v1/leases/{lease['id']}/cancel", headers=p.h("a"))
    assert r.json()["state"] == "cancelled"
    assert p.client.get("/api/v1/invoices", headers=p.h("a")).json()["total"] == 0
    assert _lease(p, "b", t0 + timedelta(hours=2), 4, devices=512).status_code == 201
    assert p.client.get(f"/api/v1/leases/{lease['id']}", headers=p.h("b")).status_code == 404
    assert p.client.get("/api/v1/leases", headers=p.h("b")).json()["count"] == 2


def test_demo_seed_products_browse_and_place(sqlite_platform):
    from suanwang.store.market_seed import seed_demo_products

    p = sqlite_platform
    centers = [c.name for c in p.app.state.ctx.federation.centers]
    with p.write() as s:
        assert seed_demo_products(s, centers) == 5
        assert seed_demo_products(s, centers) == 0
        s.commit()
    doc = p.client.get("/api/v1/products", headers=p.h("a")).json()
    assert {x["kind"] for x in doc["data"]} == {"software", "model", "dataset"}
    assert doc["count"] == 5
    md = {**BATCH, "software": ["openfoam"]}
    r = p.client.post("/api/v1/plans", json=md, headers=p.h("a")).json()
    assert {o["center"] for o in r["options"]} == {"wuxi-sc"}
