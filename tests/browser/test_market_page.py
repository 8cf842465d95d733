"""The marketplace page in Chromium: browse/search products, attach one to a job spec and see
the plan only on its center, create a lease and get the earliest start for a clashing one."""

from __future__ import annotations

import pytest

from tests.browser.conftest import goto, login, shot

pytestmark = pytest.mark.browser


def test_browse_attach_plan_and_lease(browser, server, screenshots):
    with server.api("alpha") as api:
        r = api.post("/products", json={"name": "openfoam-web", "kind": "software",
                                        "title": "OpenFOAM for the browser test",
                                        "centers": ["wuxi-sc"], "price_unit": "node_hour",
                                        "price": "0.5"})
        assert r.status_code == 201, r.text
    page = login(browser, server, "beta")
    goto(page, server, "market")
    page.fill("[data-testid=product-search]", "browser test")
    page.wait_for_selector("[data-testid=products-table] [data-product=openfoam-web]")
    assert page.locator("[data-testid=products-table] tbody tr").count() == 1
    page.check("[data-product=openfoam-web]")
    page.click("[data-testid=market-plan-btn]")
    page.wait_for_selector("[data-testid=market-plan] tbody tr")
    centers = page.locator("[data-testid=market-plan] tbody tr td:first-child").all_inner_texts()
    assert set(centers) == {"wuxi-sc"}  # CPU nodes exist at tianjin-sc too; no software there
    assert "openfoam-web" in page.input_value("[data-testid=market-spec]")

    form = "[data-testid=lease-form]"
    page.fill(f"{form} input[name=devices]", "8")
    page.fill(f"{form} input[name=hours]", "1")
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector("[data-testid=leases-table] tbody tr")
    assert "created" in page.inner_text("[data-testid=lease-message]")
    page.fill(f"{form} input[name=devices]", "1024")
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector("[data-testid=lease-message] button")
    assert "earliest start" in page.inner_text("[data-testid=lease-message]").lower()
    shot(page, screenshots, "marketplace")
    assert page.js_errors == []
