"""Checkpoints of a cross-center job (``xc_train.py``): each center's state under its own name.

The same on-disk layout and commit protocol as the runtime's other checkpoints (DCP shards in
``step_00000020/``, then :func:`checkpoint.commit` writes the manifest, ``COMMITTED.json`` and
``latest``), so the supervisor and ``Resumer.choose`` treat them alike. The state differs: under
DiLoCo the centers' replicas hold *different* weights and AdamW moments between outer steps, and
DCP writes a key held by several ranks only once, so each center's model and optimizer go under
``c<center>.*`` (the optimizer's param-group list of parameter names too, which would otherwise
collide), the shared DiLoCo outer anchor and momentum under ``outer.*``, and each rank's RNG
under ``rng.<rank>``. Saving is synchronous and in the trainer: a cross-center job checkpoints
rarely, and the persist process the supervisor starts for the rank is released at start-up.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint import FileSystemWriter
from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

from suanwang.core.errors import ConfigError
from suanwang.runtime.checkpoint import commit, read_marker, resolve_latest, step_dir


def release_persister(go: dict[str, Any], timeout_s: float) -> None:
    """Connect to and close this rank's supervisor-started persist process (unused here), so
    it exits at once instead of waiting for a trainer that never saves through it."""
    addr = go.get("persist_addr")
    if addr:
        from suanwang.runtime.persist import connect

        connect(addr, timeout_s).close()


def _state(center: int, model: torch.nn.Module, optim: torch.optim.Optimizer,
           outer: torch.nn.Module | None, rank: int) -> dict[str, Any]:
    msd, osd = get_state_dict(model, optim)
    state: dict[str, Any] = {f"c{center}": {"model": msd, "optim": osd},
                             f"rng.{rank}": torch.get_rng_state()}
    if outer is not None:
        state["outer"] = outer.state_dict()
    return state


def save(root: Path, step: int, *, center: int, model: torch.nn.Module,
         optim: torch.optim.Optimizer, outer: torch.nn.Module | None, rank: int, world: int,
         pg: Any, meta: dict[str, Any], keep: int) -> float:
    """Write checkpoint ``step`` on every rank, commit it on rank 0; seconds it blocked."""
    t0 = time.perf_counter()
    path = step_dir(root, step)
    dcp.save(_state(center, model, optim, outer, rank),
             storage_writer=FileSystemWriter(str(path)), process_group=pg)
    dist.barrier(group=pg)  # every rank's shards are durable before the marker
    if rank == 0:
        commit(Path(root), path, {**meta, "step": step, "world_size": world}, keep)
    dist.barrier(group=pg)
    return time.perf_counter() - t0


def resume(root: Path, *, center: int, model: torch.nn.Module, optim: torch.optim.Optimizer,
           outer: torch.nn.Module | None, rank: int, world: int, pg: Any,
           identity: dict[str, Any]) -> dict[str, Any] | None:
    """Load the newest committed checkpoint; its metadata, or None when there is none.

    Raises :class:`ConfigError` naming the field when it was written by another model,
    corpus, sync mode or number of ranks.
    """
    path = resolve_latest(root)
    if path is None:
        return None
    meta = read_marker(path)
    saved = meta.get("identity") or {}
    for key, want in identity.items():
        if key in saved and saved[key] != want:
            raise ConfigError(f"checkpoint {path} was written with {key} = {saved[key]!r} but "
                              f"this job has {want!r}; point run.run_dir at a fresh directory",
                              entry="checkpoint", field=key)
    if int(meta["world_size"]) != world:
        raise ConfigError(f"checkpoint {path} has {meta['world_size']} ranks and this job "
                          f"{world}; a cross-center job resumes on the same ranks",
                          entry="run", field="nproc")
    state = _state(center, model, optim, outer, rank)
    dcp.load(state, checkpoint_id=str(path), process_group=pg)
    mine = state[f"c{center}"]
    set_state_dict(model, optim, model_state_dict=mine["model"], optim_state_dict=mine["optim"])
    if outer is not None:
        outer.load_state_dict(state["outer"])
    torch.set_rng_state(state[f"rng.{rank}"])
    return meta
