"""The ``local`` backend: attempts run as detached processes on this machine.

Each attempt has a state directory ``ROOT/attempts/KEY/`` and one keeper process
(``python -m suanwang.backends.local_exec``, in its own session) that runs the work — the runtime
supervisor (``python -m suanwang.runtime run JOB.json ...``) for training, the user's command for
batch — and records pid, start time, output and exit status there (see
:mod:`suanwang.backends.local_exec`).

Never twice: ``submit`` takes an exclusive ``flock`` on ``KEY/lock`` *before* starting the
keeper and hands the locked descriptor to it, and writes ``launched`` before the start. A second
submit of the same key either cannot take the lock (the keeper holds it: already running) or
finds ``launched`` (it ran, or the controller died between the marker and the start: reported
NODE_FAIL 'lost', never re-run). Re-attach: a handle carries the keeper's pid and its start time
in clock ticks; ``poll`` compares them with /proc so a reused pid is not mistaken for the keeper.

Capacity: the center's pools from the federation, minus the devices of attempts this backend
sees alive (submitted by it, or found by a poll after a controller restart).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from suanwang.backends.base import (
    AttemptSpec,
    AttemptState,
    BackendStatus,
    Capability,
    Handle,
    PoolCapacity,
    Usage,
    read_jsonl_from,
    tail_text,
    usage_from,
)
from suanwang.backends.local_exec import proc_start_ticks, write_atomic
from suanwang.core.errors import BackendError
from suanwang.core.federation import Center

START_TIMEOUT_S = 30.0
LOG_TAIL_BYTES = 4096
# The runtime's exit code after a preemption signal with its final checkpoint committed
# (``suanwang.runtime.procs.PREEMPTED_RC``, sysexits EX_TEMPFAIL; launched by module path, so
# the value is restated here rather than imported), and the default of its grace period
# (``run.preempt_grace_s``, docs/runtime.md) when the job document does not set one.
RUNTIME_PREEMPTED_RC = 75
RUNTIME_PREEMPT_GRACE_S = 60.0
# After the grace the supervisor kills late ranks, then waits for the persist processes to
# finish the final hand-off; the keeper's SIGKILL comes this much later still.
PREEMPT_MARGIN_S = 30.0


def stop_grace_s(a: AttemptSpec) -> float:
    """Seconds between the keeper's SIGTERM and its SIGKILL for attempt ``a``: for training
    the runtime's ``run.preempt_grace_s`` (default 60 s) + ``PREEMPT_MARGIN_S``; for batch the
    keeper's default (10 s)."""
    if a.kind != "training" or a.runtime_config is None:
        return 0.0  # the keeper's GRACE_S
    run = dict(a.runtime_config).get("run") or {}
    return float(run.get("preempt_grace_s", RUNTIME_PREEMPT_GRACE_S)) + PREEMPT_MARGIN_S


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


