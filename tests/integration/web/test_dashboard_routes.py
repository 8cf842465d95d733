"""The API routes the dashboard added (/federation, /plans/explore, /sim/*) on the real app."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from suanwang.catalog import load_federation
from tests.conftest import REPO
from tests.integration.api.conftest import build_platform

JOBS = REPO / "examples" / "jobs"


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    p = build_platform(f"sqlite:///{Path(tmp_path_factory.mktemp('web')) / 'api.db'}")
    yield p
    p.client.close()


def test_routes_need_a_token(platform):
    for method, path in (("get", "/api/v1/federation"), ("post", "/api/v1/plans/explore"),
                         ("get", "/api/v1/sim/options"), ("post", "/api/v1/sim/compare")):
        assert getattr(platform.client, method)(path).status_code == 401, path


def test_federation_gives_the_wan_links(platform):
    fed = load_federation(None)
    body = platform.client.get("/api/v1/federation", headers=platform.h("a")).json()
    assert body["name"] == fed.name and body["currency"] == fed.currency
    assert body["links"] == [link.to_dict() for link in fed.links]


def test_explore_respects_the_spec_constraints(platform):
    spec = yaml.safe_load((JOBS / "llama3-70b.yaml").read_text())
    resp = platform.client.post("/api/v1/plans/explore", json=spec, headers=platform.h("a"))
    assert resp.status_code == 200, resp.text
    options = resp.json()["options"]
    fed = load_federation(None)
    domestic = {p.accelerator.name: p.accelerator.domestic for c in fed.centers for p in c.pools}
    assert options and all(domestic[o["accelerator"]] for o in options)  # domestic_only
    c = spec["constraints"]
    assert all(c["min_devices"] <= o["devices"] <= c["max_devices"] for o in options)
    assert all(o["time_to_train_s"] <= c["deadline_s"] for o in options)
    times = [o["time_to_train_s"] for o in options]
    assert times == sorted(times)  # best first under the objective (time)

    def key(o):
        return (o["time_to_train_s"], o["cost"], o["energy_kwh"])

    def dominated(o):  # brute force: some option at least as good everywhere, better somewhere
        return any(all(x <= y for x, y in zip(key(p), key(o), strict=True)) and key(p) != key(o)
                   for p in options)

    front = [i for i, o in enumerate(options) if not dominated(o)]
    assert [o["pareto"] for o in options] == [i in front for i in range(len(options))]


def test_explore_rejects_batch_specs_and_bad_fields(platform):
    batch = yaml.safe_load((JOBS / "batch-cpu.yaml").read_text())
    resp = platform.client.post("/api/v1/plans/explore", json=batch, headers=platform.h("a"))
    assert resp.status_code == 422 and resp.json()["field"] == "kind"
    spec = yaml.safe_load((JOBS / "llama3-8b.yaml").read_text())
    spec["constraints"]["centers"] = ["atlantis"]
    resp = platform.client.post("/api/v1/plans/explore", json=spec, headers=platform.h("a"))
    assert resp.status_code == 422 and resp.json()["field"] == "constraints.centers"
    spec = {**yaml.safe_load((JOBS / "llama3-8b.yaml").read_text()), "tokenz": 1}
    resp = platform.client.post("/api/v1/plans/explore", json=spec, headers=platform.h("a"))
    assert resp.status_code == 422 and resp.json()["field"] == "tokenz"


def test_sim_compare_over_http(platform):
    opts = platform.client.get("/api/v1/sim/options", headers=platform.h("a")).json()
    assert "synthetic" in opts["traces"] and "suanwang" in opts["policies"]
    resp = platform.client.post("/api/v1/sim/compare", headers=platform.h("a"), json={
        "trace": "synthetic", "jobs": 50, "cluster_gpus": 64, "policies": ["fifo", "suanwang"]})
    assert resp.status_code == 200, resp.text
    assert set(resp.json()["policies"]) == {"fifo", "suanwang"}
    bad = platform.client.post("/api/v1/sim/compare", headers=platform.h("a"),
                               json={"jobs": 10, "shards": 3})
    assert bad.status_code == 422 and bad.json()["field"] == "shards"
