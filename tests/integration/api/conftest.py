"""API fixtures: a migrated database on SQLite or PostgreSQL, the app, three tenants.

``platform`` is parametrized over both databases (the PostgreSQL case carries the ``postgres``
marker and starts a real server via scripts/pg-local.sh); ``sqlite_platform`` is SQLite only.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from tests.integration import pgserver


@dataclass
class Platform:
    url: str
    app: object
    client: object
    tokens: dict[str, str]
    tenant_ids: dict[str, int]

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def write(self):
        return self.app.state.ctx.write()


def build_platform(url: str) -> Platform:
    from fastapi.testclient import TestClient

    from suanwang.api.app import create_app
    from suanwang.store.db import make_engine, session_factory
    from suanwang.store.migrate import upgrade
    from suanwang.store.tenants import create_tenant

    upgrade(url)
    engine = make_engine(url)
    tokens, ids = {}, {}
    with session_factory(engine, write=True)() as s:
        for name, balance, admin in (("a", "1000", False), ("b", "1000", False),
                                     ("poor", "0", False), ("root", "0", True)):
            t, tok = create_tenant(s, name, balance=Decimal(balance), is_admin=admin)
            s.flush()
            tokens[name], ids[name] = tok, t.id
        s.commit()
    engine.dispose()
    app = create_app(url, mount_web=False)
    return Platform(url=url, app=app, client=TestClient(app), tokens=tokens, tenant_ids=ids)


def close(p: Platform) -> None:
    p.app.state.ctx.submits.close()
    p.app.state.ctx.engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def platform(request, tmp_path, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'api.db'}"
    else:
        url = pgserver.database_url(tmp_path_factory.getbasetemp())
    p = build_platform(url)
    yield p
    close(p)


@pytest.fixture
def sqlite_platform(tmp_path):
    p = build_platform(f"sqlite:///{tmp_path / 'api.db'}")
    yield p
    close(p)


TINY = {"kind": "training", "name": "tiny",
        "model": {"layers": 2, "hidden": 64, "heads": 4, "vocab": 256, "seq_len": 64},
        "tokens": 1e6, "constraints": {"centers": ["local"]}}
BATCH = {"kind": "batch", "name": "pi", "command": "echo hi", "devices": 1,
         "accelerator": "CPU-local", "walltime_s": 60, "constraints": {"centers": ["local"]}}
