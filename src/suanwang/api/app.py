"""The FastAPI application factory.

``create_app(db_url=..., federation=...)`` builds one app with its own engine, session
factories, token cache and metrics registry (no module globals). Routes live under ``/api/v1``
(OpenAPI at ``/api/v1/openapi.json``, docs at ``/api/v1/docs``); ``/healthz`` and ``/metrics``
sit at the root; the dashboard (``suanwang.web.mount``) is mounted at ``/`` when present.
The schema must already be migrated (``store.migrate.upgrade``; ``suanwang serve`` does it).
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.routing import APIRoute

from suanwang.api import errors
from suanwang.api.batcher import SubmitBatcher
from suanwang.api.context import ApiContext, TokenCache
from suanwang.api.metrics import LatencyMiddleware, make_registry
from suanwang.core.federation import Federation

API_PREFIX = "/api/v1"
log = logging.getLogger("suanwang.api")


def _operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def create_app(db_url: str | None = None, *, federation: Federation | Path | str | None = None,
               sync_centers: bool = True, token_cache_s: float = 5.0,
               mount_web: bool = True) -> FastAPI:
    """Build the API app on ``db_url`` (default ``store.db.default_url()``).

    ``federation`` (object or YAML path; default the demo federation) names the centers shown
    by /centers and planned on by /plans; with ``sync_centers`` the factory writes them (and
    their seed prices) into the store once.
    """
    from suanwang.api.routes import (
        admin,
        billing,
        centers,
        explore,
        jobs,
        leases,
        network,
        plans,
        products,
    )
    from suanwang.store.db import make_engine, session_factory

    fed = _federation(federation)
    engine = make_engine(db_url)
    write = session_factory(engine, write=True)
    ctx = ApiContext(engine=engine, read=session_factory(engine), write=write, federation=fed,
                     tokens=TokenCache(ttl_s=token_cache_s), submits=SubmitBatcher(write))
    if sync_centers:
        from suanwang.store.centers import sync_centers as sync

        with ctx.write() as s:
            sync(s, fed)
            s.commit()
    app = FastAPI(title="suanwang", version="1", openapi_url=f"{API_PREFIX}/openapi.json",
                  docs_url=f"{API_PREFIX}/docs", redoc_url=None,
                  generate_unique_id_function=_operation_id, on_shutdown=[ctx.submits.close],
                  description="Submit, watch and pay for jobs on the suanwang compute network.")
    app.state.ctx = ctx
    errors.install(app)
    api = APIRouter(prefix=API_PREFIX)
    for module in (jobs, plans, explore, centers, network, billing, admin, products, leases):
        api.include_router(module.router)
    _include_sim(api)
    app.include_router(api)
    registry, hist = make_registry(ctx.read)
    _root_routes(app, registry)
    app.add_middleware(LatencyMiddleware, hist=hist)
    if mount_web:
        _mount_web(app)
    return app


def app_from_env() -> FastAPI:
    """App factory for multi-worker serving (``suanwang serve --workers N``): the database URL
    and federation file come from ``SUANWANG_SERVE_DB`` / ``SUANWANG_SERVE_FEDERATION``; the
    parent process already migrated the schema and synced the centers."""
    import os

    return create_app(os.environ["SUANWANG_SERVE_DB"],
                      federation=os.environ.get("SUANWANG_SERVE_FEDERATION") or None,
                      sync_centers=False)


def _include_sim(api: APIRouter) -> None:
    """The dashboard's simulator routes (engineer D's ``api/routes/sim.py``), token-guarded."""
    try:
        from suanwang.api.routes import sim
    except ImportError:
        return
    from fastapi import Depends

    from suanwang.api.deps import principal

    api.include_router(sim.build_router(Depends(principal)))


def _federation(federation: Federation | Path | str | None) -> Federation:
    if isinstance(federation, Federation):
        return federation
    from suanwang.catalog import load_federation

    return load_federation(federation)


def _root_routes(app: FastAPI, registry) -> None:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    @app.get("/healthz", tags=["health"], include_in_schema=False)
    def healthz() -> dict:
        return {"ok": True}

    @app.get("/metrics", tags=["health"], include_in_schema=False,
             response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _mount_web(app: FastAPI) -> None:
    try:
        from suanwang import web
    except ImportError:  # the dashboard is optional
        return
    mount = getattr(web, "mount", None)
    if mount is not None:
        mount(app)
