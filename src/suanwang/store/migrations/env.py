"""Alembic environment: URL from the Config, batch mode on SQLite, type comparison on."""

from __future__ import annotations

from alembic import context

from suanwang.store.db import make_engine


def _target_metadata():
    # Only autogenerate/check (comparing models with the schema) needs the live models;
    # upgrades never import them.
    if context.config.attributes.get("with_models"):
        import suanwang.store.models  # noqa: F401  (registers the tables)
        from suanwang.store.base import Base

        return Base.metadata
    return None


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=_target_metadata(),
                              render_as_batch=connection.dialect.name == "sqlite",
                              compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
    finally:
        engine.dispose()


run_migrations_online()
