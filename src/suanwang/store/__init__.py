"""suanwang.store: persistence of the platform (SQLAlchemy 2 + Alembic; SQLite or PostgreSQL).

Entry points other layers use (all take the caller's Session; none commits):

* ``store.db``: ``make_engine(url)``, ``session_factory(engine, write=False)``, ``default_url()``
* ``store.migrate.upgrade(url)``: alembic upgrade head (explicit; serve/controller/tenants call it)
* ``store.jobs``: ``create_job``, ``transition(session, job_id, to_state, *, allowed, reason,
  detail, **fields)`` (compare-and-set, raises ``StaleTransition``), ``note``, ``request_cancel``,
  ``get_job``, ``list_jobs``; ``store.states`` holds the state machine as data
* ``store.centers``: ``sync_centers(session, federation)`` (rows + seed prices), ``set_capacity``
* ``store.usage``: ``record_usage(session, attempt_id=..., ...)`` (unique per attempt)
* ``store.billing``: ``quote``, ``place_hold``, ``release_hold``, ``settle``, ``top_up``;
  ``store.billing.energy.energy_kwh`` is the metering energy model
* ``store.tenants``: ``create_tenant`` (returns the clear token once), ``resolve_token``
"""
