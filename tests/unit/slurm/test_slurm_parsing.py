"""Slurm CLI output parsing, state mapping, sbatch scripts and center checks (no Slurm needed)."""

from __future__ import annotations

import shlex
from datetime import datetime

import pytest

from suanwang.backends.base import AttemptSpec, AttemptState
from suanwang.backends.slurm import attempt_state, check_site
from suanwang.backends.slurm_cli import (
    SlurmCLI,
    gres_count,
    parse_duration,
    parse_exit,
    parse_sacct,
    parse_sinfo,
    parse_squeue,
)
from suanwang.backends.slurm_script import key_of_comment, layout, render, runtime_document
from suanwang.catalog.federation import parse_federation
from suanwang.core.errors import ConfigError
from suanwang.core.federation import SlurmSite


def _center_doc(**slurm):
    return {"name": "hpc", "kind": "supercomputing", "city": "x", "backend": "slurm",
            "storage_write_gb_per_s": 1, "pue": 1.2, "slurm": slurm or None,
            "pools": [{"accelerator": "H100-SXM", "nodes": 2, "devices_per_node": 8,
                       "price_per_device_hour": 20.0}]}


def _attempt(**kw):
    base = dict(key="sw-j7-a2", job_id=7, n=2, kind="batch", center="hpc",
                accelerator="H100-SXM", devices=16, nodes=2, command="echo hi")
    return AttemptSpec(**{**base, **kw})


def test_durations_exit_codes_and_gres():
    assert parse_duration("1-02:03:04") == 86400 + 2 * 3600 + 3 * 60 + 4
    assert parse_duration("05:06") == 306
    assert parse_duration("00:00:07.5") == 7.5
    assert parse_exit("7:0") == (7, 0)
    assert parse_exit("0:9") == (0, 9)
    assert parse_exit("") == (None, None)
    assert gres_count("gpu:h100:8(S:0-1),nic:2", "gpu") == 8
    assert gres_count("gpu:h100:8(S:0-1)", "gpu:h100") == 8
    assert gres_count("gpu:a100:4", "gpu:h100") == 0
    assert gres_count("gpu:2", "gpu") == 2
    assert gres_count("(null)", "gpu") == 0


def test_squeue_sacct_sinfo_rows():
    q = parse_squeue("12|sw-j1-a1|RUNNING|None|2026-11-30T10:00:00|NONE|2|4|"
                     "suanwang:key=sw-j1-a1|a-n[1-2]\n")
    assert q[0].job_id == "12" and q[0].nodes == 2 and q[0].cpus == 4
    assert q[0].start == datetime(2026, 11, 30, 10).timestamp() and q[0].end is None
    assert key_of_comment(q[0].comment) == "sw-j1-a1"
    a = parse_sacct("12|sw-j1-a1|NODE_FAIL|0:0|2026-11-30T10:00:00|2026-11-30T10:00:30|00:00:30"
                    "|2|4|a-n[1-2]\n12.batch|batch|COMPLETED|0:0|||00:00:30|1|2|a-n1\n"
                    "12|sw-j1-a1|CANCELLED by 0|0:15|2026-11-30T10:01:00|2026-11-30T10:01:05|"
                    "00:00:05|2|4|a-n[2-3]|billing=4,cpu=4,gres/gpu=8,node=2\n")
    assert [r.state for r in a] == ["NODE_FAIL", "CANCELLED"]  # the .batch step is skipped
    assert a[0].elapsed_s == 30 and a[1].tres["gres/gpu"] == "8" and a[1].signal == 15
    s = parse_sinfo("a-n1|idle|0/2/0/2|gpu:2|gpu:0|debug*|\na-n2|down*|0/0/2/2|gpu:2|gpu:0|debug|\n"
                    "a-n3|mixed|1/1/0/2|gpu:2|gpu:1(IDX:0)|debug|\n")
    assert [n.usable for n in s] == [True, False, True]
    assert s[0].partition == "debug" and s[2].cpus_idle == 1


@pytest.mark.parametrize(("slurm", "want"), [
    ("PENDING", AttemptState.PENDING), ("REQUEUED", AttemptState.PENDING),
    ("RUNNING", AttemptState.RUNNING), ("COMPLETING", AttemptState.RUNNING),
    ("COMPLETED", AttemptState.SUCCEEDED), ("FAILED", AttemptState.FAILED),
    ("TIMEOUT", AttemptState.FAILED), ("CANCELLED by 0", AttemptState.CANCELLED),
    ("NODE_FAIL", AttemptState.NODE_FAIL), ("PREEMPTED", AttemptState.PREEMPTED),
    ("SOMETHING_NEW", AttemptState.NODE_FAIL),
])
def test_state_mapping(slurm, want):
    assert attempt_state(slurm) is want


