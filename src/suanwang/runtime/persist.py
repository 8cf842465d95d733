"""The persist process: writes, checksums and commits the checkpoints a trainer staged.

One persist process per rank, started beside it (forked from the supervisor's fork server, or
by :func:`spawn`), so serialising, writing, fsyncing and checksumming a checkpoint run off the
training process (no GIL or allocator shared with the training step; with one training rank per
core pair, on a core of their own). The trainer stages into shared memory
(:mod:`suanwang.runtime.staging`) and sends a ``save`` request over a Unix socket; the persist
processes of all ranks run ``dcp.save`` on a gloo process group of their own, persist rank 0
commits (manifest with sizes and CRC-32, marker, ``latest``, retention; ``commit`` in
:mod:`suanwang.runtime.checkpoint`, unchanged protocol) and every persist process answers
``done``. A state with a NaN or infinity in it is never committed (``ckpt_refused``).

The persist process outlives its trainer: when the trainer dies (socket EOF) it finishes the
request it holds, so a trainer killed mid-persist still gets its staged state committed, then
exits. The supervisor waits for it before starting the next attempt. It ignores the
preemption signals (its trainer decides when to stop) and dies with the fork server.

Frames on the socket: 8-byte big-endian length + pickle (a trusted peer: our own processes).
"""

from __future__ import annotations

import contextlib
import math
import os
import pickle
import select
import signal
import socket
import struct
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint import FileSystemWriter

from suanwang.runtime.checkpoint import checkpoint_bytes, commit, step_dir
from suanwang.runtime.metrics import EventLog
from suanwang.runtime.procs import ignore_preempt_signals
from suanwang.runtime.staging import ShmView

HEADER = struct.Struct(">Q")


def send(sock: socket.socket, msg: dict[str, Any]) -> None:
    data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(HEADER.pack(len(data)) + data)


def recv(sock: socket.socket) -> dict[str, Any] | None:
    """One frame, or None when the peer closed the connection."""
    head = _read(sock, HEADER.size)
    if head is None:
        return None
    body = _read(sock, HEADER.unpack(head)[0])
    return None if body is None else pickle.loads(body)


