"""The Slurm backend through a login node: every client command over ssh.

The "login node" is an sshd started for this module on 127.0.0.1 (its own host key, a client
key in its own authorized_keys file, nothing of the machine's ssh set-up touched); behind it,
the session's alpha cluster. ``ssh_host: ssh://root@127.0.0.1:PORT`` with ``ssh_options`` for
the key and known-hosts file, as a site would give ``-i``/``-J``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from suanwang.backends.base import AttemptSpec, AttemptState, Capability
from suanwang.backends.slurm import SlurmBackend
from suanwang.catalog.federation import parse_federation
from tests.conftest import require_service
from tests.integration.slurm.conftest import wait_for

pytestmark = pytest.mark.slurm

SSHD = "/usr/sbin/sshd"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def login_node(slurm_confs, tmp_path_factory):
    require_service("slurm", Path(SSHD).exists() and shutil.which("ssh-keygen") is not None,
                    "sshd/ssh-keygen not installed (apt-get install openssh-server): the "
                    "login-node path of the Slurm backend needs one")
    d = tmp_path_factory.mktemp("sshd")
    for name in ("host_key", "client_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / name)],
                       check=True, timeout=30)
    (d / "authorized_keys").write_text((d / "client_key.pub").read_text())
    port = _free_port()
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d / 'host_key'}\n"
        f"PidFile {d / 'sshd.pid'}\nAuthorizedKeysFile {d / 'authorized_keys'}\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n")
    (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {(d / 'host_key.pub').read_text()}")
    os.makedirs("/run/sshd", exist_ok=True)
    subprocess.run([SSHD, "-f", str(d / "sshd_config"), "-E", str(d / "sshd.log")], check=True,
                   timeout=30)
    for _ in range(100):
        if (d / "sshd.pid").exists():
            break
        time.sleep(0.05)
    try:
        yield {"host": f"ssh://root@127.0.0.1:{port}",
               "options": ["-i", str(d / "client_key"), "-o", "IdentitiesOnly=yes",
                           "-o", f"UserKnownHostsFile={d / 'known_hosts'}"]}
    finally:
        if (d / "sshd.pid").exists():
            os.kill(int((d / "sshd.pid").read_text()), signal.SIGTERM)


def test_batch_job_through_login_node(login_node, slurm_confs, tmp_path):
    doc = {"centers": [{"name": "alpha-remote", "kind": "supercomputing", "city": "x",
                        "backend": "slurm", "storage_write_gb_per_s": 1, "pue": 1.0,
                        "pools": [{"accelerator": "CPU-local", "nodes": 3,
                                   "devices_per_node": 2, "price_per_device_hour": 0.1}],
                        "slurm": {"ssh_host": login_node["host"],
                                  "ssh_options": login_node["options"],
                                  "slurm_conf": slurm_confs["swt-alpha"], "partition": "debug",
                                  "python": sys.executable}}]}
    b = SlurmBackend(parse_federation(doc, "f.yaml").centers[0], tmp_path)
    assert b.cli.argv(["squeue"])[0] == "ssh" and Capability.EVENTS in b.capabilities
    assert b.cluster == "swt-alpha"  # scontrol show config, over ssh
    a = AttemptSpec(key="sw-j301-a1", job_id=301, n=1, kind="batch", center="alpha-remote",
                    accelerator="CPU-local", devices=1,
                    command="echo via-login-node on $SLURMD_NODENAME; sleep 1; exit 5",
                    run_dir=str(tmp_path / "j301"))
    h = b.submit(a)
    assert not (Path(b.attempt_dir(a)) / "submitted.json").exists()  # nothing written locally
    assert b.submit(a).native_id == h.native_id  # found again by name, over ssh
    st = wait_for(b, h, lambda s: s.state.terminal, timeout_s=60)
    assert st.state is AttemptState.FAILED and st.exit_code == 5
    assert "via-login-node on swt-alpha-n" in st.log_tail  # tail -c over ssh
    assert b.usage(h).final and b.usage(h).wall_s >= 1
    assert sum(p.total_devices for p in b.capacity()) == 6
