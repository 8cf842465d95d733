"""``python -m suanwang.runtime elastic JOB``: one rank started by ``torchrun`` (multi-node jobs).

The supervisor (``run``) launches every rank of a job on one node. Across nodes, the cluster
scheduler starts one ``torchrun`` per node, e.g. Slurm's
``srun --ntasks-per-node=1 torchrun --nnodes N --nproc-per-node P --rdzv-backend c10d
--rdzv-endpoint HEAD:PORT --rdzv-id JOBID -m suanwang.runtime elastic JOB``, and torchrun starts
this entry once per local rank with the torch-elastic environment (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``, ``TORCHELASTIC_RESTART_COUNT``).

Restarts inside one allocation are torchrun's ``--max-restarts``; run it with
``TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1`` (torch 2.13 + gloo otherwise reuses stale peer addresses
and hangs: notes/local-infrastructure.md section 1). A lost node ends the allocation and the
scheduler requeues the job (Slurm ``--requeue``, ``SLURM_RESTART_COUNT`` counts them). Either
way the ranks resume from the newest committed checkpoint in ``checkpoint.dir``, so no committed
step is lost. Rank 0 appends to ``RUN_DIR/events.jsonl`` with
``attempt = 1000 * SLURM_RESTART_COUNT + TORCHELASTIC_RESTART_COUNT``.

Exit codes: those of ``train``: 0 trained to the end; 2 the job is wrong (:class:`ConfigError`:
not retried); 3 non-finite numerics; 75 preempted after a final checkpoint.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from suanwang.core.errors import ConfigError

CONFIG_ERROR_RC = 2
REQUEUE_STRIDE = 1000  # attempt number = requeues x stride + in-allocation restarts


def _env_int(name: str, default: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        if default is None:
            raise ConfigError(f"{name} is not set: start this entry with torchrun "
                              "(python -m suanwang.runtime run launches ranks itself)",
                              entry="elastic", field=name)
        return default
    return int(raw)


def attempt_number() -> int:
    """Scheduler requeues x 1000 + torchrun restarts (both 0 on the first start)."""
    return (_env_int("SLURM_RESTART_COUNT", 0) * REQUEUE_STRIDE
            + _env_int("TORCHELASTIC_RESTART_COUNT", 0))


def start_persister(cfg: Any, *, rank: int, world: int, attempt: int) -> dict[str, Any]:
    """Fork this rank's checkpoint persist process now, before the process group exists (a
    child forked later would inherit the trainer's default group and could not make its own),
    as the supervisor does for its ranks; the trainer's ``go`` fields that point to it.

    The persist processes of all ranks meet through a FileStore in the run directory (shared by
    the nodes), named by torchrun's run id and restart count, the same on every rank.
    """
    from suanwang.runtime.persist import PersistSpec, spawn

    run_id = "".join(c if c.isalnum() else "-" for c in os.environ.get("TORCHELASTIC_RUN_ID",
                                                                      "none"))
    token = f"el.{run_id}.{os.environ.get('SLURM_JOB_ID', 'nojob')}.a{attempt}"
    run_dir = Path(cfg.run.run_dir)
    store = run_dir / "hb" / f"persist.{token}.store"
    addr = f"\0suanwang.{token}.r{rank}"
    spawn(PersistSpec(root=str(cfg.ckpt_dir), addr=addr, rank=rank, world=world,
                      attempt=attempt, keep=cfg.checkpoint.keep,
                      events_path=str(run_dir / "events.jsonl"),
                      store_file=str(store) if world > 1 else "",
                      timeout_s=max(cfg.run.startup_timeout_s,
                                    getattr(cfg.checkpoint, "persist_timeout_s", 120.0)),
                      slow_s=getattr(cfg.faults, "slow_persist_s", 0.0)))
    return {"persist_addr": addr, "token": token}


def run_rank(job: str) -> int:
    """Train as the rank torchrun says; 0 when done, 2 on a ConfigError."""
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        return _run_rank(job)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr, flush=True)
        return CONFIG_ERROR_RC


def _run_rank(job: str) -> int:
    import torch.distributed as dist

    from suanwang.runtime.config import load_job
    from suanwang.runtime.metrics import EventLog
    from suanwang.runtime.train import setup_device, train

    cfg = load_job(job)
    rank, world = _env_int("RANK"), _env_int("WORLD_SIZE")
    attempt = attempt_number()
    run_dir = Path(cfg.run.run_dir)
    (run_dir / "hb").mkdir(parents=True, exist_ok=True)
    events = EventLog(run_dir / "events.jsonl", attempt=attempt, source="elastic") \
        if rank == 0 else None
    if events:
        events.emit("start", world=world, run_dir=str(run_dir), pid=os.getpid(),
                    node=os.environ.get("SLURMD_NODENAME", ""))
    deadline = time.time() + cfg.run.max_seconds if cfg.run.max_seconds > 0 else 0.0
    go = start_persister(cfg, rank=rank, world=world, attempt=attempt)  # before any group
    _, backend, _ = setup_device(cfg)
    dist.init_process_group(backend, init_method="env://", rank=rank, world_size=world,
                            timeout=timedelta(seconds=max(60.0, 4 * cfg.run.heartbeat_timeout_s)))
    try:
        rc = train(cfg, rank=rank, world=world, attempt=attempt, deadline_s=deadline, go=go)
    finally:
        dist.destroy_process_group()
    rc = rc or 0  # an older train() returned None when done
    if events:
        events.emit("end", ok=rc == 0, reason="" if rc == 0 else f"rank exit {rc}")
        events.close()
    return rc
