"""`make demo` prints the dashboard URL with the demo tenant's whole token, and that token signs
in: the dashboard's login check (GET /api/v1/balance with the bearer token) answers 200 with it."""

import os
import re
from decimal import Decimal

from fastapi.testclient import TestClient

from suanwang.api.app import create_app
from suanwang.cli.demo import sign_in
from suanwang.store.db import make_engine, session_factory
from suanwang.store.migrate import upgrade
from suanwang.store.tenants import create_tenant


def test_printed_token_is_whole_and_signs_in(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine, write=True)() as s:
        _, token = create_tenant(s, "demo-lab", balance=Decimal(100))
        s.commit()
    engine.dispose()
    line = sign_in(8765, token, tmp_path)
    assert "http://127.0.0.1:8765/" in line
    printed = re.search(r"tenant demo-lab: (\S+)", line).group(1)
    assert printed == token and len(printed) > 12
    path = tmp_path / "tenant-token"
    assert path.read_text().strip() == token and (os.stat(path).st_mode & 0o777) == 0o600
    app = create_app(url, mount_web=False)
    try:
        client = TestClient(app)
        ok = client.get("/api/v1/balance", headers={"Authorization": f"Bearer {printed}"})
        bad = client.get("/api/v1/balance", headers={"Authorization": f"Bearer {printed[:12]}"})
    finally:
        app.state.ctx.submits.close()
        app.state.ctx.engine.dispose()
    assert ok.status_code == 200, ok.text
    assert bad.status_code == 401
