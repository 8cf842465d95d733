"""Store fixtures: a migrated database on SQLite (always) or PostgreSQL (marker ``postgres``)."""

from __future__ import annotations

import pytest

from tests.integration import pgserver


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path, tmp_path_factory) -> str:
    """An empty database URL on each backend (not migrated)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return pgserver.database_url(tmp_path_factory.getbasetemp())


@pytest.fixture
def s(db_url):
    """A write session on a freshly migrated database, on each backend of ``db_url``."""
    from suanwang.store.db import make_engine, session_factory
    from suanwang.store.migrate import upgrade

    upgrade(db_url)
    engine = make_engine(db_url)
    with session_factory(engine, write=True)() as session:
        yield session
    engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def session(sqlite_url):
    """A write session on a migrated SQLite database with the demo federation's centers."""
    from suanwang.catalog import load_federation
    from suanwang.store.centers import sync_centers
    from suanwang.store.db import make_engine, session_factory
    from suanwang.store.migrate import upgrade

    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    with session_factory(engine, write=True)() as s:
        sync_centers(s, load_federation())
        s.commit()
        yield s
    engine.dispose()
