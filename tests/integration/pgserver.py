"""One hermetic PostgreSQL server per test session (scripts/pg-local.sh), fresh databases per
test. Tests needing it call :func:`database_url`, which skips (or fails under
``SUANWANG_REQUIRE=postgres``) when PostgreSQL cannot be started here."""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from tests.conftest import REPO, require_service

SCRIPT = REPO / "scripts" / "pg-local.sh"
_state: dict = {}


def server_url(root: Path | None = None) -> str | None:
    """Start (once per session) a server; its admin URL, or None with the reason stored.

    The data directory lives in its own temp dir, not under pytest's basetemp (``root`` is
    ignored): pytest prunes old basetemps, and a concurrent run could delete a live server's
    files.
    """
    if "url" in _state or "error" in _state:
        return _state.get("url")
    data = Path(tempfile.mkdtemp(prefix="suanwang-pg-")) / "pg"
    try:
        out = subprocess.run([str(SCRIPT), "start", str(data)], capture_output=True, text=True,
                             timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _state["error"] = str(exc)
        return None
    if out.returncode != 0:
        _state["error"] = (out.stderr or out.stdout).strip()[-500:]
        return None
    _state["url"] = out.stdout.strip().splitlines()[-1]

    def stop() -> None:
        subprocess.run([str(SCRIPT), "stop", str(data)], timeout=60, capture_output=True)
        shutil.rmtree(data.parent, ignore_errors=True)

    atexit.register(stop)
    return _state["url"]


def database_url(root: Path | None = None) -> str:
    """A new empty database on the session's server (CREATE DATABASE)."""
    import psycopg

    url = server_url(root)
    require_service("postgres", url is not None,
                    f"scripts/pg-local.sh could not start PostgreSQL: {_state.get('error')}")
    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name
