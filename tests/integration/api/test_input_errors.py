"""Bad input gets a 422 naming the field (api/errors.py, api/spec_names.py): a body that is not
JSON, unknown centers/accelerators/products at /jobs, /plans and /plans/explore, and a
``period`` that is not YYYY-MM."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import BATCH, TINY

JSON = {"Content-Type": "application/json"}


def _post(p, path, **kw):
    headers = {**p.h("a"), **kw.pop("headers", {})}
    return p.client.post(path, headers=headers, **kw)


def test_truncated_json_names_the_body_and_the_offset(sqlite_platform):
    r = _post(sqlite_platform, "/api/v1/jobs", content=b'{"kind": "training",', headers=JSON)
    assert r.status_code == 422
    body = r.json()
    assert body["field"] == "body"
    assert body["message"].startswith("field 'body': malformed JSON at offset 20: ")
    assert body["detail"][0]["loc"] == ["body"]


def test_bytes_that_are_not_utf8_are_a_422_on_the_body(sqlite_platform):
    r = _post(sqlite_platform, "/api/v1/jobs", content=bytes([0x9C, 0xFF, 0x00, 0x81]),
              headers=JSON)
    assert r.status_code == 422
    assert r.json()["field"] == "body"
    assert "malformed JSON at offset 0: not UTF-8 text" in r.json()["message"]
    # other HTTP errors keep their own status and shape
    assert sqlite_platform.client.get("/api/v1/nosuch", headers=sqlite_platform.h("a")
                                      ).status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/plans", "/api/v1/plans/explore", "/api/v1/jobs"])
@pytest.mark.parametrize("field,value,expect", [
    ("accelerators", ["TPU-v9"], "unknown accelerator(s) TPU-v9; known: "),
    ("exclude_accelerators", ["H10"], "did you mean 'H20'?"),
    ("centers", ["mars"], "unknown center(s) mars; known: local"),
    ("exclude_centers", ["mars"], "unknown center(s) mars"),
])
def test_unknown_names_in_constraints_are_422_before_planning(sqlite_platform, path, field,
                                                              value, expect):
    spec = {**TINY, "constraints": {field: value}}
    r = _post(sqlite_platform, path, json=spec)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == f"constraints.{field}"
    assert expect in r.json()["message"]
    if field.endswith("accelerators"):
        assert "H100-SXM" in r.json()["message"]  # the known names are listed
    listed = sqlite_platform.client.get("/api/v1/jobs", headers=sqlite_platform.h("a")).json()
    assert listed["count"] == 0  # nothing was recorded


@pytest.mark.parametrize("field,value", [("software", ["nosuch"]), ("datasets", ["nosuch"]),
                                         ("base_model", "nosuch")])
def test_unknown_products_are_rejected_at_submission(sqlite_platform, field, value):
    for spec in (TINY, BATCH):
        r = _post(sqlite_platform, "/api/v1/jobs", json={**spec, field: value})
        assert r.status_code == 422, r.text
        assert r.json()["field"] == field
        assert "no product 'nosuch' in the marketplace" in r.json()["message"]


def test_a_product_of_another_kind_is_rejected_and_a_known_one_accepted(sqlite_platform):
    p = sqlite_platform
    product = {"name": "gromacs", "kind": "software", "title": "GROMACS", "release": "2024.3",
               "centers": ["local"], "price_unit": "use", "price": "1"}
    assert _post(p, "/api/v1/products", json=product).status_code == 201
    r = _post(p, "/api/v1/jobs", json={**BATCH, "datasets": ["gromacs"]})
    assert r.status_code == 422 and r.json()["field"] == "datasets"
    assert "is a software, not a dataset" in r.json()["message"]
    r = _post(p, "/api/v1/jobs", json={**BATCH, "software": ["gromacs"]})
    assert r.status_code == 201, r.text
    assert r.json()["spec"]["software"] == ["gromacs"]


@pytest.mark.parametrize("path", ["/api/v1/invoices", "/api/v1/usage"])
@pytest.mark.parametrize("period", ["2026-13", "26-01", "2026-1", "May"])
def test_period_message_is_readable(sqlite_platform, path, period):
    r = sqlite_platform.client.get(path, params={"period": period},
                                   headers=sqlite_platform.h("a"))
    assert r.status_code == 422
    assert r.json()["field"] == "period"
    assert r.json()["message"] == "field 'period': must be YYYY-MM with month 01–12"
    assert r.json()["detail"][0]["msg"] == "must be YYYY-MM with month 01–12"
    ok = sqlite_platform.client.get(path, params={"period": "2026-12"},
                                    headers=sqlite_platform.h("a"))
    assert ok.status_code == 200


def test_admin_creates_a_tenant_without_a_balance(sqlite_platform):
    """The schema's default balance reaches store.tenants.check_amount as a Decimal (an int
    default was a 500: defaults are not validated)."""
    p = sqlite_platform
    r = p.client.post("/api/v1/admin/tenants", json={"name": "fresh"}, headers=p.h("root"))
    assert r.status_code == 201, r.text
    bal = p.client.get("/api/v1/balance",
                       headers={"Authorization": f"Bearer {r.json()['token']}"}).json()
    assert bal["amount"] == 0
