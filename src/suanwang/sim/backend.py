"""The ``sim`` backend: a center whose attempts advance on a virtual clock, ``speedup`` x wall time.

An attempt of predicted remaining run ``R`` seconds (``AttemptSpec.predicted_run_s``, the
policy's ``ClusterState.run_s`` on this pool) ends ``R / speedup`` wall seconds after submit.
Failures come from the simulator's own failure model (:class:`suanwang.sim.failures.FailureModel`:
the reliability model's job failure rate for the pool's accelerator, gang size and the center's
multiplier) drawn from a generator seeded by the attempt key, so a re-submit after a controller
crash reproduces the same outcome; ``fail_after_s`` injects a failure at that wall time. The
pools (names, speeds, per-node sizes) are the simulator's (:func:`suanwang.sim.cluster.
from_federation`). A failed attempt keeps the work up to its last checkpoint, as in the
simulator (:func:`suanwang.sched.state.checkpointed_s`): checkpoints fall every
``checkpoint_interval_s`` seconds of virtual compute. A cancelled (or preempted) training
attempt ends PREEMPTED with a final checkpoint where it stopped, as the runtime does on SIGTERM
(exit 75; :func:`suanwang.sched.state.preempted_s`); a batch attempt ends CANCELLED and keeps
its periodic checkpoints only.

Everything needed to answer ``poll`` is in the handle (start, end, outcome), so a restarted
controller re-attaches by polling. ``events`` speaks the runtime's vocabulary (``start``,
``ckpt_persisted`` with ``progress`` = fraction of the job's work saved, ``end``) on the virtual
clock, so the controller ingests simulated and real progress the same way.

Usage is reported in *virtual* seconds (what the attempt would have used on the real center);
``started_at``/``ended_at`` are wall times.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from suanwang.core.backend import (
    AttemptSpec,
    AttemptState,
    BackendStatus,
    Capability,
    Handle,
    PoolCapacity,
    Usage,
)
from suanwang.core.errors import BackendError
from suanwang.core.federation import Center, Federation
from suanwang.sim.cluster import from_federation
from suanwang.sim.failures import FailureModel

MAX_EVENTS_PER_CALL = 1000


def _seed(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")


class SimBackend:
    """A simulated center. ``speedup``: virtual seconds per wall second; ``failures``: draw
    failures from the reliability model; ``clock``: wall clock (injected in tests)."""

    kind = "sim"

    def __init__(self, center: Center, *, speedup: float = 60.0, failures: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        if speedup <= 0:
            raise BackendError(f"sim speedup must be > 0 (got {speedup})")
        self.center = center.name
        self.speedup = speedup
        self.clock = clock
        self.cluster = from_federation(Federation(name=center.name, currency="",
                                                  centers=(center,)))
        self._pool_of = {p.accelerator: i for i, p in enumerate(self.cluster.pools)}
        self._failures = FailureModel(self.cluster) if failures else None
        self.capabilities: Mapping[Capability, str] = {
            Capability.REAL_EXECUTION: f"simulated center: jobs advance on a virtual clock "
                                       f"{speedup:g}x faster than wall time; nothing runs",
            Capability.LOGS: "simulated center: no program output exists",
            Capability.MEASURED_ENERGY: "simulated center: energy is modelled by billing",
        }
        self._handles: dict[str, Handle] = {}
        self._live: dict[str, tuple[str, int]] = {}
        self._cancelled: dict[str, float] = {}

    def submit(self, attempt: AttemptSpec) -> Handle:
        """Start the attempt's virtual run (idempotent on the key within this process; after a
        restart the same key draws the same failure time)."""
        old = self._handles.get(attempt.key)
        if old is not None:
            return old
        if attempt.accelerator not in self._pool_of:
            raise BackendError(f"center '{self.center}' has no '{attempt.accelerator}' pool")
        pool = self._pool_of[attempt.accelerator]
        if attempt.predicted_run_s <= 0:
            raise BackendError(f"attempt {attempt.key}: the sim center needs predicted_run_s")
        now = self.clock()
        run_v = attempt.predicted_run_s
        fail_v = math.inf
        if self._failures is not None and attempt.devices:
            rate = self._failures.rate_per_s(pool, attempt.devices)
            fail_v = float(np.random.default_rng(_seed(attempt.key)).exponential(1.0 / rate))
        if attempt.fail_after_s > 0:
            fail_v = min(fail_v, attempt.fail_after_s * self.speedup)
        fails = fail_v < run_v
        h = Handle(backend=self.kind, center=self.center, key=attempt.key,
                   native_id=attempt.key,
                   data={"start": now, "end": now + min(run_v, fail_v) / self.speedup,
                         "outcome": "NODE_FAIL" if fails else "SUCCEEDED",
                         "run_v": run_v, "speedup": self.speedup, "kind": attempt.kind,
                         "accelerator": attempt.accelerator, "devices": attempt.devices,
                         "nodes": attempt.nodes, "progress": attempt.progress,
                         "ckpt_v": attempt.checkpoint_interval_s})
        self._handles[attempt.key] = h
        self._live[attempt.key] = (attempt.accelerator, attempt.devices)
        return h

    def _status(self, h: Handle, now: float) -> BackendStatus:
        d = h.data
        start, end = d["start"], d["end"]
        cancelled = self._cancelled.get(h.key)
        if cancelled is not None and cancelled < end:
            if d["kind"] == "training":  # the runtime's final checkpoint on SIGTERM, exit 75
                return BackendStatus(state=AttemptState.PREEMPTED, exit_code=75,
                                     reason="preempted: final checkpoint committed",
                                     started_at=start, ended_at=cancelled)
            return BackendStatus(state=AttemptState.CANCELLED, reason="cancelled",
                                 started_at=start, ended_at=cancelled)
        if now < end:
            return BackendStatus(state=AttemptState.RUNNING, started_at=start)
        if d["outcome"] == "SUCCEEDED":
            return BackendStatus(state=AttemptState.SUCCEEDED, exit_code=0, started_at=start,
                                 ended_at=end)
        return BackendStatus(state=AttemptState.NODE_FAIL, started_at=start, ended_at=end,
                             reason="simulated node failure (reliability model)")

    def poll(self, handles: Sequence[Handle]) -> dict[str, BackendStatus]:
        now = self.clock()
        out = {}
        for h in handles:
            st = self._status(h, now)
            out[h.key] = st
            if st.state.terminal:
                self._live.pop(h.key, None)
                self._handles.pop(h.key, None)
            else:
                self._live[h.key] = (h.data["accelerator"], int(h.data["devices"]))
                self._handles.setdefault(h.key, h)
        return out

    def cancel(self, handle: Handle) -> None:
        self._cancelled.setdefault(handle.key, self.clock())

    def logs(self, handle: Handle, tail_bytes: int = 65536) -> str:
        st = self._status(handle, self.clock())
        return f"[simulated center {self.center}: no program output; attempt {st.state.value}]\n"

    def _ended_at(self, h: Handle, now: float) -> float | None:
        st = self._status(h, now)
        return st.ended_at if st.state.terminal else None

    def usage(self, handle: Handle) -> Usage:
        now = self.clock()
        d = handle.data
        ended = self._ended_at(handle, now)
        wall = max(0.0, (ended if ended is not None else now) - d["start"])
        virt = wall * d["speedup"]
        n, nodes = int(d["devices"]), int(d["nodes"])
        return Usage(accelerator=d["accelerator"], devices=n, nodes=nodes, wall_s=virt,
                     device_seconds=n * virt, node_seconds=nodes * virt, started_at=d["start"],
                     ended_at=ended, final=ended is not None)

    def events(self, handle: Handle, cursor: int) -> tuple[list[dict[str, Any]], int]:
        """Runtime-style events up to now; ``cursor`` counts events already returned
        (0: none; 1: start; 1+k: k checkpoints; then end)."""
        now = self.clock()
        d = handle.data
        start, sp, run_v, c = d["start"], d["speedup"], d["run_v"], d["ckpt_v"]
        ended = self._ended_at(handle, now)
        elapsed_v = ((ended if ended is not None else now) - start) * sp
        n_ckpt = int(min(elapsed_v, run_v) // c) if c > 0 else 0
        stopped = self._cancelled.get(handle.key)
        final_v = None  # a final checkpoint off the periodic grid
        if ended is not None and stopped is None and d["outcome"] == "SUCCEEDED":
            n_ckpt = max(n_ckpt, 1)  # the final state counts as saved
        elif (ended is not None and stopped is not None and stopped < d["end"]
              and d["kind"] == "training" and elapsed_v > (n_ckpt * c if c > 0 else 0.0)):
            # preempted (the cancel came before the run's end or failure: PREEMPTED in poll)
            final_v = elapsed_v  # preempted: the runtime saves where it stopped
            n_ckpt += 1
        out: list[dict[str, Any]] = []
        i = cursor
        p0 = float(d["progress"])
        while len(out) < MAX_EVENTS_PER_CALL:
            if i == 0:
                out.append({"t": start, "event": "start", "attempt": 0, "source": "sim"})
            elif i <= n_ckpt:
                v = min(i * c, run_v) if c > 0 else run_v
                if final_v is not None and i == n_ckpt:
                    v = min(final_v, run_v)
                out.append({"t": start + v / sp, "event": "ckpt_persisted", "attempt": 0,
                            "source": "sim", "progress": p0 + (1 - p0) * v / run_v})
            elif i == n_ckpt + 1 and ended is not None:
                out.append({"t": ended, "event": "end", "attempt": 0, "source": "sim",
                            "ok": d["outcome"] == "SUCCEEDED"})
            else:
                break
            i += 1
        return out, i

    def capacity(self) -> list[PoolCapacity]:
        used: dict[str, int] = {}
        for acc, n in self._live.values():
            used[acc] = used.get(acc, 0) + n
        out = []
        for p in self.cluster.pools:
            u = used.get(p.accelerator, 0)
            nodes = -(-p.devices // p.devices_per_node)
            out.append(PoolCapacity(center=self.center, accelerator=p.accelerator,
                                    total_devices=p.devices, free_devices=max(0, p.devices - u),
                                    devices_per_node=p.devices_per_node, total_nodes=nodes,
                                    free_nodes=max(0, nodes - -(-u // p.devices_per_node))))
        return out
