"""The supervisor: launch the ranks, watch them, restart from the latest checkpoint.

Its own launcher rather than torchrun: the supervisor hosts one TCPStore for the whole run and
each attempt rendezvouses under its own ``PrefixStore`` (torchrun 2.13 with gloo reuses stale
addresses on restart and can hang). Ranks are forked from a warm fork server (``zygote.py``) that
imported torch once, so a restart costs a fork, process-group set-up, checkpoint load and one
step, not an interpreter start-up (``run.fork_server: false`` starts each rank cold).

Failure detection, polled every 50 ms: a rank exits non-zero or is killed; a rank's heartbeat file
(rewritten after every step) goes stale for ``heartbeat_timeout_s`` (``startup_timeout_s`` while
it initialises). Then every rank of the attempt gets SIGKILL and, up to ``max_restarts``, the
next attempt resumes from the newest committed checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from suanwang.runtime.config import TrainConfig
from suanwang.runtime.faults import KillSchedule
from suanwang.runtime.metrics import EventLog, read_events, summarize
from suanwang.runtime.zygote import ForkServer

POLL_S = 0.05


class _Rank:
    """One rank's process: forked by the zygote (``server`` set) or a cold ``Popen``."""

    def __init__(self, pid: int, log: Path, *, server: ForkServer | None = None,
                 popen: subprocess.Popen | None = None) -> None:
        self.pid, self.log, self.server, self.popen = pid, log, server, popen

    def poll(self) -> int | None:
        return self.server.poll(self.pid) if self.server else self.popen.poll()

    def kill(self) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

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
        threads = str(cfg.run.threads_per_rank)
        self._env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
                     "PYTHONUNBUFFERED": "1"}

    # -- processes -----------------------------------------------------------------------------
    def _start(self, go: dict[str, Any]) -> _Rank:
        self._serial += 1
        log = self.run_dir / "logs" / f"w{self._serial:03d}.a{go['attempt']}.r{go['rank']}.log"
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

    @staticmethod
    def _kill(procs: list[_Rank]) -> None:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()

    def _say(self, msg: str) -> None:
        if not self.quiet:
            print(f"[supervisor] {msg}", file=sys.stderr, flush=True)

    # -- the run -------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        import torch.distributed as dist  # the store outlives attempts; ranks connect as clients

        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.run_dir / "hb", ignore_errors=True)  # beats of an earlier invocation
        (self.run_dir / "hb").mkdir(parents=True, exist_ok=True)
        old = self.run_dir / "events.jsonl"
        if old.exists():  # one timeline per invocation; keep the previous one beside it
            old.rename(self.run_dir / f"events.{int(old.stat().st_mtime)}.jsonl")
        cfg_path = self.run_dir / "config.json"
        cfg_path.write_text(json.dumps(self.cfg.to_dict(), indent=1))
        store = dist.TCPStore("127.0.0.1", 0, is_master=True, wait_for_workers=False)
        events = EventLog(self.run_dir / "events.jsonl", attempt=0, source="supervisor")
        t0 = time.time()
        deadline = t0 + self.cfg.run.max_seconds if self.cfg.run.max_seconds > 0 else 0.0
        kills = KillSchedule(self.cfg.faults.kill_every_s, seed=self.cfg.faults.kill_seed,
                             start_s=t0, max_kills=self.cfg.faults.kill_max)
        events.emit("start", world=self.world, run_dir=str(self.run_dir), pid=os.getpid())
        if self.cfg.run.fork_server:
            self._server = ForkServer(self.python, self._env, self.run_dir / "logs" / "zygote.log")
        ok, attempt, reason = False, 0, ""
        try:
            while True:
                events.attempt = attempt
                procs = [self._start({"config": str(cfg_path), "rank": rank, "world": self.world,
                                      "attempt": attempt, "store_port": store.port,
                                      "deadline_s": deadline}) for rank in range(self.world)]
                events.emit("launch", logs=[str(p.log) for p in procs])
                failure = self._watch(procs, attempt, kills, events)
                if failure is None:
                    self._kill(procs)
                    ok = True
                    break
                events.emit("failure", **failure)
                self._say(f"attempt {attempt}: {failure['kind']} on rank {failure['rank']}"
                          f" ({failure.get('detail', '')})")
                self._kill(procs)
                if attempt >= self.cfg.run.max_restarts:
                    reason = f"gave up after {attempt} restarts"
                    break
                attempt += 1
                events.emit("restart", attempt=attempt)
        finally:
            if self._server is not None:
                self._server.close()
                self._server = None
        events.attempt = attempt
        events.emit("end", ok=ok, reason=reason)
        events.close()
        summary = summarize(read_events(self.run_dir / "events.jsonl"))
        summary["ok"] = ok
        (self.run_dir / "summary.json").write_text(json.dumps(summary, indent=1))
        return summary

    def _watch(self, procs: list[_Rank], attempt: int, kills: KillSchedule,
               events: EventLog) -> dict[str, Any] | None:
        """Poll until all ranks exit 0 (None) or one fails (the failure, as event fields)."""
        launched = time.time()
        beats = [self.run_dir / "hb" / f"a{attempt}.r{r}" for r in range(self.world)]
        while True:
            time.sleep(POLL_S)
            now = time.time()
            codes = [p.poll() for p in procs]
            for rank, rc in enumerate(codes):
                if rc is not None and rc != 0:
                    kind = "killed" if rc < 0 else "exit"
                    return {"kind": kind, "rank": rank, "rc": rc,
                            "detail": _tail(procs[rank].log)}
            if all(rc == 0 for rc in codes):
                return None
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
                            "detail": f"no heartbeat for {now - last:.1f} s (limit {limit} s)"}
            victim = kills.due(now, self.world)
            if victim is not None and procs[victim].poll() is None:
                events.emit("fault", kind="kill", rank=victim)
                procs[victim].kill()


def _tail(log: Path, lines: int = 3) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])[-400:]
    except FileNotFoundError:
        return ""