class LocalBackend:
    """Runs attempts of one center as local processes; state under ``root``."""

    kind = "local"

    def __init__(self, center: Center, root: str | Path, *, python: str = sys.executable):
        self.center = center.name
        self._center = center
        self.root = Path(root)
        (self.root / "attempts").mkdir(parents=True, exist_ok=True)
        self.python = python
        self.capabilities: Mapping[Capability, str] = {
            Capability.PREEMPT: "this machine never preempts on its own; the controller's "
                                "preemptions and cancels stop an attempt (SIGTERM, grace)",
            Capability.MEASURED_ENERGY: "no power meter; billing models energy from TDP x PUE",
        }
        self._live: dict[str, tuple[str, int]] = {}  # key -> (accelerator, devices)

    # -- paths ------------------------------------------------------------------------------
    def state_dir(self, key: str) -> Path:
        return self.root / "attempts" / key

    def _argv(self, a: AttemptSpec, state: Path) -> list[str]:
        if a.kind == "batch":
            if isinstance(a.command, str):
                return ["bash", "-c", a.command]
            return list(a.command)
        if a.kind != "training" or a.runtime_config is None:
            raise BackendError(f"attempt {a.key}: kind '{a.kind}' needs a runtime_config")
        job = state / "job.json"
        write_atomic(job, dict(a.runtime_config))
        run_dir = a.run_dir or str(state / "run")
        argv = [self.python, "-m", "suanwang.runtime", "run", str(job), "--run-dir", run_dir,
                "--nproc", str(a.devices), "--quiet"]
        if a.checkpoint_interval_s > 0:
            argv += ["--checkpoint-interval-s", f"{a.checkpoint_interval_s:.3f}"]
        return argv

    def run_dir(self, handle: Handle) -> Path:
        return Path(handle.data["run_dir"])

    # -- protocol ---------------------------------------------------------------------------
    def submit(self, attempt: AttemptSpec) -> Handle:
        """Start the attempt's keeper once per key (see module doc); returns its handle."""
        state = self.state_dir(attempt.key)
        state.mkdir(parents=True, exist_ok=True)
        fd = os.open(state / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # a live keeper holds it: already running
                return self._handle(attempt, state, wait=True)
            if (state / "launched").exists():  # ran before (ended or lost): never again
                return self._handle(attempt, state, wait=False)
            launch = {"argv": self._argv(attempt, state), "env": dict(attempt.env),
                      "fail_after_s": attempt.fail_after_s, "walltime_s": attempt.walltime_s,
                      "grace_s": stop_grace_s(attempt), "cwd": str(state)}
            write_atomic(state / "launch.json", launch)
            write_atomic(state / "launched", {"at": time.time(), "key": attempt.key})
            subprocess.Popen(
                [self.python, "-m", "suanwang.backends.local_exec", str(state), str(fd)],
                pass_fds=(fd,), start_new_session=True, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=open(state / "keeper.log", "ab"))  # noqa: SIM115
        finally:
            os.close(fd)
        return self._handle(attempt, state, wait=True)

    def _handle(self, a: AttemptSpec, state: Path, *, wait: bool) -> Handle:
        deadline = time.monotonic() + (START_TIMEOUT_S if wait else 0.0)
        started = _read_json(state / "started.json")
        while started is None and time.monotonic() < deadline:
            if (state / "exit.json").exists():
                break
            time.sleep(0.02)
            started = _read_json(state / "started.json")
        started = started or {}
        run_dir = a.run_dir or str(state / "run")
        if started and not (state / "exit.json").exists():
            self._live[a.key] = (a.accelerator, a.devices)
        return Handle(backend=self.kind, center=self.center, key=a.key,
                      native_id=str(started.get("pid", 0)),
                      data={"start_ticks": started.get("start_ticks"),
                            "started_at": started.get("started_at"),
                            "child_pid": started.get("child_pid"), "state_dir": str(state),
                            "run_dir": run_dir, "kind": a.kind, "accelerator": a.accelerator,
                            "devices": a.devices, "nodes": a.nodes})

    def _alive(self, handle: Handle) -> bool:
        pid = int(handle.native_id or 0)
        if pid <= 0:
            return False
        ticks = proc_start_ticks(pid)
        return ticks is not None and ticks == handle.data.get("start_ticks")

    def _status(self, handle: Handle) -> BackendStatus:
        state = Path(handle.data["state_dir"])
        started = _read_json(state / "started.json") or {}
        t0 = started.get("started_at", handle.data.get("started_at"))
        ex = _read_json(state / "exit.json")
        if ex is None and int(handle.native_id or 0) > 0 and self._alive(handle):
            return BackendStatus(state=AttemptState.RUNNING, started_at=t0)
        ex = ex or _read_json(state / "exit.json")  # it may have ended since the first look
        if ex is None:
            if not started and int(handle.native_id or 0) == 0:
                launched = _read_json(state / "launched") or {}
                if time.time() - launched.get("at", 0) < START_TIMEOUT_S:
                    return BackendStatus(state=AttemptState.PENDING)
            tail = tail_text(str(state / "output.log"), LOG_TAIL_BYTES)
            return BackendStatus(state=AttemptState.NODE_FAIL, started_at=t0,
                                 ended_at=time.time(), log_tail=tail,
                                 reason="process tree died without an exit record (lost)")
        return self._exit_status(state, ex, t0, kind=handle.data.get("kind", ""))

    @staticmethod
    def _exit_status(state: Path, ex: dict[str, Any], t0: float | None, *, kind: str = ""
                     ) -> BackendStatus:
        """exit.json -> status. A training run that exited 75 took its final checkpoint after
        SIGTERM (a cancel, a preemption or the walltime): PREEMPTED, resumable from there."""
        code, why = ex.get("exit_code"), ex.get("reason", "")
        tail = tail_text(str(state / "output.log"), LOG_TAIL_BYTES)
        kw = {"exit_code": code, "started_at": t0, "ended_at": ex.get("ended_at")}
        if kind == "training" and code == RUNTIME_PREEMPTED_RC and why != "walltime":
            return BackendStatus(state=AttemptState.PREEMPTED, reason="preempted: final "
                                 f"checkpoint committed (runtime exit {code})", **kw)
        if why == "cancelled":
            return BackendStatus(state=AttemptState.CANCELLED, reason="cancelled", **kw)
        if code == 0:
            return BackendStatus(state=AttemptState.SUCCEEDED, **kw)
        if why == "walltime":
            return BackendStatus(state=AttemptState.FAILED, reason="walltime exceeded",
                                 log_tail=tail, **kw)
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            return BackendStatus(state=AttemptState.NODE_FAIL, reason=f"killed by {name}",
                                 log_tail=tail, **kw)
        return BackendStatus(state=AttemptState.FAILED, reason=f"exit code {code}",
                             log_tail=tail, **kw)

    def poll(self, handles: Sequence[Handle]) -> dict[str, BackendStatus]:
        """One scan of /proc and the state dirs for all handles (re-attaches after restarts)."""
        out = {}
        for h in handles:
            st = self._status(h)
            out[h.key] = st
            if st.state.terminal:
                self._live.pop(h.key, None)
            else:
                self._live[h.key] = (h.data.get("accelerator", ""), int(h.data.get("devices", 0)))
        return out

    def cancel(self, handle: Handle) -> None:
        """SIGTERM the keeper (it stops the child, SIGKILL after a grace period). A handle
        without a pid (the controller died before recording it) is resolved by its key."""
        if int(handle.native_id or 0) <= 0:
            started = _read_json(self.state_dir(handle.key) / "started.json")
            if started is None:
                return
            handle = Handle(backend=self.kind, center=self.center, key=handle.key,
                            native_id=str(started["pid"]),
                            data={"start_ticks": started.get("start_ticks")})
        if self._alive(handle):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(handle.native_id), signal.SIGTERM)

    def logs(self, handle: Handle, tail_bytes: int = 65536) -> str:
        return tail_text(str(Path(handle.data["state_dir"]) / "output.log"), tail_bytes)

    def usage(self, handle: Handle) -> Usage:
        state = Path(handle.data["state_dir"])
        started = _read_json(state / "started.json") or {}
        ex = _read_json(state / "exit.json")
        st = self._status(handle)
        ended = ex["ended_at"] if ex else (st.ended_at if st.state.terminal else None)
        return usage_from(accelerator=handle.data.get("accelerator", ""),
                          devices=int(handle.data.get("devices", 0)),
                          nodes=int(handle.data.get("nodes", 1)),
                          started_at=started.get("started_at"), ended_at=ended, now=time.time(),
                          cpu_seconds=ex.get("cpu_s") if ex else None)

    def events(self, handle: Handle, cursor: int) -> tuple[list[dict[str, Any]], int]:
        if handle.data.get("kind") != "training":
            return [], cursor
        recs, cur = read_jsonl_from(str(self.run_dir(handle) / "events.jsonl"), cursor)
        # The shared run dir may still hold the previous attempt's log until the supervisor
        # rotates it: skip records older than this attempt's keeper.
        t0 = (handle.data.get("started_at") or 0.0) - 1.0
        return [r for r in recs if r.get("t", 0.0) >= t0], cur

    def capacity(self) -> list[PoolCapacity]:
        used: dict[str, int] = {}
        for acc, n in self._live.values():
            used[acc] = used.get(acc, 0) + n
        return [PoolCapacity(center=self.center, accelerator=p.accelerator.name,
                             total_devices=p.devices,
                             free_devices=max(0, p.devices - used.get(p.accelerator.name, 0)),
                             devices_per_node=p.devices_per_node, total_nodes=p.nodes,
                             free_nodes=max(0, p.nodes - -(-used.get(p.accelerator.name, 0)
                                                           // p.devices_per_node)))
                for p in self._center.pools]
