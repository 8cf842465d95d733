"""The demo federation's section-less Slurm center gets a local cluster and a real backend."""

from __future__ import annotations

import os
import subprocess

import pytest

from suanwang.backends.base import AttemptSpec, AttemptState
from suanwang.backends.slurm import SlurmBackend
from suanwang.backends.slurm_local import with_local_clusters
from suanwang.catalog import load_federation
from suanwang.control.centers import make_centers
from tests.integration.slurm.conftest import SCRIPT, SLURM_DIR, wait_for

pytestmark = pytest.mark.slurm


@pytest.fixture
def demo_federation(slurm_confs):
    fed, notes = with_local_clusters(load_federation(), root=SLURM_DIR, fresh=True)
    try:
        yield fed, notes
    finally:
        subprocess.run([str(SCRIPT), "stop", "beijing-ai"], capture_output=True, timeout=60,
                       env={**os.environ, "SUANWANG_SLURM_DIR": SLURM_DIR}, check=False)


def test_demo_slurm_center_runs_on_a_local_cluster(demo_federation, tmp_path):
    fed, notes = demo_federation
    site = fed.center("beijing-ai").slurm
    assert site is not None, notes
    assert dict(site.gres) == {"H100-SXM": "gpu", "A100-SXM-80GB": "gpu"}
    centers = make_centers(fed, tmp_path, slurm=True)
    assert centers.effective["beijing-ai"] == "slurm", centers.notes
    backend = centers.backends["beijing-ai"]
    assert isinstance(backend, SlurmBackend)
    h100 = next(p for p in backend.capacity() if p.accelerator == "H100-SXM")
    assert (h100.total_devices, h100.total_nodes) == (16, 2)  # 2 fake nodes x 8 fake GPUs
    a = AttemptSpec(key="sw-j401-a1", job_id=401, n=1, kind="batch", center="beijing-ai",
                    accelerator="H100-SXM", devices=16, nodes=2, command="hostname",
                    run_dir=str(tmp_path / "j401"))
    h = backend.submit(a)
    assert wait_for(backend, h, lambda s: s.state.terminal, timeout_s=60).state \
        is AttemptState.SUCCEEDED
    assert backend.logs(h).count("\n") >= 3  # banner + one hostname per node
