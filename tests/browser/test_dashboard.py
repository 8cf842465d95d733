"""The dashboard in Chromium against a real ``suanwang serve`` (API + controller), see conftest.

The tests share one server and run in file order. The tiny job (``tiny_job``) is submitted by
``test_loss_chart_grows_while_tiny_job_trains``, keeps training while the plan-explorer and
isolation tests run, and is checked finished (every sample drawn, invoice lines) by the last test.
"""

from __future__ import annotations

import time

import pytest
import yaml

from tests.browser.conftest import (
    NARROW,
    chart_points,
    goto,
    login,
    shot,
    wait_chart,
)
from tests.conftest import REPO

pytestmark = pytest.mark.browser

JOBS = REPO / "examples" / "jobs"
TERMINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


def spec(file: str, **changes) -> dict:
    doc = yaml.safe_load((JOBS / file).read_text())
    doc.update(changes)
    return doc


@pytest.fixture(scope="module")
def tiny_job(server) -> dict:
    """examples/jobs/tiny-local.yaml submitted by tenant alpha through the API (once)."""
    with server.api("alpha") as api:
        resp = api.post("/jobs", json=spec("tiny-local.yaml"))
    assert resp.status_code == 201, resp.text
    return resp.json()


def wait_state(server, tenant: str, job_id: int, states: tuple[str, ...], timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    with server.api(tenant) as api:
        while True:
            job = api.get(f"/jobs/{job_id}").json()
            if job["state"] in states or time.monotonic() > deadline:
                return job
            time.sleep(0.5)


def test_login_with_token(browser, server, screenshots):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{server.url}/")
    assert page.is_visible("#login") and page.is_hidden("#shell")
    shot(page, screenshots, "login")
    page.fill("#token", "sw_not-a-real-token")
    page.click("#login-form button[type=submit]")
    page.wait_for_function("document.querySelector('#login-error').textContent.length > 0")
    assert "not valid" in page.text_content("#login-error")
    assert page.is_hidden("#shell")
    page.fill("#token", server.tokens["alpha"])
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#shell:not([hidden])")
    page.wait_for_function("document.querySelector('#who-tenant').textContent === 'alpha'")
    stored = page.evaluate("sessionStorage.getItem('suanwang.token')")
    assert stored == server.tokens["alpha"]
    assert page.evaluate("localStorage.length") == 0  # the token never leaves the tab session
    page.click("#logout")
    page.wait_for_selector("#login:not([hidden])")
    assert page.evaluate("sessionStorage.getItem('suanwang.token')") is None
    context.close()


def test_federation_lists_centers_from_api(browser, server, screenshots):
    with server.api("alpha") as api:
        centers = api.get("/centers").json()["data"]
        links = api.get("/federation").json()["links"]
    page = login(browser, server, "alpha")
    goto(page, server, "federation")
    page.wait_for_selector("[data-testid=centers-table] tbody tr")
    rows = page.locator("[data-testid=centers-table] tbody tr")
    assert rows.count() == len(centers)
    text = page.text_content("[data-testid=centers-table]")
    for c in centers:
        assert c["name"] in text
        for pool in c["pools"]:
            assert pool["accelerator"] in text
    assert text.count("simulated") == sum(c["backend"] == "sim" for c in centers)
    n_pools = sum(len(c["pools"]) for c in centers)
    assert wait_chart(page, "util-chart") == 2 * n_pools  # in use + free per pool
    wait_chart(page, "links-chart")
    assert page.locator("[data-testid=links-chart-table] tbody tr").count() == len(links)
    shot(page, screenshots, "federation")
    page.context.close()

    narrow = login(browser, server, "alpha", viewport=NARROW)
    goto(narrow, server, "federation")
    wait_chart(narrow, "util-chart")
    overflow = narrow.evaluate("document.documentElement.scrollWidth")
    assert overflow <= NARROW["width"] + 1, f"page is {overflow} px wide on a 390 px window"
    shot(narrow, screenshots, "federation-narrow")
    assert not narrow.js_errors
    narrow.context.close()


def test_job_submitted_through_page_changes_state_without_reload(browser, server, screenshots):
    page = login(browser, server, "alpha")
    goto(page, server, "jobs")
    page.evaluate("window.__noReload = 'same document'")
    page.click("details.panel summary")
    page.fill("#spec-text", (JOBS / "tiny-local.yaml").read_text())
    page.click("[data-testid=submit-job]")
    page.wait_for_selector("form a[href^='#/job/']")
    job_id = int(page.get_attribute("form a[href^='#/job/']", "href").rsplit("/", 1)[1])
    badge = page.locator(f"[data-testid=job-state-{job_id}]")
    badge.wait_for()
    first = badge.text_content()
    page.wait_for_function(
        """([id, s]) => { const el = document.querySelector(`[data-testid="job-state-${id}"]`);
             return el && el.textContent !== s; }""", arg=[job_id, first], timeout=120_000)
    assert badge.text_content() != first
    shot(page, screenshots, "jobs")
    # cancel from the job page: the controller stops it and the page shows it, still no reload
    page.click(f"a[href='#/job/{job_id}']")
    page.wait_for_selector("[data-testid=cancel-job]")
    page.click("[data-testid=cancel-job]")
    page.wait_for_function(
        "document.querySelector('[data-testid=job-state]')?.textContent === 'CANCELLED'",
        timeout=60_000)
    assert page.evaluate("window.__noReload") == "same document"
    assert not page.js_errors
    page.context.close()


@pytest.mark.slow  # trains the tiny job for real: ~40-80 s on a loaded 2-core box
def test_loss_chart_grows_while_tiny_job_trains(browser, server, tiny_job):
    job = tiny_job
    page = login(browser, server, "alpha")
    goto(page, server, f"job/{job['id']}")
    first = wait_chart(page, "loss-chart", 1, timeout_ms=120_000)
    state_then = page.text_content("[data-testid=job-state]")
    assert state_then not in TERMINAL, "the job finished before its first points were drawn"
    page.wait_for_function(
        """n => { const el = document.querySelector('[data-testid=loss-chart]');
             return el.data.reduce((k, t) => k + t.x.length, 0) > n; }""", arg=first,
        timeout=60_000)
    assert chart_points(page, "loss-chart") > first
    assert chart_points(page, "tps-chart") == chart_points(page, "loss-chart")
    assert page.text_content("[data-testid=job-state]") == "RUNNING"
    assert page.locator("[data-testid=timeline] li").count() >= 4  # PENDING .. RUNNING
    assert not page.js_errors
    page.context.close()


def test_plan_explorer_shows_pareto_chart_for_llama3_70b(browser, server, screenshots):
    page = login(browser, server, "alpha")
    goto(page, server, "plans")
    page.set_input_files("[data-testid=plan-file]", str(JOBS / "llama3-70b.yaml"))
    page.wait_for_function("document.querySelector('#plan-spec').value.includes('llama3-70b')")
    page.click("[data-testid=plan-run]")
    points = wait_chart(page, "pareto-chart", 1, timeout_ms=120_000)
    rows = page.locator("[data-testid=options-table] tbody tr")
    n = rows.count()
    assert n >= 2
    # every option is a point; the time-cost front line adds its own vertices
    drawn = page.evaluate("""() => document.querySelector('[data-testid=pareto-chart]').data
        .filter(t => t.mode.includes('markers')).reduce((k, t) => k + t.x.length, 0)""")
    assert drawn == n and points > n
    table = page.text_content("[data-testid=options-table]")
    assert "Pareto" in table and "chosen" in table
    assert "Ascend" in table  # domestic_only: the domestic chips of the demo federation
    assert "H100" not in table
    reasons = [rows.nth(i).locator("td").last.text_content() for i in range(1, n)]
    assert all(r.startswith(("dominated by", "Pareto trade-off")) for r in reasons)
    shot(page, screenshots, "plan-explorer")
    assert not page.js_errors
    page.context.close()


def test_tenant_b_never_sees_tenant_a_jobs(browser, server, screenshots):
    secret = "alpha-private-run"
    with server.api("alpha") as api:
        job = api.post("/jobs", json=spec("llama3-8b.yaml", name=secret)).json()
        alpha_ids = [j["id"] for j in api.get("/jobs").json()["data"]]
    assert job["id"] in alpha_ids
    page = login(browser, server, "beta")
    assert page.evaluate("sessionStorage.getItem('suanwang.token')") == server.tokens["beta"]
    goto(page, server, "jobs")
    page.wait_for_selector("[data-testid=jobs-table]")
    time.sleep(2.5)  # at least one refresh of the list
    body = page.text_content("#main")
    assert secret not in body and "tiny-local" not in body
    assert page.locator("[data-testid=jobs-table] tbody tr").count() == 0
    shot(page, screenshots, "tenant-b-jobs")
    for jid in alpha_ids:
        goto(page, server, f"job/{jid}")
        page.wait_for_selector("#main p.error")
        assert "not found" in page.text_content("#main").lower()
        assert secret not in page.text_content("#main")
        goto(page, server, "federation")
    goto(page, server, "billing")
    page.wait_for_selector("[data-testid=invoice-lines]")
    assert secret not in page.text_content("#main")
    assert "tiny-local" not in page.text_content("#main")
    shot(page, screenshots, "tenant-b-billing")
    page.context.close()


def test_screenshots_of_every_page_with_real_charts(browser, server, screenshots, tiny_job):
    job = wait_state(server, "alpha", tiny_job["id"], TERMINAL, timeout_s=150)
    assert job["state"] == "SUCCEEDED", job
    page = login(browser, server, "alpha")
    goto(page, server, f"job/{job['id']}")
    with server.api("alpha") as api:
        metrics = api.get(f"/jobs/{job['id']}/metrics").json()["data"]
    assert wait_chart(page, "loss-chart", len(metrics)) == len(metrics)  # every sample drawn
    assert page.locator("[data-testid=loss-chart-table] tbody tr").count() == len(metrics)
    page.wait_for_function(
        "document.querySelector('[data-testid=job-state]')?.textContent === 'SUCCEEDED'")
    shot(page, screenshots, "job-detail")
    narrow = login(browser, server, "alpha", viewport=NARROW)
    goto(narrow, server, f"job/{job['id']}")
    wait_chart(narrow, "loss-chart", len(metrics))
    width = narrow.evaluate("document.documentElement.scrollWidth")
    assert width <= NARROW["width"] + 1, f"job page is {width} px wide on a 390 px window"
    shot(narrow, screenshots, "job-detail-narrow")
    narrow.context.close()

    goto(page, server, "jobs")
    page.wait_for_selector("[data-testid=jobs-table] tbody tr")
    shot(page, screenshots, "jobs-list")
    with server.api("alpha") as api:
        pending = api.get("/jobs", params={"state": "PENDING"}).json()["data"]
    page.select_option("[data-testid=state-filter]", "PENDING")
    page.wait_for_function(
        """n => document.querySelectorAll('[data-testid=jobs-table] tbody tr').length === n &&
                [...document.querySelectorAll('[data-testid=jobs-table] tbody tr')]
                  .every(r => r.textContent.includes('PENDING'))""", arg=len(pending))
    for job in pending:  # a waiting job says why
        assert page.text_content(f"[data-testid=job-reason-{job['id']}]").startswith(job["reason"])

    goto(page, server, "billing")
    page.wait_for_selector("[data-testid=invoice-lines]")
    with server.api("alpha") as api:
        deadline = time.monotonic() + 60
        while not api.get("/invoices").json()["lines"] and time.monotonic() < deadline:
            time.sleep(1)
        invoice = api.get("/invoices").json()
    assert invoice["lines"], "the tiny job's invoice lines did not appear within 60 s"
    goto(page, server, "federation")
    goto(page, server, "billing")
    wait_chart(page, "billing-chart")
    assert page.locator("[data-testid=invoice-lines] tbody tr").count() == len(invoice["lines"])
    page.wait_for_selector("[data-testid=earlier-invoices]")
    shot(page, screenshots, "billing")

    goto(page, server, "sim")
    page.fill("#sim-jobs", "400")
    page.click("[data-testid=sim-run]")
    wait_chart(page, "jct-chart", 3, timeout_ms=120_000)
    wait_chart(page, "util-time-chart", 3)
    assert page.locator("[data-testid=sim-table] tbody tr").count() == 3
    shot(page, screenshots, "simulator")

    # every chart on a page comes with its data table (the text alternative)
    charts = page.locator(".figure")
    for i in range(charts.count()):
        assert charts.nth(i).locator("details.alt table, details.alt .empty").count() == 1
    names = {p.stem for p in screenshots.glob("*.png")}
    assert {"login", "federation", "jobs", "job-detail", "plan-explorer", "billing",
            "simulator"} <= names
    assert not page.js_errors
    page.context.close()
