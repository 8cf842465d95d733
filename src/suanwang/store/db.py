"""Engines and sessions: SQLite (default, WAL) or PostgreSQL, chosen by URL.

``make_engine(url)`` + ``session_factory(engine)`` are the only way the platform opens a database;
no module-global engine. Dialect differences stay here:

* SQLite: WAL journal (readers never block the writer), ``synchronous=NORMAL``, foreign keys on,
  a 30 s busy timeout, and explicit ``BEGIN``: read sessions begin DEFERRED, write sessions
  (``session_factory(engine, write=True)``) begin IMMEDIATE so two writers queue on the lock
  instead of failing with SQLITE_BUSY when a read transaction tries to upgrade.
* PostgreSQL: ``postgresql://`` URLs use the psycopg 3 driver; a pool sized for the API workers.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from suanwang.core.errors import ConfigError


def home_dir() -> Path:
    """``$SUANWANG_HOME`` (default ``~/.suanwang``): the data directory of a server host."""
    return Path(os.environ.get("SUANWANG_HOME", Path.home() / ".suanwang"))


def default_url() -> str:
    """``$SUANWANG_DB_URL``, else the SQLite file ``$SUANWANG_HOME/suanwang.db``."""
    return os.environ.get("SUANWANG_DB_URL") or f"sqlite:///{home_dir() / 'suanwang.db'}"


def normalize_url(url: str) -> str:
    """Pick the psycopg 3 driver for plain ``postgresql://`` URLs; reject unknown schemes."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse text
        raise ConfigError(f"not a database URL: {url!r} ({exc})", field="--db") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername == "postgresql+psycopg":
        import importlib.util

        if importlib.util.find_spec("psycopg") is None:
            raise ConfigError("PostgreSQL needs the psycopg driver: pip install 'psycopg[binary]' "
                              "(or install suanwang with the dev extra)", field="--db")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(f"unsupported database {parsed.get_backend_name()!r}; use sqlite:///"
                          "FILE or postgresql://USER@HOST:PORT/DB", field="--db")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str | None = None, *, echo: bool = False) -> Engine:
    """An engine for ``url`` (default :func:`default_url`), configured for its dialect."""
    url = normalize_url(url or default_url())
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, pool_size=20, max_overflow=40,
                               connect_args={"check_same_thread": False, "timeout": 30})
        _configure_sqlite(engine)
        return engine
    # No pre-ping: it costs a round trip per checkout; stale connections are recycled instead.
    return create_engine(url, echo=echo, pool_size=20, max_overflow=40, pool_recycle=1800)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def session_factory(engine: Engine, *, write: bool = False) -> sessionmaker[Session]:
    """Sessions on ``engine`` (``expire_on_commit=False``: returned rows stay readable).

    ``write=True`` marks sessions that will write: on SQLite they take the write lock at BEGIN
    (see module doc); on PostgreSQL it changes nothing. The caller owns the commit.
    """
    bind = engine.execution_options(sqlite_begin="IMMEDIATE") if write else engine
    return sessionmaker(bind=bind, expire_on_commit=False)
