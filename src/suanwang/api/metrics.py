"""Prometheus metrics: request latency (middleware), and store-derived gauges read at scrape.

* ``suanwang_http_request_duration_seconds{method,route,status}`` histogram
* ``suanwang_jobs{state}`` jobs by state; ``suanwang_queue_length`` PENDING jobs
* ``suanwang_dispatch_latency_seconds{quantile}``: submission -> first DISPATCHED, over the
  last 500 dispatched jobs (read from job_events at scrape time)

Each app has its own registry (several apps in one test process never collide).
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily
from starlette.types import ASGIApp, Receive, Scope, Send

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class StoreCollector:
    def __init__(self, read_factory) -> None:
        self.read = read_factory

    def collect(self):
        from sqlalchemy import select

        from suanwang.store import jobs as job_repo
        from suanwang.store.models import Job, JobEvent
        from suanwang.store.states import PENDING, STATES

        with self.read() as s:
            counts = job_repo.counts_by_state(s)
            rows = s.execute(
                select(JobEvent.at, Job.created_at).join(Job, Job.id == JobEvent.job_id)
                .where(JobEvent.to_state == "DISPATCHED", JobEvent.from_state == "ADMITTED")
                .order_by(JobEvent.id.desc()).limit(500)).all()
        jobs = GaugeMetricFamily("suanwang_jobs", "Jobs by state", labels=["state"])
        for st in STATES:
            jobs.add_metric([st], counts.get(st, 0))
        yield jobs
        yield GaugeMetricFamily("suanwang_queue_length", "Jobs waiting (PENDING)",
                                value=counts.get(PENDING, 0))
        lat = sorted((at - created).total_seconds() for at, created in rows)
        g = GaugeMetricFamily("suanwang_dispatch_latency_seconds",
                              "Submission to dispatch, last 500 dispatched jobs",
                              labels=["quantile"])
        for q in (0.5, 0.9, 0.99):
            g.add_metric([str(q)], lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0.0)
        yield g


def make_registry(read_factory) -> tuple[CollectorRegistry, Histogram]:
    registry = CollectorRegistry()
    hist = Histogram("suanwang_http_request_duration_seconds", "HTTP request latency",
                     ["method", "route", "status"], buckets=BUCKETS, registry=registry)
    registry.register(StoreCollector(read_factory))
    return registry, hist


class LatencyMiddleware:
    """Pure ASGI middleware (no BaseHTTPMiddleware overhead) timing every HTTP request, labelled
    by the route template (``/api/v1/jobs/{job_id}``), not the raw path."""

    def __init__(self, app: ASGIApp, hist: Histogram) -> None:
        self.app = app
        self.hist = hist

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.hist.labels(scope["method"], route_label(scope), str(status["code"])).observe(
                time.perf_counter() - t0)


def route_label(scope: Scope) -> str:
    """The request path with path-parameter values put back as ``{name}`` (bounded label set);
    ``unmatched`` when no route matched (404s of random paths must not grow the label set)."""
    if scope.get("route") is None:
        return "unmatched"
    path = scope["path"]
    for name, value in (scope.get("path_params") or {}).items():
        path = path.replace(f"/{value}", "/{" + name + "}", 1)
    return path
