"""Browser tests: Playwright (sync API) driving Debian's Chromium against a real ``suanwang serve``.

One server per test session: a fresh SQLite database under a temporary SUANWANG_HOME, two tenants
made with ``suanwang tenants create`` (their tokens are what the browser types into the login
page), and ``suanwang serve`` (API + controller thread + dashboard) as a subprocess on a free
port. Chromium is ``/usr/bin/chromium`` (apt), never a browser fetched by ``playwright install``.
Screenshots go to ``tests/artifacts/screenshots/`` (git-ignored; CI keeps them as artifacts).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, require_service

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "tests" / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--disable-dev-shm-usage"]
DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 390, "height": 800}


@dataclass
class Server:
    url: str
    tokens: dict[str, str]
    log: Path

    def api(self, tenant: str) -> httpx.Client:
        """An HTTP client for ``tenant`` (bearer token set) on the server's /api/v1."""
        return httpx.Client(base_url=f"{self.url}/api/v1", timeout=60,
                            headers={"Authorization": f"Bearer {self.tokens[tenant]}"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args: str, env: dict[str, str]) -> str:
    proc = subprocess.run([sys.executable, "-m", "suanwang", *args], env=env, text=True,
                          capture_output=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"suanwang {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"suanwang serve exited ({proc.returncode}): {log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"suanwang serve not healthy after {timeout_s} s: {log.read_text()}")


def _playwright_available() -> tuple[bool, str]:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False, "the playwright package is not installed (pip install playwright)"
    if not CHROMIUM.exists():
        return False, f"{CHROMIUM} is missing (apt-get install chromium)"
    return True, ""


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
    """A real ``suanwang serve`` with tenants ``alpha`` and ``beta`` (balance 1000 each)."""
    home = tmp_path_factory.mktemp("suanwang-home")
    db = f"sqlite:///{home / 'suanwang.db'}"
    env = {**os.environ, "SUANWANG_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("SUANWANG_DB_URL", None)
    tokens = {}
    for name in ("alpha", "beta"):
        out = json.loads(_cli("tenants", "create", name, "--db", db, "--balance", "1000",
                              "--json", env=env))
        tokens[name] = out["token"]
    port = _free_port()
    log = home / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "suanwang", "serve", "--db", db,
                                 "--port", str(port), "--tick-s", "0.5"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield Server(url=url, tokens=tokens, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    ok, why = _playwright_available()
    require_service("browser", ok, why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """The screenshot folder, emptied once per session."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


def login(browser, server: Server, tenant: str, viewport: dict | None = None):
    """A fresh browser context (own sessionStorage) signed in as ``tenant``; returns the page."""
    context = browser.new_context(viewport=viewport or DESKTOP)
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.js_errors = errors
    page.goto(f"{server.url}/")
    page.fill("#token", server.tokens[tenant])
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#shell:not([hidden])")
    page.wait_for_function("document.querySelector('#who-tenant').textContent.length > 0")
    return page


def goto(page, server: Server, route: str) -> None:
    """Navigate inside the single page (hash route), without reloading it."""
    page.evaluate("r => { location.hash = r; }", f"#/{route}")
    page.wait_for_function("r => document.querySelector('#main').dataset.page === r",
                           arg=route.split("/")[0])


def chart_points(page, testid: str) -> int:
    """Points plotly has drawn in the chart ``data-testid=testid`` (0 before the first draw)."""
    return page.evaluate(
        """id => { const el = document.querySelector(`[data-testid="${id}"]`);
                   return el && el.data ? el.data.reduce((n, t) => n + (t.x ? t.x.length : 0), 0)
                                        : 0; }""", testid)


def wait_chart(page, testid: str, min_points: int = 1, timeout_ms: int = 60_000) -> int:
    page.wait_for_function(
        """([id, n]) => { const el = document.querySelector(`[data-testid="${id}"]`);
             return el && el.querySelector('.main-svg') && el.data &&
               el.data.reduce((k, t) => k + (t.x ? t.x.length : 0), 0) >= n; }""",
        arg=[testid, min_points], timeout=timeout_ms)
    return chart_points(page, testid)


def shot(page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
