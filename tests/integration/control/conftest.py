import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from suanwang.catalog import load_federation
from suanwang.control.runner import build_controller
from suanwang.store.db import make_engine, session_factory
from suanwang.store.tenants import create_tenant


class Platform:
    def __init__(self, tmp: Path, speedup: float = 600.0, db: str = "db.sqlite"):
        self.dir = tmp
        self.url = f"sqlite:///{tmp / db}"
        self.ctl = build_controller(db_url=self.url, federation=load_federation(), data_dir=tmp,
                                    sim_speedup=speedup, slurm=False)
        self.engine = make_engine(self.url)
        self.write = session_factory(self.engine, write=True)
        self.read = session_factory(self.engine)
        with self.write() as s:
            self.tenant = create_tenant(s, "acme", balance=Decimal(10) ** 6)[0].id
            s.commit()


@pytest.fixture
def platform(tmp_path):
    p = Platform(tmp_path)
    yield p
    shutil.rmtree(tmp_path / "centers", ignore_errors=True)
