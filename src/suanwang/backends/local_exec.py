"""``python -m suanwang.backends.local_exec STATE_DIR LOCK_FD``: the detached keeper of one local
attempt (started by :class:`suanwang.backends.local.LocalBackend`, never imported by it).

It runs in its own session, holds the attempt's lock (inherited as ``LOCK_FD``) for its whole
life, and records the attempt in ``STATE_DIR`` so that a controller restarted at any moment can
re-attach without running it twice:

* ``started.json``  {pid, start_ticks, child_pid, started_at}  written before the child runs
* ``output.log``    the child's stdout + stderr
* ``exit.json``     {exit_code, ended_at, cpu_s, reason}  written atomically when the child ends

The child (the runtime supervisor or a batch command, argv from ``launch.json``) gets
PR_SET_PDEATHSIG = SIGKILL, so it dies with this keeper. SIGTERM (cancel, preemption) is sent to
the attempt's whole process group (the child and everything it started: the runtime supervisor
*and* its ranks, or every process of a batch command's shell; the keeper itself ignores that
copy), SIGKILL to the child follows after ``grace_s`` from ``launch.json`` (default
``GRACE_S``). For training the backend sets ``grace_s`` to the runtime's
``run.preempt_grace_s`` plus a margin, so the runtime can take its coordinated final
checkpoint and exit 75 (PREEMPTED) before anything is killed (docs/runtime.md, fault model).
``fail_after_s`` > 0 injects a node failure: the whole process group is SIGKILLed then, leaving
no ``exit.json`` (the controller sees NODE_FAIL). ``walltime_s`` > 0 stops the child like a
cancel and records reason ``walltime``.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

GRACE_S = 10.0


def proc_start_ticks(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot (/proc/PID/stat field 22), None if gone.
    With the pid it identifies a process uniquely (pids are reused, (pid, start) pairs not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode(errors="replace")
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    if fields and fields[0] == "Z":  # a zombie has ended
        return None
    return int(fields[19])


def write_atomic(path: Path, doc: dict) -> None:
    """Write JSON to ``path`` via a temp file + fsync + rename (never a torn file)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as fh:
        json.dump(doc, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _term_group(on_term) -> None:
    """SIGTERM to this keeper's process group (the attempt's whole tree), not to the keeper:
    a signal ignored when it is generated is discarded, so the keeper's own copy is dropped."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.killpg(os.getpgrp(), signal.SIGTERM)
    finally:
        signal.signal(signal.SIGTERM, on_term)


def _wait(child: subprocess.Popen, spec: dict, stop: list[str], on_term) -> str:
    """Wait for the child; returns the reason it stopped early ('' = on its own). A stop sends
    SIGTERM to the process group once, SIGKILL to the child ``grace_s`` later."""
    t0 = time.monotonic()
    fail_after = float(spec.get("fail_after_s") or 0)
    walltime = float(spec.get("walltime_s") or 0)
    grace = float(spec.get("grace_s") or GRACE_S)
    reason, term_at = "", None
    while child.poll() is None:
        now = time.monotonic() - t0
        if fail_after and now >= fail_after:
            os.killpg(os.getpgrp(), signal.SIGKILL)  # injected node failure: no exit record
        if not reason and stop:
            reason = stop[0]
        if not reason and walltime and now >= walltime:
            reason = "walltime"
        if reason and term_at is None:
            _term_group(on_term)
            term_at = now
        if term_at is not None and now - term_at > grace:
            child.kill()
        time.sleep(0.05)
    return reason


def main(argv: list[str]) -> int:
    state = Path(argv[0])
    spec = json.loads((state / "launch.json").read_text())
    stop: list[str] = []

    def on_term(*_: object) -> None:
        stop.append("cancelled")

    signal.signal(signal.SIGTERM, on_term)
    me = os.getpid()
    started_at = time.time()
    with open(state / "output.log", "ab") as out:
        env = {**os.environ, **spec.get("env", {})}
        child = subprocess.Popen(spec["argv"], stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, cwd=spec.get("cwd") or None, env=env,
                                 preexec_fn=_die_with_parent)
        write_atomic(state / "started.json", {"pid": me, "start_ticks": proc_start_ticks(me),
                                              "child_pid": child.pid, "started_at": started_at})
        reason = _wait(child, spec, stop, on_term)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    write_atomic(state / "exit.json", {"exit_code": child.returncode, "ended_at": time.time(),
                                       "cpu_s": ru.ru_utime + ru.ru_stime, "reason": reason})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
