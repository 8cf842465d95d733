"""Staging a state dict into shared memory, and rebuilding it in another process.

The trainer copies every tensor of the checkpoint state into one shared-memory file
(``/dev/shm/suanwang.<token>.r<rank>.<generation>``), laid out once and reused by every save;
the rest of the state dict (nesting, plain values, DTensor placements) becomes a small
*skeleton* in which each tensor is a :class:`Slot` (offset, dtype, shape). The persist process
maps the same file and rebuilds the state dict from the skeleton without copying
(:func:`rebuild`). This is DLRover's flash-checkpoint pattern: the training process only pays
a memory copy; serialising, writing and fsyncing happen in a process of their own (on a GPU the
host side would be pinned; here it is CPU memory either way).
"""

from __future__ import annotations

import contextlib
import copy
import mmap
import os
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.distributed.tensor import DTensor

SHM_DIR = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path("/tmp")
ALIGN = 64


@dataclass(frozen=True)
class Slot:
    """Where one tensor lives in the staging file. ``dtensor``: (placements, global shape,
    stride) when the tensor is the local shard of a DTensor, else None."""

    offset: int
    nbytes: int
    dtype: torch.dtype
    shape: tuple[int, ...]
    dtensor: tuple[Any, tuple[int, ...], tuple[int, ...]] | None = None


def _tensors(value: Any, key: str = ""):
    """(key, tensor) for every tensor in a nested state dict, DTensors as their local shard."""
    if isinstance(value, DTensor):
        yield key, value.to_local()
    elif isinstance(value, torch.Tensor):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _tensors(v, f"{key}/{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _tensors(v, f"{key}/{i}")


class ShmStager:
    """Copies a nested state dict into one shared-memory file; ``stage(state) -> skeleton``.

    The file is (re)allocated when the set of tensor shapes changes (a new generation, so a
    persist process still reading the old one is not disturbed), else reused.
    """

    def __init__(self, token: str, rank: int, directory: Path | None = None) -> None:
        self.dir = directory or SHM_DIR
        self.token, self.rank = token, rank
        self.path: Path | None = None
        self.size = 0
        self.bytes = 0
        self._gen = 0
        self._layout: dict[str, Slot] = {}
        self._signature: tuple | None = None
        self._mm: mmap.mmap | None = None
        self._flat: torch.Tensor | None = None

    def _allocate(self, state: dict[str, Any]) -> None:
        offset, layout = 0, {}
        for key, t in _tensors(state):
            nbytes = t.numel() * t.element_size()
            layout[key] = Slot(offset, nbytes, t.dtype, tuple(t.shape))
            offset += (nbytes + ALIGN - 1) // ALIGN * ALIGN
        self.close()
        self._gen += 1
        self.path = self.dir / f"suanwang.{self.token}.r{self.rank}.{self._gen}"
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd, max(offset, 1))
            self._mm = mmap.mmap(fd, max(offset, 1))
        finally:
            os.close(fd)
        self._flat = torch.frombuffer(self._mm, dtype=torch.uint8)
        self._flat.zero_()  # touch every page now, not inside the first save's stall
        self.size, self._layout = offset, layout
        # shared memory is RAM: unlinked when this stager goes away or the interpreter exits
        # (a SIGKILLed trainer's files are swept by its supervisor, by token)
        weakref.finalize(self, _unlink, str(self.path))

    def _view(self, slot: Slot) -> torch.Tensor:
        raw = self._flat[slot.offset: slot.offset + slot.nbytes]
        return raw.view(slot.dtype).view(slot.shape)

    def stage(self, state: dict[str, Any]) -> dict[str, Any]:
        """Copy every tensor of ``state`` into shared memory; the skeleton that describes it."""
        signature = tuple((k, t.dtype, tuple(t.shape)) for k, t in _tensors(state))
        if signature != self._signature:
            self._allocate(state)
            self._signature = signature
        self.bytes = 0
        skeleton = self._skeleton(state, "")
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return skeleton

    def _skeleton(self, value: Any, key: str) -> Any:
        if isinstance(value, DTensor):
            local = value.to_local()
            slot = self._layout[key]
            self._view(slot).copy_(local)
            self.bytes += slot.nbytes
            return Slot(slot.offset, slot.nbytes, slot.dtype, slot.shape,
                        (list(value.placements), tuple(value.shape), tuple(value.stride())))
        if isinstance(value, torch.Tensor):
            slot = self._layout[key]
            self._view(slot).copy_(value)
            self.bytes += slot.nbytes
            return slot
        if isinstance(value, dict):
            return {k: self._skeleton(v, f"{key}/{k}") for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._skeleton(v, f"{key}/{i}") for i, v in enumerate(value))
        return copy.deepcopy(value)

    def close(self, unlink: bool = True) -> None:
        self._flat = None
        if self._mm is not None:
            with contextlib.suppress(BufferError):  # a view still exported: goes with the process
                self._mm.close()
            self._mm = None
        if unlink and self.path is not None:
            self.path.unlink(missing_ok=True)


def sweep_orphans(directory: Path = SHM_DIR) -> int:
    """Remove staging files whose creator is dead (names start with ``suanwang.<pid>-``: the
    supervisor's or the trainer's pid); a SIGKILLed process cannot clean up after itself."""
    removed = 0
    for f in directory.glob("suanwang.*"):
        head = f.name.split(".")[1].split("-")[0]
        if not head.isdigit():
            continue
        try:
            os.kill(int(head), 0)
        except ProcessLookupError:
            f.unlink(missing_ok=True)
            removed += 1
        except PermissionError:  # alive, another user's
            pass
    return removed


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


class ShmView:
    """The persist side: map a staging file read-write and rebuild state dicts from skeletons."""

    def __init__(self, path: str | Path, size: int) -> None:
        self.path = Path(path)
        fd = os.open(self.path, os.O_RDWR)
        try:
            self._mm = mmap.mmap(fd, max(size, 1))
        finally:
            os.close(fd)
        self.flat = torch.frombuffer(self._mm, dtype=torch.uint8)

    def rebuild(self, skeleton: Any, mesh: Any = None) -> Any:
        """The state dict a skeleton describes; tensors are views of the shared memory."""
        if isinstance(skeleton, Slot):
            t = self.flat[skeleton.offset: skeleton.offset + skeleton.nbytes]
            t = t.view(skeleton.dtype).view(skeleton.shape)
            if skeleton.dtensor is None:
                return t
            placements, shape, stride = skeleton.dtensor
            return DTensor.from_local(t, mesh, placements, run_check=False, shape=shape,
                                      stride=stride)
        if isinstance(skeleton, dict):
            return {k: self.rebuild(v, mesh) for k, v in skeleton.items()}
        if isinstance(skeleton, list | tuple):
            return type(skeleton)(self.rebuild(v, mesh) for v in skeleton)
        return skeleton

    def unlink(self) -> None:
        self.path.unlink(missing_ok=True)
