"""Migrations upgrade an empty and a populated database, and match the models (alembic check)."""

from __future__ import annotations

from sqlalchemy import text

from suanwang.store.db import make_engine
from suanwang.store.migrate import check, current, head, upgrade


def test_upgrade_empty_database_to_head_matches_models(db_url):
    assert current(db_url) is None
    upgrade(db_url)
    assert current(db_url) == head()
    check(db_url)  # raises if a model changed without a migration
    upgrade(db_url)  # running it again is a no-op
    assert current(db_url) == head()


def test_upgrade_populated_database_keeps_rows(db_url):
    upgrade(db_url, "0001")
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO tenants (id, name, is_admin, created_at) "
                          "VALUES (1, 'acme', false, '2026-11-01T00:00:00+00:00')"))
        conn.execute(text("INSERT INTO balances (tenant_id, amount, held, updated_at) "
                          "VALUES (1, 12345600, 0, '2026-11-01T00:00:00+00:00')"))
        conn.execute(text(
            "INSERT INTO jobs (id, tenant_id, name, kind, spec, state, priority, created_at, "
            "updated_at) VALUES (7, 1, 'old', 'batch', '{\"kind\": \"batch\"}', 'SUCCEEDED', 0, "
            "'2026-11-01T00:00:00+00:00', '2026-11-01T00:00:00+00:00')"))
    upgrade(db_url)  # 0002 adds jobs.client_key, later revisions add their tables
    assert current(db_url) == head() != "0001"
    from suanwang.store.db import session_factory
    from suanwang.store.models import Balance, Job

    with session_factory(engine)() as s:
        job = s.get(Job, 7)
        assert (job.name, job.state, job.client_key, job.spec) == ("old", "SUCCEEDED", None,
                                                                  {"kind": "batch"})
        assert str(s.get(Balance, 1).amount) == "12.3456"
    engine.dispose()
