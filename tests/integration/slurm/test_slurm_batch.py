"""Batch jobs, cancel, re-attach and config checks against real local Slurm clusters."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest

from suanwang.backends.base import AttemptSpec, AttemptState, Handle
from suanwang.backends.slurm import SlurmBackend
from suanwang.core.errors import ConfigError
from tests.integration.slurm.conftest import tiny_training, wait_for

pytestmark = pytest.mark.slurm

SUBMIT_TO_RUNNING_TARGET_S = 5.0


def batch(key: str, command: str, tmp_path: Path, *, center: str = "alpha",
          accelerator: str = "CPU-local", devices: int = 1, nodes: int = 1) -> AttemptSpec:
    return AttemptSpec(key=key, job_id=int(key.split("-")[1][1:]), n=1, kind="batch",
                       center=center, accelerator=accelerator, devices=devices, nodes=nodes,
                       command=command, run_dir=str(tmp_path / key))


def test_batch_completes_is_billed_from_sacct_and_counts_gres(backends, tmp_path):
    beta = backends["beta"]
    before = beta.capacity()[0]
    assert (before.total_devices, before.free_devices, before.total_nodes) == (4, 4, 2)
    a = batch("sw-j101-a1", "echo hello from $SLURMD_NODENAME; sleep 2", tmp_path,
              center="beta", accelerator="A100-SXM-80GB")
    t0 = time.monotonic()
    h = beta.submit(a)
    wait_for(beta, h, lambda s: s.state is not AttemptState.PENDING, timeout_s=30, every_s=0.05)
    submit_to_running_s = time.monotonic() - t0
    print(f"submit->RUNNING {submit_to_running_s:.2f} s")
    assert submit_to_running_s <= SUBMIT_TO_RUNNING_TARGET_S
    during = beta.capacity()[0]
    assert during.free_devices == 3  # one fake GPU allocated through --gres=gpu:1
    st = wait_for(beta, h, lambda s: s.state.terminal, timeout_s=60)
    assert st.state is AttemptState.SUCCEEDED and st.exit_code == 0
    assert "hello from swt-beta-n" in beta.logs(h)
    use = beta.usage(h)
    assert use.final and use.wall_s >= 2 and use.device_seconds == use.wall_s * 1
    assert use.node_seconds == use.wall_s and use.accelerator == "A100-SXM-80GB"
    assert use.started_at is not None and use.ended_at - use.started_at == pytest.approx(
        use.wall_s, abs=1.0)


def test_failing_batch_reports_exit_code_and_log_tail(backends, tmp_path):
    alpha = backends["alpha"]
    h = alpha.submit(batch("sw-j102-a1", "echo step one; echo disk full >&2; exit 7", tmp_path))
    st = wait_for(alpha, h, lambda s: s.state.terminal, timeout_s=60)
    assert st.state is AttemptState.FAILED and st.exit_code == 7
    assert "disk full" in st.log_tail and "exit code 7" in st.reason


def test_cancel_batch_and_training(backends, tmp_path):
    alpha = backends["alpha"]
    hb = alpha.submit(batch("sw-j103-a1", "sleep 120", tmp_path))
    train = AttemptSpec(key="sw-j104-a1", job_id=104, n=1, kind="training", center="alpha",
                        accelerator="CPU-local", devices=2, nodes=1,
                        runtime_config=tiny_training(500, slow_s=0.2),
                        run_dir=str(tmp_path / "j104"))
    ht = alpha.submit(train)
    for h in (hb, ht):
        wait_for(alpha, h, lambda s: s.state is AttemptState.RUNNING, timeout_s=30)
        alpha.cancel(h)
    for h in (hb, ht):
        st = wait_for(alpha, h, lambda s: s.state.terminal, timeout_s=60)
        assert st.state is AttemptState.CANCELLED, (h.key, st)
    alpha.cancel(hb)  # idempotent on a finished job
    assert alpha.poll([hb])[hb.key].state is AttemptState.CANCELLED


def test_restarted_controller_reattaches_without_submitting_twice(backends, federation,
                                                                   tmp_path):
    alpha = backends["alpha"]
    a = batch("sw-j105-a1", "sleep 60", tmp_path)
    first = alpha.submit(a)
    stored = json.dumps(first.to_json())  # what the controller keeps in its attempts table
    # a new controller process: fresh backend objects, the handle only from the store
    again = SlurmBackend(federation.center("alpha"), alpha.root)
    assert again.submit(a).native_id == first.native_id
    # crashed between sbatch and the marker: found by the job name/comment in squeue
    (Path(again.attempt_dir(a)) / "submitted.json").unlink()
    third = SlurmBackend(federation.center("alpha"), alpha.root)
    assert third.submit(a).native_id == first.native_id
    rows = third.cli.run(["squeue", "-h", "-a", "-t", "all", "--name=sw-j105-a1", "-o", "%i"])
    assert rows.stdout.split() == [first.native_id]  # exactly one Slurm job for the attempt
    h = Handle.from_json(json.loads(stored))
    assert third.poll([h])[h.key].state in (AttemptState.PENDING, AttemptState.RUNNING)
    third.cancel(h)
    assert wait_for(third, h, lambda s: s.state.terminal, timeout_s=60).state \
        is AttemptState.CANCELLED
    assert third.submit(a).native_id == first.native_id  # ended: still never a second job


def test_malformed_center_config_and_attempts_rejected_before_submit(backends, federation,
                                                                     tmp_path):
    alpha = backends["alpha"]
    calls = []
    real_run = alpha.cli.run
    alpha.cli.run = lambda cmd, **kw: calls.append(cmd[0]) or real_run(cmd, **kw)
    uneven = batch("sw-j106-a1", "true", tmp_path, devices=3, nodes=2)
    with pytest.raises(ConfigError, match="divide evenly"):
        alpha.submit(uneven)
    with pytest.raises(ConfigError) as err:
        alpha.submit(batch("sw-j107-a1", "true", tmp_path, accelerator="H100-SXM"))
    assert err.value.field == "accelerator"
    with pytest.raises(ConfigError) as err:
        alpha.submit(batch("sw-j108-a1", "", tmp_path))
    assert err.value.field == "command"
    assert "sbatch" not in calls
    center = federation.center("alpha")
    bad_site = dataclasses.replace(center.slurm, slurm_conf=str(tmp_path / "missing.conf"))
    with pytest.raises(ConfigError) as err:
        SlurmBackend(dataclasses.replace(center, slurm=bad_site), tmp_path)
    assert err.value.field == "slurm_conf"
    with pytest.raises(ConfigError) as err:
        SlurmBackend(dataclasses.replace(center, slurm=None), tmp_path)
    assert err.value.field == "slurm"
    out = alpha.cli.run(["squeue", "-h", "-a", "-t", "all", "--name=sw-j106-a1,sw-j107-a1,"
                         "sw-j108-a1", "-o", "%i"]).stdout
    assert out.strip() == ""


@pytest.mark.slow
def test_full_accounting_with_slurmdbd(slurm_confs, tmp_path):
    """A third cluster with slurmdbd + MariaDB: plain sacct (not -c) gives exit code and usage."""
    import os
    import subprocess

    from suanwang.catalog.federation import parse_federation
    from tests.integration.slurm.conftest import SCRIPT, SLURM_DIR

    env = {**os.environ, "SUANWANG_SLURM_DIR": SLURM_DIR}
    proc = subprocess.run([str(SCRIPT), "start", "swt-dbd", "--nodes", "1", "--dbd", "--fresh"],
                          env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    try:
        doc = {"centers": [{"name": "dbd", "kind": "supercomputing", "city": "x",
                            "backend": "slurm", "storage_write_gb_per_s": 1, "pue": 1.0,
                            "pools": [{"accelerator": "CPU-local", "nodes": 1,
                                       "devices_per_node": 2, "price_per_device_hour": 0.1}],
                            "slurm": {"slurm_conf": proc.stdout.strip()}}]}
        b = SlurmBackend(parse_federation(doc, "f.yaml").centers[0], tmp_path)
        assert b.has_dbd
        h = b.submit(batch("sw-j109-a1", "sleep 2; exit 3", tmp_path, center="dbd", devices=2))
        st = wait_for(b, h, lambda s: s.state.terminal, timeout_s=60)
        assert st.state is AttemptState.FAILED and st.exit_code == 3
        use = b.usage(h)
        assert use.final and use.wall_s >= 2 and use.device_seconds == 2 * use.wall_s
        (Path(b.attempt_dir(batch("sw-j109-a1", "x", tmp_path, center="dbd", devices=2)))
         / "submitted.json").unlink()
        again = b.submit(batch("sw-j109-a1", "sleep 2; exit 3", tmp_path, center="dbd",
                               devices=2))
        assert again.native_id == h.native_id  # found by name in squeue/sacct, not resubmitted
    finally:
        subprocess.run([str(SCRIPT), "stop", "swt-dbd"], env=env, capture_output=True,
                       timeout=60, check=False)


def test_unreachable_cluster_reports_no_free_capacity(federation, tmp_path):
    """slurmctld gone (the conf's port answers nothing): capacity is 0 free, not an error that
    would stop the controller's tick for every center."""
    alpha = federation.center("alpha")
    text = Path(alpha.slurm.slurm_conf).read_text()
    port = next(ln for ln in text.splitlines() if ln.startswith("SlurmctldPort="))
    dead = tmp_path / "slurm.conf"
    dead.write_text(text.replace(port, "SlurmctldPort=1") + "MessageTimeout=2\n")
    site = dataclasses.replace(alpha.slurm, slurm_conf=str(dead))
    b = SlurmBackend(dataclasses.replace(alpha, slurm=site), tmp_path)
    (cap,) = b.capacity()
    assert (cap.total_devices, cap.free_devices) == (6, 0)
