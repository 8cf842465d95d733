"""The supervisor: launch the ranks and their persist processes, watch them, restart, preempt.

Its own launcher rather than torchrun: the supervisor hosts one TCPStore for the whole run and
each attempt rendezvouses under its own ``PrefixStore`` (torchrun 2.13 with gloo reuses stale
addresses on restart and can hang). Ranks and their persist processes (``persist.py``) are
forked from a warm fork server (``zygote.py``) that imported torch once, so a restart costs a
fork, process-group set-up, checkpoint load and one step (``run.fork_server: false`` starts each
process cold).

Failure detection, polled every 50 ms: a rank exits non-zero or is killed; a rank's heartbeat
file (rewritten after every step, and twice a second while it waits on checkpoint I/O) goes
stale for ``heartbeat_timeout_s`` (``startup_timeout_s`` while it initialises). A hung rank first
gets SIGUSR2 (its ``faulthandler`` dumps every thread's stack into its log). Then every rank of
the attempt gets SIGKILL, the persist processes finish what they were handed (up to
``checkpoint.persist_timeout_s``), and the next attempt resumes from the newest intact checkpoint,
up to ``max_restarts`` restarts *in a row without progress* (reset by every new commit). A rank
exiting 2 refused the job (``ConfigError``): reported, never restarted. Ranks exiting 3 hit
non-finite numerics: the next attempt rolls back (``rollback``), up to ``train.max_rollbacks``.

Preemption: SIGTERM, SIGUSR1 or SIGINT to the supervisor is forwarded to the ranks as SIGTERM;
a rank signalled directly tells its peers through the step's all-gather. The ranks commit one
final checkpoint and exit 75; the run ends ``PREEMPTED`` (exit 75), the ranks killed if they
overrun ``run.preempt_grace_s``. The run summary is derived from the event log only.

One supervisor per run directory: it holds an exclusive ``flock`` on ``RUN_DIR/supervisor.lock``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from suanwang.core.errors import ConfigError
from suanwang.runtime.config import TrainConfig
from suanwang.runtime.faults import KillSchedule, crash_in_ckpt_step
from suanwang.runtime.metrics import EventLog, previous_step, read_events, summarize
from suanwang.runtime.procs import (
    CONFIG_ERROR_RC,
    FAILED_RC,
    NONFINITE_RC,
    OK_RC,
    PARENT_PID_ENV,
    PREEMPT_SIGNALS,
    PREEMPTED_RC,
    STACK_DUMP_SIGNAL,
)
from suanwang.runtime.zygote import ForkServer

POLL_S = 0.05
STACK_DUMP_WAIT_S = 1.0  # SIGUSR2 -> faulthandler dump -> SIGKILL
SHM_DIR = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path("/tmp")
STATE_RC = {"SUCCEEDED": OK_RC, "FAILED": FAILED_RC, "CONFIG_ERROR": CONFIG_ERROR_RC,
            "PREEMPTED": PREEMPTED_RC}


def newest_committed_step(root: Path) -> int:
    """Step of the newest checkpoint with a commit marker under ``root``; -1 if none."""
    steps = [int(d.name.split("_")[1]) for d in root.glob("step_*") if (d / "COMMITTED.json")
             .is_file()] if root.is_dir() else []
    return max(steps, default=-1)


@contextlib.contextmanager
def run_dir_lock(run_dir: Path):
    """Exclusive lock on the run directory; a second supervisor gets a ConfigError."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "supervisor.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            raise ConfigError(f"another supervisor (pid {holder}) is running in this run "
                              "directory; wait for it to finish or pass another --run-dir",
                              entry="run", field="run_dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


class _Rank:
    """One rank's process: forked by the zygote (``server`` set) or a cold ``Popen``."""

    def __init__(self, pid: int, log: Path, *, server: ForkServer | None = None,
                 popen: subprocess.Popen | None = None) -> None:
        self.pid, self.log, self.server, self.popen = pid, log, server, popen

    def poll(self) -> int | None:
        return self.server.poll(self.pid) if self.server else self.popen.poll()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def wait(self) -> None:
        if self.server:
            self.server.wait(self.pid)
        else:
            self.popen.wait()


class Supervisor:
    def __init__(self, cfg: TrainConfig, *, python: str = sys.executable, quiet: bool = False):
        self.cfg = cfg
        self.python = python
        self.quiet = quiet
        self.run_dir = Path(cfg.run.run_dir)
        self.world = cfg.run.nproc
        self._serial = 0
        self._server: ForkServer | None = None
        self._preempt: tuple[str, float] | None = None  # (signal name, when)
        self.token = f"{os.getpid()}-{int(time.time() * 1000)}"
        threads = str(cfg.run.threads_per_rank)
        self._env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
                     "PYTHONUNBUFFERED": "1", PARENT_PID_ENV: str(os.getpid())}
        # libgomp's default spin-waiting at every parallel-region barrier made steps 20-50x
        # slower (0.12 s -> 3-6 s) with threads_per_rank 2 while another process held a core;
        # sleeping waiters cost ~nothing on a dedicated node. The caller's setting wins.
        self._env.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    # -- processes -----------------------------------------------------------------------------
    def _start(self, go: dict[str, Any], name: str) -> _Rank:
        self._serial += 1
        log = self.run_dir / "logs" / f"w{self._serial:03d}.a{go['attempt']}.{name}.log"
        if self._server is not None:
            pid = self._server.fork(go, log, timeout_s=self.cfg.run.startup_timeout_s)
            return _Rank(pid, log, server=self._server)
        with open(log, "wb") as f:
            p = subprocess.Popen([self.python, "-m", "suanwang.runtime", "worker"],
                                 stdin=subprocess.PIPE, stdout=f, stderr=subprocess.STDOUT,
                                 env=self._env, start_new_session=True)
        p.stdin.write((json.dumps(go) + "\n").encode())
        p.stdin.close()
        return _Rank(p.pid, log, popen=p)

    def _launch(self, attempt: int, store_port: int, cfg_path: Path, deadline: float
                ) -> tuple[list[_Rank], list[_Rank]]:
        """Start the persist processes, then the ranks, of one attempt."""
        persisters, ranks = [], []
        for rank in range(self.world):
            addr = f"\0suanwang.{self.token}.a{attempt}.r{rank}"
            spec = {"root": str(self.cfg.ckpt_dir), "addr": addr, "rank": rank,
                    "world": self.world, "attempt": attempt, "keep": self.cfg.checkpoint.keep,
                    "events_path": str(self.run_dir / "events.jsonl"), "store_port": store_port,
                    "timeout_s": max(self.cfg.run.startup_timeout_s,
                                     self.cfg.checkpoint.persist_timeout_s),
                    "slow_s": self.cfg.faults.slow_persist_s,
                    "crash_at_step": crash_in_ckpt_step(self.cfg.faults, rank=rank,
                                                        attempt=attempt)}
            persisters.append(self._start({"attempt": attempt, "persist": spec},
                                          f"p{rank}"))
            # one supervisor per node launches all of that node's ranks: local = global rank
            ranks.append(self._start({"config": str(cfg_path), "rank": rank,
                                      "world": self.world, "local_rank": rank,
                                      "attempt": attempt, "store_port": store_port,
                                      "deadline_s": deadline, "persist_addr": addr,
                                      "token": f"{self.token}.a{attempt}"}, f"r{rank}"))
        return ranks, persisters

    def _drain(self, persisters: list[_Rank], events: EventLog) -> None:
        """Let the persist processes finish the saves they hold (their trainers are gone)."""
        deadline = time.time() + self.cfg.checkpoint.persist_timeout_s
        while time.time() < deadline and any(p.poll() is None for p in persisters):
            time.sleep(POLL_S)
        late = [p.pid for p in persisters if p.poll() is None]
        if late:
            events.emit("persist_timeout", pids=late,
                        timeout_s=self.cfg.checkpoint.persist_timeout_s)
        self._kill(persisters)

    @staticmethod
    def _kill(procs: list[_Rank]) -> None:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()

    def _say(self, msg: str) -> None:
        if not self.quiet:
            print(f"[supervisor] {msg}", file=sys.stderr, flush=True)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if self._preempt is None:
            self._preempt = (signal.Signals(signum).name, time.time())

    # -- the run -------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Supervise the job to its end; the run summary. ConfigError if the dir is in use."""
        with run_dir_lock(self.run_dir):
            old = {sig: signal.signal(sig, self._on_signal) for sig in PREEMPT_SIGNALS} \
                if threading.current_thread() is threading.main_thread() else {}
            try:
                return self._run()
            finally:
                for sig, handler in old.items():
                    signal.signal(sig, handler)
                for f in SHM_DIR.glob(f"suanwang.{self.token}.*"):
                    f.unlink(missing_ok=True)

    def _run(self) -> dict[str, Any]:
        import torch.distributed as dist  # the store outlives attempts; ranks connect as clients

        from suanwang.runtime.staging import sweep_orphans

        sweep_orphans()  # staging files of SIGKILLed runs (shared memory is RAM)
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.run_dir / "hb", ignore_errors=True)  # beats of an earlier invocation
        (self.run_dir / "hb").mkdir(parents=True, exist_ok=True)
        old, prev = self.run_dir / "events.jsonl", None
        if old.exists():  # one timeline per invocation; keep the previous one beside it
            prev = previous_step(read_events(old))
            old.rename(self.run_dir / f"events.{int(old.stat().st_mtime * 1000)}.jsonl")
        cfg_path = self.run_dir / "config.json"
        cfg_path.write_text(json.dumps(self.cfg.to_dict(), indent=1))
        store = dist.TCPStore("127.0.0.1", 0, is_master=True, wait_for_workers=False)
        events = EventLog(self.run_dir / "events.jsonl", attempt=0, source="supervisor")
        t0 = time.time()
        deadline = t0 + self.cfg.run.max_seconds if self.cfg.run.max_seconds > 0 else 0.0
        kills = KillSchedule(self.cfg.faults.kill_every_s, seed=self.cfg.faults.kill_seed,
                             start_s=t0, max_kills=self.cfg.faults.kill_max)
        events.emit("start", world=self.world, run_dir=str(self.run_dir), pid=os.getpid(),
                    previous_step=prev, token=self.token)
        if self.cfg.run.fork_server:
            zygote_env = {**self._env, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
            self._server = ForkServer(self.python, zygote_env,
                                      self.run_dir / "logs" / "zygote.log")
        try:
            state, reason, attempt = self._attempts(events, store.port, cfg_path, deadline,
                                                    kills)
        finally:
            if self._server is not None:
                self._server.close()
                self._server = None
        events.attempt = attempt
        events.emit("end", ok=state == "SUCCEEDED", state=state, reason=reason,
                    rc=STATE_RC[state])
        events.close()
        summary = summarize(read_events(self.run_dir / "events.jsonl"))
        (self.run_dir / "summary.json").write_text(json.dumps(summary, indent=1))
        return summary

    def _attempts(self, events: EventLog, port: int, cfg_path: Path, deadline: float,
                  kills: KillSchedule) -> tuple[str, str, int]:
        """Run attempts until one ends the job; (state, reason, last attempt)."""
        attempt, in_a_row, rollbacks = 0, 0, 0
        committed_before = newest_committed_step(self.cfg.ckpt_dir)
        while True:
            events.attempt = attempt
            if self._preempt is not None:
                self._note_preempt(events)
                return "PREEMPTED", f"{self._preempt[0]} before attempt {attempt}", attempt
            procs, persisters = self._launch(attempt, port, cfg_path, deadline)
            events.emit("launch", logs=[str(p.log) for p in procs], pids=[p.pid for p in procs],
                        persist_pids=[p.pid for p in persisters])
            failure = self._watch(procs, attempt, kills, events)
            if failure is None or failure["kind"] == "preempted":
                self._kill(procs)
                self._drain(persisters, events)
                if failure is None:
                    return "SUCCEEDED", "", attempt
                return "PREEMPTED", failure["detail"], attempt
            events.emit("failure", **failure)
            self._say(f"attempt {attempt}: {failure['kind']} on rank {failure['rank']}"
                      f" ({failure.get('detail', '')})")
            self._kill(procs)
            self._drain(persisters, events)
            if failure["kind"] == "config":
                return "CONFIG_ERROR", failure["detail"], attempt
            if failure["kind"] == "nonfinite":
                rollbacks += 1
                if rollbacks > self.cfg.train.max_rollbacks:
                    return "FAILED", (
                        f"non-finite loss or gradients again after {rollbacks - 1} rollbacks "
                        f"(train.max_rollbacks {self.cfg.train.max_rollbacks}): the run "
                        "diverges; lower train.lr or raise train.warmup_steps"), attempt
                attempt += 1
                events.emit("rollback", attempt=attempt, rollbacks=rollbacks,
                            to_step=newest_committed_step(self.cfg.ckpt_dir))
                continue
            newest = newest_committed_step(self.cfg.ckpt_dir)
            if newest > committed_before:  # progress since the last failure: a fresh budget
                in_a_row, committed_before = 0, newest
            if in_a_row >= self.cfg.run.max_restarts:
                return "FAILED", (f"gave up after {in_a_row} restarts in a row without a new "
                                  f"checkpoint ({attempt} in all)"), attempt
            in_a_row += 1
            attempt += 1
            events.emit("restart", attempt=attempt, in_a_row=in_a_row)

    def _note_preempt(self, events: EventLog) -> None:
        sig, when = self._preempt
        events.emit("preempt_signal", signal=sig, at=when, grace_s=self.cfg.run.preempt_grace_s)

    def _watch(self, procs: list[_Rank], attempt: int, kills: KillSchedule,
               events: EventLog) -> dict[str, Any] | None:
        """Poll until all ranks exit 0 (None) or one fails (the failure, as event fields)."""
        launched = time.time()
        beats = [self.run_dir / "hb" / f"a{attempt}.r{r}" for r in range(self.world)]
        forwarded = False
        while True:
            time.sleep(POLL_S)
            now = time.time()
            if self._preempt is not None and not forwarded:
                forwarded = True
                self._note_preempt(events)
                for p in procs:  # the ranks agree on a final checkpoint at their next step
                    p.kill(signal.SIGTERM)
            codes = [p.poll() for p in procs]
            if self._preempt is not None or PREEMPTED_RC in codes:
                out = self._watch_preemption(procs, codes)
                if out is not None:
                    return out
                continue
            for rank, rc in enumerate(codes):
                if rc is not None and rc != 0:
                    return _exit_failure(rank, rc, procs[rank].log)
            if all(rc == 0 for rc in codes):
                return None
            hang = self._hung(procs, beats, codes, launched, now)
            if hang is not None:
                return hang
            victim = kills.due(now, self.world)
            if victim is not None and procs[victim].poll() is None:
                events.emit("fault", kind="kill", rank=victim)
                procs[victim].kill()

    def _watch_preemption(self, procs: list[_Rank], codes: list[int | None]
                          ) -> dict[str, Any] | None:
        """After a preemption signal (here or at a rank): wait for every rank to leave, up to
        the grace period; then the attempt ends PREEMPTED (killed if the grace ran out)."""
        started = self._preempt[1] if self._preempt else time.time()
        if self._preempt is None:
            self._preempt = ("rank", started)  # a rank was signalled directly
        left = [r for r, rc in enumerate(codes) if rc is None]
        if not left:
            clean = all(rc in (0, PREEMPTED_RC) for rc in codes)
            return {"kind": "preempted", "rank": None, "rc": PREEMPTED_RC,
                    "detail": f"{self._preempt[0]}: final checkpoint "
                              f"{'committed' if clean else 'not confirmed'}"}
        if time.time() - started > self.cfg.run.preempt_grace_s:
            return {"kind": "preempted", "rank": left[0], "rc": None,
                    "detail": f"{self._preempt[0]}: ranks {left} still running after the "
                              f"{self.cfg.run.preempt_grace_s} s grace period; killed"}
        return None

    def _hung(self, procs: list[_Rank], beats: list[Path], codes: list[int | None],
              launched: float, now: float) -> dict[str, Any] | None:
        for rank, hb in enumerate(beats):
            try:
                st = hb.stat()
                started = hb.read_text().strip() not in ("", "-1")
                last = st.st_mtime
            except (FileNotFoundError, ValueError):
                started, last = False, launched
            limit = self.cfg.run.heartbeat_timeout_s if started \
                else self.cfg.run.startup_timeout_s
            if codes[rank] is None and now - last > limit:
                return {"kind": "hang", "rank": rank, "rc": None,
                        "detail": f"no heartbeat for {now - last:.1f} s (limit {limit} s)",
                        "stack": self._stack_dump(procs)}
        return None

    @staticmethod
    def _stack_dump(procs: list[_Rank]) -> str:
        """Signal every live rank (``faulthandler`` dumps all its threads into its log), wait,
        and return each log's tail: the hung rank and the peers blocked on it, side by side."""
        live = [(rank, p) for rank, p in enumerate(procs) if p.poll() is None]
        for _, p in live:
            p.kill(STACK_DUMP_SIGNAL)
        time.sleep(STACK_DUMP_WAIT_S)
        return "\n".join(f"--- rank {rank} ({p.log.name}):\n"
                         + _tail(p.log, lines=40, chars=3000, sep="\n") for rank, p in live)


def _exit_failure(rank: int, rc: int, log: Path) -> dict[str, Any]:
    if rc == CONFIG_ERROR_RC:
        return {"kind": "config", "rank": rank, "rc": rc, "detail": _config_error(log)}
    if rc == NONFINITE_RC:
        return {"kind": "nonfinite", "rank": rank, "rc": rc,
                "detail": "non-finite loss or gradients: rolling back and skipping the batch"}
    return {"kind": "killed" if rc < 0 else "exit", "rank": rank, "rc": rc,
            "detail": _tail(log)}


def _config_error(log: Path) -> str:
    """The ``config error: ...`` line a rank printed before exiting 2."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "a rank refused the job (exit 2); its log is missing"
    found = [ln for ln in lines if ln.startswith("config error: ")]
    return found[-1].removeprefix("config error: ") if found else _tail(log)


def _tail(log: Path, lines: int = 3, chars: int = 400, sep: str = " | ") -> str:
    try:
        return sep.join(log.read_text(errors="replace").strip().splitlines()[-lines:])[-chars:]
    except FileNotFoundError:
        return ""