def _read(sock: socket.socket, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        try:
            chunk = sock.recv(n - len(buf))
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


@dataclass(frozen=True, kw_only=True)
class PersistSpec:
    """What one persist process needs. ``addr``: Unix socket address (a leading NUL = Linux
    abstract namespace); ``store_port``: the supervisor's TCPStore (world > 1)."""

    root: str
    addr: str
    rank: int = 0
    world: int = 1
    attempt: int = 0
    keep: int = 3
    events_path: str = ""
    store_port: int = 0
    store_file: str = ""  # rendezvous without a supervisor: a FileStore shared by the ranks
    timeout_s: float = 120.0
    slow_s: float = 0.0
    crash_at_step: int = -1


class _CrashingWriter(FileSystemWriter):
    """Fault injection: SIGKILL this process right after its shard is written, before commit."""

    def write_data(self, plan, planner):  # type: ignore[override]
        fut = super().write_data(plan, planner)
        fut.wait()
        os.kill(os.getpid(), signal.SIGKILL)
        return fut


class Persister:
    def __init__(self, spec: PersistSpec) -> None:
        self.spec = spec
        self.root = Path(spec.root)
        self.pg: Any = None
        self.mesh: Any = None
        self.views: dict[str, ShmView] = {}
        self.events = EventLog(spec.events_path, attempt=spec.attempt, source="persist") \
            if spec.events_path and spec.rank == 0 else None

    def serve(self) -> int:
        """Accept the trainer, answer its requests until it closes or dies; exit code."""
        ignore_preempt_signals()
        with contextlib.suppress(PermissionError):  # already a session leader
            # its own session, hence its own scheduler group under Linux autogroup: its CPU
            # time comes out of its own share, not the trainer's (as a separate agent's would)
            os.setsid()
        torch.set_num_threads(1)
        if hasattr(torch.serialization, "set_crc32_options"):
            # the zip records' own CRC is redundant with the manifest's CRC-32 of each file
            torch.serialization.set_crc32_options(False)
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(self.spec.addr)
        lsock.listen(1)
        if self.spec.world > 1:
            self._init_group()
        lsock.settimeout(self.spec.timeout_s)
        try:
            conn, _ = lsock.accept()
        except TimeoutError:
            return 1
        finally:
            lsock.close()
        conn.settimeout(None)
        rc = 0
        with conn:
            while (msg := recv(conn)) is not None and msg["op"] == "save":
                reply = self._save(msg)
                with contextlib.suppress(OSError):  # the trainer may be gone: work is done
                    send(conn, reply)
                if reply.get("error"):
                    rc = 1
                    break
        for view in self.views.values():
            view.unlink()
        return rc

    def _init_group(self) -> None:
        if self.spec.store_port:
            base = dist.TCPStore("127.0.0.1", self.spec.store_port, is_master=False,
                                 timeout=timedelta(seconds=self.spec.timeout_s))
        else:
            base = dist.FileStore(self.spec.store_file, self.spec.world)
        store = dist.PrefixStore(f"persist_{self.spec.attempt}", base)
        dist.init_process_group("gloo", store=store, rank=self.spec.rank,
                                world_size=self.spec.world,
                                timeout=timedelta(seconds=self.spec.timeout_s))
        self.pg = dist.group.WORLD

    def _mesh(self) -> Any:
        if self.mesh is None and self.spec.world > 1:
            from torch.distributed.device_mesh import init_device_mesh

            self.mesh = init_device_mesh("cpu", (self.spec.world,))
        return self.mesh

    def _save(self, msg: dict[str, Any]) -> dict[str, Any]:
        step = int(msg["step"])
        try:
            view = self.views.get(msg["shm"])
            if view is None:
                view = self.views[msg["shm"]] = ShmView(msg["shm"], msg["size"])
            mesh = self._mesh() if msg.get("dtensor") else None
            state = view.rebuild(msg["skeleton"], mesh)
            if self.spec.slow_s > 0:  # fault injection: slow storage
                time.sleep(self.spec.slow_s)
            if not self._all_finite(state):
                self._emit("ckpt_refused", step=step,
                           reason="non-finite values (NaN or inf) in the staged state")
                return {"op": "done", "step": step, "committed": False}
            path = step_dir(self.root, step)
            crash = step == self.spec.crash_at_step
            writer = (_CrashingWriter if crash else FileSystemWriter)(str(path))
            dcp.save(state, storage_writer=writer, process_group=self.pg,
                     no_dist=self.pg is None)
            if self.spec.rank == 0:
                meta = commit(self.root, path, msg["meta"], self.spec.keep)
                self._emit("ckpt_persisted", step=step, bytes_rank0=msg["bytes"],
                           persist_s=round(time.time() - msg["t0"], 6))
                self._emit("ckpt_committed", step=step, path=str(path),
                           bytes=checkpoint_bytes(path), files=len(meta["files"]))
            if self.pg is not None:
                dist.barrier(group=self.pg)
            return {"op": "done", "step": step, "committed": True}
        except Exception as exc:  # process boundary: report to the trainer, then exit
            return {"op": "done", "step": step, "committed": False,
                    "error": f"{type(exc).__name__}: {exc}"[:500]}

    def _all_finite(self, state: Any) -> bool:
        """Every floating value finite? A float64 sum per tensor is finite iff all its values
        are (NaN and inf propagate; fp32/bf16 magnitudes cannot overflow float64 over any
        realistic element count), and it costs one read pass, no temporary mask."""
        ok = all(math.isfinite(t.sum(dtype=torch.float64).item())
                 for t in _float_tensors(state))
        if self.pg is None:
            return ok
        flag = torch.tensor([1.0 if ok else 0.0])
        dist.all_reduce(flag, op=dist.ReduceOp.MIN, group=self.pg)
        return flag.item() > 0

    def _emit(self, event: str, **fields: Any) -> None:
        if self.events is not None:
            self.events.emit(event, **fields)


def _float_tensors(value: Any):
    if hasattr(value, "to_local"):
        value = value.to_local()
    if isinstance(value, torch.Tensor):
        if value.is_floating_point():
            yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _float_tensors(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _float_tensors(v)


def run_persister(go: dict[str, Any]) -> int:
    """Entry of a persist process started by the supervisor (``go["persist"]``: the spec)."""
    return Persister(PersistSpec(**go["persist"])).serve()


def spawn(spec: PersistSpec) -> int:
    """Fork a persist process from this process; its pid. The child uses one intra-op thread
    (a forked child must not enter the parent's OpenMP pool) and does not die with this
    process: it finishes the request it holds, then exits."""
    pid = os.fork()
    if pid == 0:
        rc = 1
        try:
            rc = Persister(spec).serve()
        finally:
            os._exit(rc)
    return pid


def connect(addr: str, timeout_s: float) -> socket.socket:
    """Connect to a persist process, retrying while it starts; ``RuntimeError`` on timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(addr)
            return sock
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            if time.monotonic() > deadline:
                raise RuntimeError(f"persist process at {addr!r} did not start within "
                                   f"{timeout_s} s") from None
            time.sleep(0.01)


def readable(sock: socket.socket, timeout_s: float) -> bool:
    return bool(select.select([sock], [], [], timeout_s)[0])
