"""The trainer's side of a checkpoint: stage into shared memory, hand off, never two in flight.

``save`` takes tensor references and returns; a long-lived stager thread copies them into the
shared-memory staging file (:class:`~suanwang.runtime.staging.ShmStager`), signals *staged* and
sends the request to this rank's persist process (:mod:`suanwang.runtime.persist`), which
writes, checksums and commits. The trainer calls :meth:`wait_staged` before its next
``optimizer.step`` (the first moment the weights change); time blocked there plus inside
``save`` is the checkpoint's stall.

At most one save is in flight per rank: the staging file is reused, so a new save must wait for
the previous one's ``done``. The training loop asks :meth:`busy` on every rank and agrees (in its
per-step all-reduce) to *skip* a periodic checkpoint while any rank's previous save is still
being persisted (``ckpt_skipped``); a final checkpoint (end of training, preemption) waits
instead. Every wait calls ``tick`` (the heartbeat) twice a second: a rank waiting on slow
storage is alive, not hung.
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.distributed.checkpoint.state_dict import get_state_dict

from suanwang.runtime.checkpoint import Resumer
from suanwang.runtime.metrics import EventLog
from suanwang.runtime.persist import PersistSpec, connect, readable, recv, send, spawn
from suanwang.runtime.staging import ShmStager, Slot

TICK_S = 0.5


class PersistError(RuntimeError):
    """The persist process failed or died: this rank cannot checkpoint any more."""


class Checkpointer:
    """Save (async or sync) through a persist process, and resume; one per rank.

    ``addr``: the persist process's socket address (the supervisor starts it); None forks one
    from this process (single-process use: tests, torture, benchmarks).
    """

    def __init__(self, root: str | Path, *, rank: int, world: int, pg: Any, keep: int,
                 async_save: bool = True, events: EventLog | None = None,
                 identity: dict[str, Any] | None = None, cuda_rng: bool = False,
                 addr: str | None = None, token: str | None = None,
                 tick: Callable[[], None] | None = None, connect_timeout_s: float = 60.0,
                 spec: PersistSpec | None = None, crash_at_step: int = -1) -> None:
        self.root = Path(root)
        self.rank, self.world = rank, world
        self.async_save = async_save
        self.events = events
        self.identity = identity or {}
        self.cuda_rng = cuda_rng
        self.tick = tick or (lambda: None)
        self._pid: int | None = None
        self._spec: PersistSpec | None = None
        self.sock: socket.socket | None = None
        self._addr, self._connect_timeout_s = addr, connect_timeout_s
        if addr is None:
            if world > 1:  # a child forked now would inherit this process's default group
                raise ValueError("a multi-rank Checkpointer needs its persist process started "
                                 "before the process group: pass addr (the supervisor and "
                                 "elastic.start_persister do)")
            token = token or f"{os.getpid()}-{time.time_ns()}"
            self._addr = f"\0suanwang.{token}.local.r{rank}"
            base = spec or PersistSpec(root=str(self.root), addr=self._addr, keep=keep)
            self._spec = PersistSpec(**{
                **base.__dict__, "addr": self._addr,
                "crash_at_step": crash_at_step if crash_at_step >= 0 else base.crash_at_step})
        else:  # started by the supervisor: connect now, so it never waits for us in vain
            self.sock = connect(addr, connect_timeout_s)
        token = token or f"{os.getpid()}-{time.time_ns()}"
        self.resumer = Resumer(self.root, rank=rank, pg=pg, events=events,
                               identity=self.identity, cuda_rng=cuda_rng)
        self.stager = ShmStager(token, rank)
        self.in_flight: int | None = None
        self.last_committed: int | None = None
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._staged = threading.Event()
        self._staged.set()
        self._error: BaseException | None = None
        self._sd_key: tuple[int, ...] | None = None
        self._sd_cache: Any = None
        if rank == 0:
            self.root.mkdir(parents=True, exist_ok=True)

    def _connect(self) -> None:
        self._pid = spawn(self._spec)
        self.sock = connect(self._addr, self._connect_timeout_s)

    # -- saving --------------------------------------------------------------------------------
    def busy(self) -> bool:
        """Is this rank's previous save still being persisted? (Reads any ``done`` first.)"""
        self.poll()
        return self.in_flight is not None

    def save(self, step: int, model: torch.nn.Module, optim: torch.optim.Optimizer,
             train_state: dict[str, Any]) -> float:
        """Start checkpoint ``step`` (waiting for a previous one still in flight); seconds this
        call blocked the trainer."""
        t0 = time.perf_counter()
        self.wait()
        if self.sock is None:  # forked on the first save: a resume-only use starts nothing
            self._connect()
        msd, osd = self._state_dict(model, optim)
        state = {"model": msd, "optim": osd, f"rng.{self.rank}": torch.get_rng_state()}
        if self.cuda_rng:
            state[f"cuda_rng.{self.rank}"] = torch.cuda.get_rng_state()
        meta = {**train_state, "step": step, "world_size": self.world,
                "identity": self.identity, "cuda_rng": self.cuda_rng}
        self._emit("ckpt_start", step=step)
        self._staged.clear()
        self.in_flight = step
        job = (step, state, meta, time.time(), t0)
        if self.async_save:
            if self._thread is None:  # long-lived: no thread start-up in the stall
                self._thread = threading.Thread(target=self._stage_loop, name="ckpt-stager",
                                                daemon=True)
                self._thread.start()
            self._jobs.put(job)
        else:
            self._stage_and_send(*job)
            self.wait()
        return time.perf_counter() - t0

    def _state_dict(self, model: torch.nn.Module, optim: torch.optim.Optimizer):
        """``get_state_dict``, cached while the parameter and optimizer-state tensors are the
        same objects (their values change in place); the optimizer's plain hyper-parameters
        (the scheduled lr) are refreshed every time. Saves ~2 ms of FQN mapping per save."""
        key = tuple(id(p) for p in model.parameters()) + tuple(
            id(t) for st in optim.state.values() for t in st.values())
        if self._sd_key != key:
            self._sd_cache, self._sd_key = get_state_dict(model, optim), key
        else:
            for cached, live in zip(self._sd_cache[1]["param_groups"], optim.param_groups,
                                    strict=True):
                cached.update({k: v for k, v in live.items() if k != "params"})
        return self._sd_cache

    def _stage_loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            self._stage_and_send(*job)

    def _stage_and_send(self, step: int, state: dict[str, Any], meta: dict[str, Any],
                        t0_wall: float, t0: float) -> None:
        try:
            skeleton = self.stager.stage(state)
        except BaseException as exc:  # process boundary of the stager thread: surface it
            self._error = exc
            self._staged.set()
            return
        try:  # handed off before "staged": once the trainer moves on, the persister has it
            send(self.sock, {"op": "save", "step": step, "shm": str(self.stager.path),
                             "size": self.stager.size, "skeleton": skeleton, "meta": meta,
                             "bytes": self.stager.bytes, "t0": t0_wall,
                             "dtensor": _has_dtensor(skeleton)})
        except OSError as exc:
            self._error = PersistError(f"persist process of rank {self.rank} is gone ({exc})")
        self._staged.set()
        self._emit("ckpt_staged", step=step, staged_s=round(time.perf_counter() - t0, 6))

    def wait_staged(self) -> float:
        """Block until the host copy is done (call before the weights change); seconds blocked."""
        if self._staged.is_set():
            self._raise_if_failed()
            return 0.0
        t0 = time.perf_counter()
        self._staged.wait()
        self._raise_if_failed()
        return time.perf_counter() - t0

    def poll(self, timeout_s: float = 0.0) -> None:
        """Read the persist process's answers (non-blocking by default); raise on its failure."""
        self._raise_if_failed()
        while self.in_flight is not None and readable(self.sock, timeout_s):
            msg = recv(self.sock)
            if msg is None:
                raise PersistError(f"persist process of rank {self.rank} exited while saving "
                                   f"step {self.in_flight}")
            if msg.get("error"):
                raise PersistError(f"persist of step {msg['step']} failed: {msg['error']}")
            if msg["committed"]:
                self.last_committed = msg["step"]
            self.in_flight = None
            timeout_s = 0.0

    def wait(self) -> None:
        """Block until the save in flight is committed (or refused), calling ``tick``."""
        while self.in_flight is not None:
            self.tick()
            self.poll(TICK_S)
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            err, self._error = self._error, None
            raise PersistError("background checkpoint failed") from err

    def _emit(self, event: str, **fields: Any) -> None:
        if self.events is not None:
            self.events.emit(event, **fields)

    # -- loading -------------------------------------------------------------------------------
    def resume(self, model: torch.nn.Module, optim: torch.optim.Optimizer
               ) -> dict[str, Any] | None:
        """Load the newest intact committed checkpoint (see :class:`Resumer`)."""
        return self.resumer.resume(model, optim)

    def close(self) -> None:
        """Wait for the save in flight, let the persist process go, free the staging file."""
        try:
            self.wait()
        finally:
            if self._thread is not None:
                self._jobs.put(None)
                self._thread.join()
                self._thread = None
            if self.sock is not None:
                with contextlib.suppress(OSError):
                    self.sock.close()
            self.stager.close()
            if self._pid is not None:
                os.waitpid(self._pid, 0)
                self._pid = None


def _has_dtensor(skeleton: Any) -> bool:
    if isinstance(skeleton, Slot):
        return skeleton.dtensor is not None
    if isinstance(skeleton, dict):
        return any(_has_dtensor(v) for v in skeleton.values())
    if isinstance(skeleton, list | tuple):
        return any(_has_dtensor(v) for v in skeleton)
    return False
