"""The sbatch script of one attempt: resources, identity, and how the work is launched.

Resources (per node, from the attempt and the center's ``slurm:`` section):

* ``--nodes`` = ``attempt.nodes``; the devices are spread evenly, ``devices / nodes`` per node
  (an uneven split is refused: Slurm allocates per node).
* GPU pools (the accelerator has a ``gres`` entry): ``--gres=NAME:K`` with K devices per node
  and ``--cpus-per-task=K`` (one core per rank). CPU pools: a device is a core,
  ``--cpus-per-task=K``.
* ``--time`` = ``ceil(walltime_s / 60)`` minutes when ``walltime_s`` > 0;
  ``--partition``/``--account``/``--qos`` from the center.
* ``--requeue`` and ``--open-mode=append``: Slurm requeues the job after a node failure and the
  output of every run stays in one file.
* training: ``--signal=TERM@S`` (S = the runtime's preempt grace + 30 s, :func:`signal_lead_s`):
  the runtime gets SIGTERM S seconds before the time limit, commits a final checkpoint and
  exits 75, which the backend reports PREEMPTED (resumable) instead of a TIMEOUT.

Identity: ``--job-name`` is the attempt key (``sw-j12-a1``) and ``--comment`` carries it again
(``suanwang:key=sw-j12-a1``), so a restarted controller finds its job with ``squeue --name`` and
never submits an attempt twice.

Launch (everything under ``srun``, one task per node):

* training on one node: ``python -m suanwang.runtime run JOB.json`` (the runtime supervisor:
  rank processes, heartbeats, restarts from the newest checkpoint);
* training on several nodes: ``torchrun`` per node with c10d rendezvous on the first node (port
  picked free there at start) and ``TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1``, each rank running
  ``python -m suanwang.runtime elastic JOB.json``;
* batch: the command (``bash -c`` for a string, the argv as is), once per node.

The runtime's job document is written by the script itself (a quoted here-document), so a
remote cluster needs nothing copied: ``sbatch`` reads the script on stdin.
"""

from __future__ import annotations

import json
import math
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from suanwang.backends.base import AttemptSpec
from suanwang.core.errors import ConfigError
from suanwang.core.federation import SlurmSite

JOB_DOC_EOF = "SUANWANG_JOB_EOF"
RUNTIME_PREEMPT_GRACE_S = 60.0  # the runtime's run.preempt_grace_s default
SIGNAL_MARGIN_S = 30.0
COMMENT_PREFIX = "suanwang:key="


@dataclass(frozen=True, kw_only=True)
class Layout:
    """Per-node shape of an allocation: ``ranks_per_node`` devices on each of ``nodes``."""

    nodes: int
    ranks_per_node: int
    gres: str  # GRES name ('' for a CPU pool)

    @property
    def gres_request(self) -> str:
        return f"{self.gres}:{self.ranks_per_node}" if self.gres else ""


def layout(attempt: AttemptSpec, site: SlurmSite) -> Layout:
    """Devices per node; ConfigError when they cannot be spread evenly over the nodes."""
    if attempt.nodes < 1 or attempt.devices < 1:
        raise ConfigError(f"attempt {attempt.key}: needs >= 1 node and >= 1 device (got "
                          f"{attempt.nodes} nodes, {attempt.devices} devices)", field="devices")
    if attempt.devices % attempt.nodes:
        raise ConfigError(f"attempt {attempt.key}: {attempt.devices} devices do not divide "
                          f"evenly over {attempt.nodes} nodes; Slurm allocates whole nodes "
                          "alike, choose a multiple", field="devices")
    return Layout(nodes=attempt.nodes, ranks_per_node=attempt.devices // attempt.nodes,
                  gres=site.gres_for(attempt.accelerator))


def comment(key: str) -> str:
    return f"{COMMENT_PREFIX}{key}"


def key_of_comment(text: str) -> str:
    """The attempt key in a job comment written by :func:`comment` ('' if none)."""
    text = text.strip()
    return text[len(COMMENT_PREFIX):].split(",")[0] if text.startswith(COMMENT_PREFIX) else ""


def runtime_document(attempt: AttemptSpec, run_dir: str) -> dict[str, Any]:
    """The runtime job document: the attempt's, with run_dir, world size and the planner's
    checkpoint interval filled in (one document serves ``run`` and ``elastic``)."""
    if attempt.runtime_config is None:
        raise ConfigError(f"attempt {attempt.key}: a training attempt needs a runtime_config",
                          field="runtime_config")
    doc = json.loads(json.dumps(dict(attempt.runtime_config)))  # deep, JSON-clean copy
    run = doc.setdefault("run", {})
    run["run_dir"] = run_dir
    run["nproc"] = attempt.devices
    if attempt.checkpoint_interval_s > 0:  # canonical key; drop the deprecated alias if present
        ck = doc.setdefault("checkpoint", {})
        ck.pop("every_s", None)
        ck["interval_s"] = round(attempt.checkpoint_interval_s, 3)
    return doc


