"""Local Slurm clusters for the federation's Slurm centers that name none (demos, trying it).

A federation file may say ``backend: slurm`` without a ``slurm:`` section (the packaged demo
federation does, for ``beijing-ai``). :func:`with_local_clusters` starts one
``scripts/slurm-local.sh`` cluster per such center, named after it, and returns the federation
with a ``slurm:`` section pointing at it: ``nodes`` fake nodes (at most the pool's), as many
CPUs per node as the largest pool has devices per node, and for accelerator pools as many fake
GPUs (GRES ``gpu``, shared by all accelerator pools of the center: the fake cluster has one GRES
type). Requeued jobs are released at once. Work still runs on this machine's CPUs.

Nothing is started (and a note says why) without the script (a source checkout), Slurm's
daemons or root; the controller then runs those centers as ``sim``, as before.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

from suanwang.core.federation import Center, Federation, SlurmSite

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "slurm-local.sh"


def why_not_available() -> str:
    """'' when local clusters can be started here, else the reason."""
    if not SCRIPT.is_file():
        return f"{SCRIPT} not found (local clusters need a source checkout)"
    for tool in ("slurmctld", "slurmd", "munged"):
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            return f"{tool} not installed (apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "the local cluster's daemons run as root; not root here"
    return ""


def start_cluster(name: str, *, nodes: int, cpus: int, gpus: int = 0,
                  root: str | Path | None = None, fresh: bool = False) -> str:
    """Start (or keep) local cluster ``name``; the path of its slurm.conf. RuntimeError with
    the script's message when it fails."""
    env = {**os.environ, **({"SUANWANG_SLURM_DIR": str(root)} if root else {})}
    cmd = [str(SCRIPT), "start", name, "--nodes", str(nodes), "--cpus", str(cpus),
           "--gpus", str(gpus), *(["--fresh"] if fresh else [])]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"slurm-local.sh start {name}: {proc.stderr.strip()[-300:]}")
    return proc.stdout.strip().splitlines()[-1]


def _site_for(center: Center, *, nodes: int, root: str | Path | None,
              fresh: bool) -> SlurmSite:
    per_node = max(p.devices_per_node for p in center.pools)
    accel = [p.accelerator.name for p in center.pools if p.accelerator.kind != "cpu"]
    n = max(1, min(nodes, max(p.nodes for p in center.pools)))
    conf = start_cluster(center.name.lower(), nodes=n, cpus=per_node,
                         gpus=per_node if accel else 0, root=root, fresh=fresh)
    return SlurmSite(slurm_conf=conf, partition="debug",
                     gres=tuple((a, "gpu") for a in sorted(accel)), release_requeued=True)


def with_local_clusters(federation: Federation, *, nodes: int = 2,
                        root: str | Path | None = None, fresh: bool = False
                        ) -> tuple[Federation, list[str]]:
    """The federation with local clusters behind its section-less Slurm centers, and one note
    per center (started where, or why not)."""
    todo = [c for c in federation.centers if c.backend == "slurm" and c.slurm is None]
    if not todo:
        return federation, []
    why = why_not_available()
    if why:
        return federation, [f"{c.name}: no local Slurm cluster ({why})" for c in todo]
    notes, centers = [], []
    for c in federation.centers:
        if c in todo:
            try:
                site = _site_for(c, nodes=nodes, root=root, fresh=fresh)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                notes.append(f"{c.name}: no local Slurm cluster ({exc})")
            else:
                notes.append(f"{c.name}: local Slurm cluster, SLURM_CONF={site.slurm_conf}")
                c = dataclasses.replace(c, slurm=site)
        centers.append(c)
    return dataclasses.replace(federation, centers=tuple(centers)), notes
