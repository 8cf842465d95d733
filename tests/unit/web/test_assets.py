"""The dashboard's static files and their routes (suanwang.web.mount) without a browser."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from suanwang.web import mount
from suanwang.web.assets import plotly_js_path, static_dir


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()

    @app.get("/api/v1/ping")
    def ping() -> dict:
        return {"ok": True}

    mount(app)
    return TestClient(app)


def test_index_and_every_asset_it_names_are_served(client):
    index = client.get("/")
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    refs = re.findall(r'(?:src|href)="(/ui/[^"]+)"', index.text)
    assert "/ui/plotly.min.js" in refs and "/ui/app.js" in refs
    for ref in refs:
        resp = client.get(ref)
        assert resp.status_code == 200, ref
        assert len(resp.content) > 100, ref


def test_plotly_comes_from_the_installed_wheel(client):
    resp = client.get("/ui/plotly.min.js")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/javascript")
    assert resp.content == plotly_js_path().read_bytes()
    assert b"plotly.js" in resp.content[:2000]


def test_api_routes_are_not_shadowed(client):
    assert client.get("/api/v1/ping").json() == {"ok": True}
    assert client.get("/ui/no-such-file.js").status_code == 404


def test_every_module_import_resolves_to_a_shipped_file():
    files = {p.name for p in static_dir().iterdir()}
    for js in static_dir().glob("*.js"):
        if js.name.endswith(".min.js"):
            continue
        for target in re.findall(r'from "\./([^"]+)"', js.read_text()):
            assert target in files, f"{js.name} imports missing ./{target}"


def test_no_chart_is_drawn_by_hand():
    """Charts come from plotly.js: the pages build no SVG or canvas themselves."""
    for js in static_dir().glob("page-*.js"):
        text = js.read_text()
        assert "createElementNS" not in text and "<svg" not in text, js.name
        assert "getContext(" not in text, js.name
