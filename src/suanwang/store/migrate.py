"""Schema migrations: ``upgrade(url)`` runs ``alembic upgrade head`` on the database at ``url``.

Called explicitly by ``suanwang serve``, ``suanwang controller`` and ``suanwang tenants create``
(never lazily on first use). The Alembic environment lives in ``store/migrations``; revisions
never import live models, so old revisions keep working as the models change.
"""

from __future__ import annotations

from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str):
    """An Alembic Config pointing at this package's migrations and ``url``."""
    from alembic.config import Config

    from suanwang.store.db import normalize_url

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema at ``url`` to ``revision`` (default: the latest)."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def head() -> str:
    """The newest revision in this package's migrations."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current(url: str) -> str | None:
    """The revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    from suanwang.store.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def check(url: str) -> None:
    """``alembic check``: raise if the models differ from the migrated schema at ``url``
    (a model change without its migration)."""
    from alembic import command

    cfg = alembic_config(url)
    cfg.attributes["with_models"] = True
    command.check(cfg)
