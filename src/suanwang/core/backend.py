"""The execution-backend protocol: what the controller asks of a center, and the values it gets.

A backend runs *attempts* (one dispatch of one job to one center) on one center. The controller
calls, per tick and per center, at most one :meth:`Backend.poll` with every live handle of that
center (one ``squeue`` / one process scan, never one call per job), and otherwise
:meth:`Backend.submit`, :meth:`Backend.cancel`, :meth:`Backend.logs`, :meth:`Backend.usage`,
:meth:`Backend.events` and :meth:`Backend.capacity`.

Contract (every backend, tested in tests/unit/backends):

* ``submit(attempt)`` is idempotent on ``attempt.key``: a second submit of the same key returns
  the handle of the first and never starts the work again (local: the attempt's state directory
  is created atomically; Slurm: the key is the job name/comment, looked up before ``sbatch``).
  A controller that crashed between "decision persisted" and "handle recorded" just submits
  again.
* Handles are plain JSON-able dataclasses (:meth:`Handle.to_json` / :meth:`Handle.from_json`);
  the controller stores them in the attempts table and a restarted controller re-attaches by
  polling them.
* Work is launched by module path or command (``python -m suanwang.runtime run ...`` for
  training, the user's command for batch), never by importing runtime code.
* What a backend cannot do is data: ``capabilities`` maps each :class:`Capability` it lacks to
  the reason (SkyPilot's ``{feature: reason}``); :func:`require` raises
  :class:`~suanwang.core.errors.UnsupportedError` with that reason.

Times are unix seconds (``time.time()``) except in the sim backend, which reports its virtual
clock's seconds mapped onto wall time (see :mod:`suanwang.sim.backend`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from suanwang.core.errors import UnsupportedError


class AttemptState(StrEnum):
    """Where one attempt stands on its center.

    PENDING: accepted, not started (queued in Slurm, process not yet up). RUNNING: started.
    SUCCEEDED: exit code 0. FAILED: non-zero exit (``exit_code``, ``log_tail``) — the job's own
    fault or a runtime that gave up. CANCELLED: stopped because we asked. PREEMPTED: stopped by
    the center (Slurm preemption / requeue); resumable from the latest checkpoint. NODE_FAIL:
    the node or the process tree died under it (SIGKILL, node down, lost state); retryable.
    """

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    PREEMPTED = "PREEMPTED"
    NODE_FAIL = "NODE_FAIL"

    @property
    def terminal(self) -> bool:
        return self not in (AttemptState.PENDING, AttemptState.RUNNING)

    @property
    def retryable(self) -> bool:
        """Failures the controller may retry (from the latest checkpoint)."""
        return self in (AttemptState.FAILED, AttemptState.NODE_FAIL, AttemptState.PREEMPTED)


class Capability(StrEnum):
    """Things a backend may or may not do; a backend lists the ones it lacks, with a reason."""

    TRAINING = "training"  # run `python -m suanwang.runtime run` supervisors
    BATCH = "batch"  # run a user command
    CANCEL = "cancel"
    LOGS = "logs"
    EVENTS = "events"  # live runtime events (steps, loss, checkpoints) readable by the controller
    REATTACH = "reattach"  # a restarted controller finds running attempts again
    PREEMPT = "preempt"  # the center may preempt/requeue attempts itself
    MEASURED_ENERGY = "measured_energy"  # usage() reports metered energy (else billing models it)
    REAL_EXECUTION = "real_execution"  # work really runs (False for the simulated center)


def require(backend: Backend, cap: Capability) -> None:
    """Raise UnsupportedError naming the backend, the capability and the declared reason."""
    reason = backend.capabilities.get(cap)
    if reason is not None:
        raise UnsupportedError(f"backend '{backend.kind}' of center '{backend.center}' cannot "
                               f"do '{cap.value}': {reason}")


@dataclass(frozen=True, kw_only=True)
class AttemptSpec:
    """One attempt as handed to ``submit``.

    ``key`` is the idempotency key, unique across the federation and stable across controller
    restarts (``"sw-j{job_id}-a{n}-{run_id}"``, :func:`attempt_key`). ``kind`` is ``training`` or
    ``batch``. ``accelerator`` names the pool; ``devices`` the gang size; ``nodes`` the node
    count. Training: ``runtime_config`` is the runtime's job document (the dict
    ``python -m suanwang.runtime run`` reads; run_dir is set by the backend). Batch:
    ``command`` is a shell command line (a str, run with ``bash -c``) or an argv (a tuple of
    str, run as is).
    ``run_dir`` is the job-level directory shared by all attempts of the job on a shared file
    system (checkpoints live there, so a retry resumes from the latest one). ``walltime_s``
    (0 = none) bounds the attempt. ``predicted_run_s`` is the policy's prediction of wall seconds
    on this pool (``ClusterState.run_s``, remaining work only); ``progress`` the fraction of
    the job's work already checkpointed (0..1) — the sim backend runs on these; real backends
    ignore them. ``checkpoint_interval_s`` is the planner's failure-aware interval (wall seconds
    between checkpoints): real backends pass it to the runtime (``--checkpoint-interval-s``),
    the sim backend advances checkpointed progress by it. ``env``
    adds environment variables. ``fail_after_s`` (> 0) injects one failure: the attempt's
    process tree is SIGKILLed that many seconds after start (demo/tests). ``reservation``
    (Slurm): the lease's reservation the attempt runs in (``sbatch --reservation``).
    """

    key: str
    job_id: int
    n: int
    kind: str
    center: str
    accelerator: str
    devices: int
    nodes: int = 1
    tenant: str = ""
    name: str = ""
    runtime_config: Mapping[str, Any] | None = None
    command: str | tuple[str, ...] = ""
    run_dir: str = ""
    walltime_s: float = 0.0
    predicted_run_s: float = 0.0
    progress: float = 0.0
    restarts: int = 0
    checkpoint_interval_s: float = 0.0
    env: Mapping[str, str] = field(default_factory=dict)
    fail_after_s: float = 0.0
    reservation: str = ""


def attempt_key(job_id: int, n: int, run_id: str = "") -> str:
    """The idempotency key of attempt ``n`` of job ``job_id`` (also the Slurm job name):
    ``sw-j{job_id}-a{n}[-{run_id}]``. ``run_id`` is a random id the controller gives the job
    when it admits it (stored with the job), so keys stay unique across stores that reuse job
    ids with the same data directory, and stable across controller restarts."""
    return f"sw-j{job_id}-a{n}-{run_id}" if run_id else f"sw-j{job_id}-a{n}"


@dataclass(frozen=True, kw_only=True)
class Handle:
    """Where an attempt runs, enough to find it again after a controller restart.

    ``native_id``: the backend's id (local: pid; Slurm: job id; sim: the key). ``data``: the
    rest, backend-specific but JSON-able (local: process start time, state dir).
    """

    backend: str
    center: str
    key: str
    native_id: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"backend": self.backend, "center": self.center, "key": self.key,
                "native_id": self.native_id, "data": dict(self.data)}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any] | str) -> Handle:
        d = json.loads(doc) if isinstance(doc, str) else doc
        return cls(backend=d["backend"], center=d["center"], key=d["key"],
                   native_id=str(d["native_id"]), data=dict(d.get("data") or {}))


@dataclass(frozen=True, kw_only=True)
class BackendStatus:
    """One attempt's state as seen by one poll.

    ``started_at``/``ended_at`` unix seconds (None until known); ``exit_code`` for terminal
    states when known; ``reason`` a short human-readable cause; ``log_tail`` the last lines of
    the attempt's output for FAILED/NODE_FAIL (bounded, a few KB).
    """

    state: AttemptState
    exit_code: int | None = None
    reason: str = ""
    log_tail: str = ""
    started_at: float | None = None
    ended_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["state"] = self.state.value
        return d


@dataclass(frozen=True, kw_only=True)
class Usage:
    """What one attempt consumed, as measured by the backend.

    ``wall_s`` = ended (or now) - started; ``device_seconds`` = devices x wall_s;
    ``node_seconds`` = nodes x wall_s; ``cpu_seconds`` measured CPU time where the backend
    sees it (None otherwise); ``energy_kwh`` metered energy where the backend has it (Slurm's
    ConsumedEnergy), None = billing models it (device power x utilisation x PUE,
    docs/billing.md). ``final`` is True once the attempt is terminal (the numbers won't change).
    """

    accelerator: str
    devices: int
    nodes: int
    wall_s: float
    device_seconds: float
    node_seconds: float
    started_at: float | None = None
    ended_at: float | None = None
    cpu_seconds: float | None = None
    energy_kwh: float | None = None
    final: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class PoolCapacity:
    """Live capacity of one pool (one accelerator type) of a center, whole devices."""

    center: str
    accelerator: str
    total_devices: int
    free_devices: int
    devices_per_node: int = 1
    total_nodes: int = 0
    free_nodes: int = 0


@runtime_checkable
class Backend(Protocol):
    """One center's execution backend. ``kind``: "local" | "slurm" | "sim"; ``center``: the
    center's name; ``capabilities``: {Capability: reason} for what it CANNOT do."""

    kind: str
    center: str
    capabilities: Mapping[Capability, str]

    def submit(self, attempt: AttemptSpec) -> Handle:
        """Start the attempt (idempotent on ``attempt.key``). Raises BackendError when the
        center refuses it (the controller records the reason and retries later)."""
        ...

    def poll(self, handles: Sequence[Handle]) -> dict[str, BackendStatus]:
        """States of all given attempts, keyed by ``Handle.key``, in ONE backend call. A handle
        the backend cannot find any more is reported NODE_FAIL with reason 'lost'."""
        ...

    def cancel(self, handle: Handle) -> None:
        """Stop the attempt (idempotent; a finished attempt is left alone). A handle with an
        empty ``native_id`` stops whatever was started under ``handle.key``, if anything (the
        controller may have died between submit and recording the handle)."""
        ...

    def logs(self, handle: Handle, tail_bytes: int = 65536) -> str:
        """The last ``tail_bytes`` bytes of the attempt's combined output (text)."""
        ...

    def usage(self, handle: Handle) -> Usage:
        """Resources consumed so far (``final`` once terminal)."""
        ...

    def events(self, handle: Handle, cursor: int) -> tuple[list[dict[str, Any]], int]:
        """Runtime events (the JSONL records of ``suanwang.runtime.metrics``) after byte offset
        ``cursor`` of this attempt's event log, and the new cursor. Only complete lines."""
        ...

    def capacity(self) -> list[PoolCapacity]:
        """Live free/total devices per pool of this center (one call)."""
        ...


def read_jsonl_from(path: str, cursor: int, *, max_bytes: int = 4 << 20
                    ) -> tuple[list[dict[str, Any]], int]:
    """Complete JSON lines of ``path`` after byte ``cursor`` (at most ``max_bytes`` read), and
    the offset just after the last complete line. A missing file gives ``([], cursor)``; a
    file shorter than ``cursor`` (rotated) is read from 0. Torn or bad lines are skipped."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            if size < cursor:
                cursor = 0
            fh.seek(cursor)
            chunk = fh.read(max_bytes)
    except FileNotFoundError:
        return [], cursor
    end = chunk.rfind(b"\n")
    if end < 0:
        return [], cursor
    out = []
    for line in chunk[:end].split(b"\n"):
        try:
            rec = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out, cursor + end + 1


def tail_text(path: str, tail_bytes: int) -> str:
    """The last ``tail_bytes`` bytes of a file as text ('' when missing)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - tail_bytes))
            return fh.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def usage_from(*, accelerator: str, devices: int, nodes: int, started_at: float | None,
               ended_at: float | None, now: float, **extra: Any) -> Usage:
    """A :class:`Usage` from start/end times: wall = (end or now) - start (0 if not started)."""
    wall = max(0.0, (ended_at if ended_at is not None else now) - started_at) \
        if started_at is not None else 0.0
    return Usage(accelerator=accelerator, devices=devices, nodes=nodes, wall_s=wall,
                 device_seconds=devices * wall, node_seconds=nodes * wall,
                 started_at=started_at, ended_at=ended_at, final=ended_at is not None, **extra)