def signal_lead_s(a: AttemptSpec) -> int:
    """Seconds before the time limit at which Slurm sends SIGTERM to the job steps
    (``--signal=TERM@S``): the runtime's ``run.preempt_grace_s`` (default 60, docs/runtime.md)
    + ``SIGNAL_MARGIN_S`` for the persist processes to finish the final hand-off. Not ``B:``:
    that signals only the batch shell, which waits on ``srun`` and would never pass it on; not
    USR1: torchrun (multi-node) dies on it, while it forwards TERM to its ranks."""
    run = dict(a.runtime_config or {}).get("run") or {}
    return math.ceil(float(run.get("preempt_grace_s", RUNTIME_PREEMPT_GRACE_S))
                     + SIGNAL_MARGIN_S)


def _directives(a: AttemptSpec, site: SlurmSite, lay: Layout, out: str, workdir: str) -> list[str]:
    d = [f"--job-name={a.key}", f"--comment={comment(a.key)}", f"--nodes={lay.nodes}",
         "--ntasks-per-node=1", f"--cpus-per-task={lay.ranks_per_node}", "--requeue",
         "--open-mode=append", f"--output={out}", f"--chdir={workdir}"]
    if lay.gres:
        d.append(f"--gres={lay.gres_request}")
    if a.walltime_s > 0:
        d.append(f"--time={max(1, math.ceil(a.walltime_s / 60))}")
    if a.kind == "training":
        d.append(f"--signal=TERM@{signal_lead_s(a)}")
    for flag, value in (("partition", site.partition), ("account", site.account),
                        ("qos", site.qos), ("reservation", a.reservation)):
        if value:
            d.append(f"--{flag}={value}")
    return [f"#SBATCH {x}" for x in d]


def _launch(a: AttemptSpec, lay: Layout, python: str, job_doc: str, max_restarts: int) -> str:
    srun = (f"srun --nodes={lay.nodes} --ntasks-per-node=1 "
            f"--cpus-per-task={lay.ranks_per_node} --kill-on-bad-exit=1")
    if a.kind == "batch":
        if not a.command or (isinstance(a.command, str) and not a.command.strip()):
            raise ConfigError(f"attempt {a.key}: a batch attempt needs a command",
                              field="command")
        cmd = shlex.join(["bash", "-c", a.command]) if isinstance(a.command, str) \
            else shlex.join(a.command)
        return f"{srun} {cmd}"
    py = shlex.quote(python)
    if lay.nodes == 1:
        return f"{srun} {py} -m suanwang.runtime run {shlex.quote(job_doc)} --quiet"
    return "\n".join([
        'head=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
        'addr=$(scontrol show node "$head" -o | sed -n "s/.* NodeAddr=\\([^ ]*\\).*/\\1/p")',
        f"port=$({py} -c 'import socket; s = socket.socket(); s.bind((\"\", 0)); "
        "print(s.getsockname()[1])')",
        "export TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1",
        f"{srun} {py} -m torch.distributed.run --nnodes={lay.nodes} "
        f"--nproc-per-node={lay.ranks_per_node} --rdzv-backend=c10d "
        '--rdzv-endpoint="${addr:-$head}:$port" '
        '--rdzv-id="$SLURM_JOB_ID.${SLURM_RESTART_COUNT:-0}" '
        f"--max-restarts={max_restarts} -m suanwang.runtime elastic {shlex.quote(job_doc)}",
    ])


def render(attempt: AttemptSpec, site: SlurmSite, *, attempt_dir: str, run_dir: str,
           python: str, env: Mapping[str, str] | None = None) -> str:
    """The complete sbatch script (text) for ``attempt``; see the module doc for its parts."""
    if attempt.kind not in ("training", "batch"):
        raise ConfigError(f"attempt {attempt.key}: kind must be training or batch (got "
                          f"'{attempt.kind}')", field="kind")
    lay = layout(attempt, site)
    out = f"{attempt_dir}/slurm.out"
    lines = ["#!/bin/bash", *_directives(attempt, site, lay, out, attempt_dir), "set -uo pipefail",
             f'echo "[suanwang] $(date -Is) attempt {attempt.key}: slurm job $SLURM_JOB_ID run '
             '${SLURM_RESTART_COUNT:-0} on $SLURM_JOB_NODELIST"', *site.setup]
    for k, v in sorted({**(env or {}), **attempt.env}.items()):
        if not k.isidentifier():
            raise ConfigError(f"attempt {attempt.key}: environment variable name {k!r} is not "
                              "valid", field="env")
        lines.append(f"export {k}={shlex.quote(v)}")
    job_doc = f"{attempt_dir}/job.json"
    max_restarts = 0
    if attempt.kind == "training":
        doc = runtime_document(attempt, run_dir)
        max_restarts = int(doc.get("run", {}).get("max_restarts", 3))
        lines += [f"cat > {shlex.quote(job_doc)} <<'{JOB_DOC_EOF}'",
                  json.dumps(doc, indent=1), JOB_DOC_EOF]
    lines.append(_launch(attempt, lay, python, job_doc, max_restarts))
    return "\n".join(lines) + "\n"
