"""Fork server: import torch once per run, fork every rank of every attempt from that warm image.

Ranks and their persist processes are forked from it. Importing torch and the lazily loaded
parts DDP needs costs ~2 s of CPU per process. A restart that pays it on the critical path loses
those seconds; spare processes started ahead of time pay it in the middle of training instead
(on a CPU-bound box that slowed 20+ steps by 2x). A fork of a process that already imported
everything costs milliseconds. The zygote stays single-threaded (one intra-op thread, no process
group, no CUDA) so that forking it is safe.

Protocol, JSON lines. Supervisor -> zygote on stdin: ``{"go": {...}, "log": PATH}``.
Zygote -> supervisor on stdout: ``{"pid": P}`` after each fork, ``{"exit": P, "rc": RC}`` when a
child ends (``rc`` < 0: killed by signal ``-rc``, as ``Popen.returncode``).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import IO, Any

from suanwang.runtime.procs import PARENT_PID_ENV, die_with_parent, ignore_preempt_signals


def serve() -> int:
    """Zygote main loop: fork on request, report exits; ends when stdin closes.

    The zygote runs single-threaded whatever ``threads_per_rank`` is: GNU OpenMP is not
    fork-safe, so a parent that ever started an OpenMP pool (more than one intra-op thread)
    forks children that hang in their first parallel region. Each rank sets its own thread
    count after the fork (``train``), where starting a fresh pool is safe.
    """
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"  # before torch is imported
    ignore_preempt_signals()  # preemption is for the supervisor and the ranks to handle
    from suanwang.runtime.train import prewarm

    parent = os.environ.get(PARENT_PID_ENV)
    die_with_parent(int(parent) if parent else None)
    import torch

    torch.set_num_threads(1)
    prewarm()
    out = sys.stdout
    children: set[int] = set()
    stdin = sys.stdin.fileno()
    buf = b""
    while True:
        ready, _, _ = select.select([stdin], [], [], 0.02)
        if ready:
            chunk = os.read(stdin, 65536)
            if not chunk:
                return 0
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                req = json.loads(line)
                me = os.getpid()
                pid = os.fork()
                if pid == 0:
                    _child(req["go"], req["log"], me)  # never returns
                children.add(pid)
                out.write(json.dumps({"pid": pid}) + "\n")
                out.flush()
        for pid in list(children):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                children.discard(pid)
                out.write(json.dumps({"exit": pid, "rc": os.waitstatus_to_exitcode(status)})
                          + "\n")
                out.flush()


def _child(go: dict[str, Any], log: str, parent_pid: int) -> None:
    """A forked rank (or, with ``go["persist"]``, a persist process); never returns."""
    from suanwang.runtime.train import run_worker

    rc = 1
    try:
        die_with_parent(parent_pid)
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        if "persist" in go:
            from suanwang.runtime.persist import run_persister

            rc = run_persister(go)
        else:
            rc = run_worker(go)
    except BaseException:  # process boundary of a rank: log it, exit non-zero
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)


class ForkServer:
    """Supervisor-side handle of the zygote: ``fork(go, log) -> pid``, ``poll(pid) -> rc``."""

    def __init__(self, python: str, env: dict[str, str], log: Path) -> None:
        self._log = open(log, "wb")  # noqa: SIM115 - closed in close()
        self._proc = subprocess.Popen([python, "-m", "suanwang.runtime", "zygote"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._log, env=env, start_new_session=True)
        self._codes: dict[int, int] = {}
        self._pids: list[int] = []
        self._cv = threading.Condition()
        self._reader = threading.Thread(target=self._read, args=(self._proc.stdout,),
                                        daemon=True)
        self._reader.start()

    def _read(self, stream: IO[bytes]) -> None:
        for line in stream:
            msg = json.loads(line)
            with self._cv:
                if "pid" in msg:
                    self._pids.append(msg["pid"])
                else:
                    self._codes[msg["exit"]] = msg["rc"]
                self._cv.notify_all()
        with self._cv:
            self._pids.append(-1)  # zygote gone
            self._cv.notify_all()

    def fork(self, go: dict[str, Any], log: Path, timeout_s: float) -> int:
        with self._cv:
            self._proc.stdin.write((json.dumps({"go": go, "log": str(log)}) + "\n").encode())
            self._proc.stdin.flush()
            if not self._cv.wait_for(lambda: self._pids, timeout=timeout_s):
                raise RuntimeError(f"fork server did not answer within {timeout_s} s")
            pid = self._pids.pop(0)
        if pid < 0:
            raise RuntimeError(f"fork server exited (rc {self._proc.poll()}); see its log")
        return pid

    def poll(self, pid: int) -> int | None:
        with self._cv:
            return self._codes.get(pid)

    def wait(self, pid: int, timeout_s: float = 10.0) -> int | None:
        with self._cv:
            self._cv.wait_for(lambda: pid in self._codes, timeout=timeout_s)
            return self._codes.get(pid)

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._log.close()
