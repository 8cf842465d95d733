"""Two real Slurm clusters on localhost, started by scripts/slurm-local.sh for the session.

``alpha``: 3 fake nodes x 2 CPUs (pool CPU-local, a device is a core). ``beta``: 2 fake nodes x
2 CPUs with 2 fake GPUs each (GRES ``gpu``; pool A100-SXM-80GB mapped to it). Both release
requeued jobs at once (``release_requeued``). State is fresh each session (``--fresh``).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from suanwang.backends.base import BackendStatus, Handle
from suanwang.backends.slurm import SlurmBackend
from suanwang.backends.slurm_bench import tiny_training  # noqa: F401  (re-exported)
from suanwang.catalog.federation import load_federation
from suanwang.core.federation import Federation
from tests.conftest import REPO, require_service

SCRIPT = REPO / "scripts" / "slurm-local.sh"
SLURM_DIR = os.environ.get("SUANWANG_SLURM_TEST_DIR", "/tmp/suanwang-slurm-test")
LOCK_WAIT_S = 900
CLUSTERS = {"swt-alpha": ["--nodes", "3"], "swt-beta": ["--nodes", "2", "--gpus", "2"]}


def _why_no_slurm() -> str:
    for tool in ("slurmctld", "slurmd", "munged", "sbatch"):
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            return f"{tool} not installed (apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "scripts/slurm-local.sh runs the daemons as root; not root here"
    return ""


@pytest.fixture(scope="session")
def slurm_confs() -> dict[str, str]:
    why = _why_no_slurm()
    require_service("slurm", not why, why)
    env = {**os.environ, "SUANWANG_SLURM_DIR": SLURM_DIR}
    confs = {}
    # one test session at a time owns these clusters (--fresh would restart them under another)
    os.makedirs(SLURM_DIR, exist_ok=True)
    lock = os.open(os.path.join(SLURM_DIR, ".session.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(lock)
                pytest.fail(f"another test session held {SLURM_DIR} for {LOCK_WAIT_S} s")
            time.sleep(1.0)
    try:
        for name, args in CLUSTERS.items():
            proc = subprocess.run([str(SCRIPT), "start", name, *args, "--fresh"], env=env,
                                  capture_output=True, text=True, timeout=120)
            if proc.returncode != 0:
                pytest.fail(f"slurm-local.sh start {name} failed: {proc.stderr.strip()}")
            confs[name] = proc.stdout.strip().splitlines()[-1]
        yield confs
    finally:
        for name in CLUSTERS:
            subprocess.run([str(SCRIPT), "stop", name], env=env, capture_output=True,
                           timeout=60, check=False)
        os.close(lock)  # releases the session lock


@pytest.fixture(scope="session")
def federation(slurm_confs, tmp_path_factory) -> Federation:
    def center(name, conf, pool, slurm):
        return {"name": name, "kind": "supercomputing", "city": "localhost", "backend": "slurm",
                "storage_write_gb_per_s": 0.5, "pue": 1.2, "pools": [pool],
                "slurm": {"slurm_conf": conf, "partition": "debug", "release_requeued": True,
                          **slurm}}

    doc = {"federation": {"name": "slurm-test"}, "centers": [
        center("alpha", slurm_confs["swt-alpha"],
               {"accelerator": "CPU-local", "nodes": 3, "devices_per_node": 2,
                "price_per_device_hour": 0.1}, {}),
        center("beta", slurm_confs["swt-beta"],
               {"accelerator": "A100-SXM-80GB", "nodes": 2, "devices_per_node": 2,
                "price_per_device_hour": 9.0}, {"gres": {"A100-SXM-80GB": "gpu"}}),
    ]}
    path = tmp_path_factory.mktemp("fed") / "federation.yaml"
    path.write_text(yaml.safe_dump(doc))
    return load_federation(path)


@pytest.fixture
def backends(federation, tmp_path) -> dict[str, SlurmBackend]:
    return {c.name: SlurmBackend(c, tmp_path / "root") for c in federation.centers}


def wait_for(backend: SlurmBackend, handle: Handle, done: Callable[[BackendStatus], bool], *,
             timeout_s: float, every_s: float = 0.25) -> BackendStatus:
    """Poll until ``done(status)``; fails with the last status and the log tail on timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        st = backend.poll([handle])[handle.key]
        if done(st):
            return st
        if time.monotonic() > deadline:
            pytest.fail(f"{handle.key}: still {st.state} ({st.reason}) after {timeout_s} s; "
                        f"log: {backend.logs(handle, 2000)}")
        time.sleep(every_s)


def scontrol(conf: str, *args: str, check: bool = True) -> str:
    return subprocess.run(["scontrol", *args], env={**os.environ, "SLURM_CONF": conf},
                          capture_output=True, text=True, timeout=30, check=check).stdout