def test_batch_script_resources_and_identity():
    site = SlurmSite(partition="gpu", account="proj1", qos="high", gres=(("H100-SXM", "gpu:h100"),),
                     setup=("module load cuda",))
    text = render(_attempt(walltime_s=3601, command="srun ./a.out"), site, attempt_dir="/r/a",
                  run_dir="/r", python="/opt/py")
    for line in ("#SBATCH --job-name=sw-j7-a2", "#SBATCH --comment=suanwang:key=sw-j7-a2",
                 "#SBATCH --nodes=2", "#SBATCH --gres=gpu:h100:8", "#SBATCH --time=61",
                 "#SBATCH --partition=gpu", "#SBATCH --account=proj1", "#SBATCH --qos=high",
                 "#SBATCH --requeue", "#SBATCH --output=/r/a/slurm.out", "module load cuda"):
        assert line in text.splitlines()
    assert text.rstrip().endswith(shlex.join(["bash", "-c", "srun ./a.out"]))


def test_training_script_multi_node_uses_torchrun_and_job_document():
    cfg = {"train": {"steps": 5}, "run": {"nproc": 99, "run_dir": "ignored"}}
    a = _attempt(kind="training", runtime_config=cfg, command="", checkpoint_interval_s=12.5)
    text = render(a, SlurmSite(gres=(("H100-SXM", "gpu"),)), attempt_dir="/r/a", run_dir="/r",
                  python="/opt/py")
    assert "TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1" in text
    assert "--nnodes=2 --nproc-per-node=8 --rdzv-backend=c10d" in text
    assert "-m suanwang.runtime elastic /r/a/job.json" in text
    doc = runtime_document(a, "/r")
    assert doc["run"] == {"nproc": 16, "run_dir": "/r"} and doc["checkpoint"]["interval_s"] == 12.5
    one = render(_attempt(kind="training", runtime_config=cfg, nodes=1, devices=8), SlurmSite(),
                 attempt_dir="/r/a", run_dir="/r", python="/opt/py")
    assert "/opt/py -m suanwang.runtime run /r/a/job.json" in one and "torch" not in one


def test_uneven_devices_and_bad_env_are_config_errors():
    with pytest.raises(ConfigError, match="divide evenly"):
        layout(_attempt(devices=3, nodes=2), SlurmSite())
    with pytest.raises(ConfigError, match="not valid"):
        render(_attempt(env={"BAD-NAME": "x"}), SlurmSite(), attempt_dir="/a", run_dir="/r",
               python="p")


def test_center_slurm_section_checked_when_parsed(tmp_path):
    conf = tmp_path / "slurm.conf"
    conf.write_text("ClusterName=x\n")
    fed = parse_federation({"centers": [_center_doc(slurm_conf=str(conf), partition="gpu",
                                                    gres={"H100-SXM": "gpu:h100"})]}, "f.yaml")
    site = check_site(fed.centers[0])
    assert site.gres_for("H100-SXM") == "gpu:h100" and site.partition == "gpu"
    bad = [({"gres": {"A100-SXM-80GB": "gpu"}}, "gres"),
           ({"gres": {"H100-SXM": "gpu:8:x"}}, "gres"),
           ({"partiton": "gpu"}, "partiton"), ({"qos": "a b"}, "qos"),
           ({"release_requeued": "yes"}, "release_requeued")]
    for section, field in bad:
        with pytest.raises(ConfigError) as err:
            parse_federation({"centers": [_center_doc(**section)]}, "f.yaml")
        assert err.value.field == field, section
    local = {**_center_doc(partition="x"), "backend": "local"}
    with pytest.raises(ConfigError, match="needs backend: slurm"):
        parse_federation({"centers": [local]}, "f.yaml")


def test_backend_refuses_center_without_usable_site():
    fed = parse_federation({"centers": [_center_doc()]}, "f.yaml")
    with pytest.raises(ConfigError) as err:
        check_site(fed.centers[0])
    assert err.value.field == "slurm"
    missing = parse_federation({"centers": [_center_doc(slurm_conf="/nope/slurm.conf")]}, "f.yaml")
    with pytest.raises(ConfigError) as err:
        check_site(missing.centers[0])
    assert err.value.field == "slurm_conf"
    remote = parse_federation({"centers": [_center_doc(ssh_host="login1")]}, "f.yaml")
    with pytest.raises(ConfigError) as err:
        check_site(remote.centers[0])
    assert err.value.field == "python"


def test_ssh_wraps_the_command_line_with_slurm_conf():
    cli = SlurmCLI(slurm_conf="/etc/slurm/a.conf", ssh_host="login1")
    argv = cli.argv(["squeue", "--name=a b"])
    assert argv[:3] == ["ssh", "-o", "BatchMode=yes"] and "login1" in argv
    assert argv[-1] == "env SLURM_CONF=/etc/slurm/a.conf squeue '--name=a b'"
    assert SlurmCLI().argv(["sinfo"]) == ["sinfo"]
    jump = SlurmCLI(ssh_host="ssh://u@login:2222", ssh_options=("-J", "gw"))
    assert jump.argv(["sinfo"])[-5:] == ["-J", "gw", "ssh://u@login:2222", "--", "sinfo"]


def test_ssh_options_need_ssh_host():
    with pytest.raises(ConfigError) as err:
        parse_federation({"centers": [_center_doc(ssh_options=["-J", "gw"])]}, "f.yaml")
    assert err.value.field == "ssh_options"
    fed = parse_federation({"centers": [_center_doc(ssh_host="ssh://u@login:2222",
                                                    ssh_options=["-J", "gw"])]}, "f.yaml")
    assert fed.centers[0].slurm.ssh_options == ("-J", "gw")

