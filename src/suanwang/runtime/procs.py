"""Process plumbing shared by the supervisor, the fork server, ranks and persist processes.

No torch here: the supervisor and the CLI import this module without paying torch's import.

Exit codes of ``python -m suanwang.runtime run`` (and of each rank):

==========  =================================================================================
``0``       SUCCEEDED: training reached ``train.steps`` (or ``run.until_step``)
``1``       FAILED: the supervisor gave up (restarts in a row without progress, or non-finite
            numerics after ``train.max_rollbacks`` rollbacks)
``2``       the job was refused (``ConfigError``: bad file, checkpoint of another model, a
            refused change of a hyper-parameter on resume, run dir in use)
``3``       (rank only) non-finite loss or gradients: the supervisor rolls back to the newest
            committed checkpoint and skips the batch
``75``      PREEMPTED (``EX_TEMPFAIL``): SIGTERM / SIGUSR1 / SIGINT reached a process of the
            job; a final checkpoint was committed (within ``run.preempt_grace_s``) and the job
            should be requeued. Platform controllers and the Slurm backend map it to PREEMPTED.
==========  =================================================================================
"""

from __future__ import annotations

import os
import signal

PARENT_PID_ENV = "SUANWANG_PARENT_PID"  # the starter's pid, for the orphan check after prctl
SUPERVISOR_PARENT_ENV = "SUANWANG_SUPERVISOR_PARENT_PID"  # the CLI's pid: SIGTERM when it dies

OK_RC = 0
FAILED_RC = 1
CONFIG_ERROR_RC = 2
NONFINITE_RC = 3
PREEMPTED_RC = 75  # sysexits.h EX_TEMPFAIL: "temporary failure, retry later"

# signals that mean "you are being preempted: checkpoint and leave" (Slurm sends SIGTERM at the
# end of the time limit / on preemption and, with --signal=B:USR1@60, SIGUSR1 ahead of it;
# Kubernetes and docker stop send SIGTERM; Ctrl-C is SIGINT)
PREEMPT_SIGNALS = (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT)
# the supervisor's hang probe: a rank's faulthandler dumps every thread's stack on it
STACK_DUMP_SIGNAL = signal.SIGUSR2


def die_with_parent(parent_pid: int | None, sig: int = signal.SIGKILL) -> None:
    """Linux: deliver ``sig`` to this process when its parent dies (``PR_SET_PDEATHSIG``).

    ``parent_pid`` is the parent's pid as the parent knew it before starting us: if the parent
    already died before ``prctl`` took effect (the signal would then never come), act now:
    exit for SIGKILL, send ``sig`` to ourselves otherwise (SIGTERM: a supervisor whose CLI
    died preempts its job gracefully).
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(sig))  # PR_SET_PDEATHSIG
    except OSError:  # not Linux/glibc: the supervisor's SIGKILL of the group still applies
        pass
    if parent_pid is not None and os.getppid() != parent_pid:
        if sig == signal.SIGKILL:
            os._exit(1)  # orphaned already
        os.kill(os.getpid(), sig)


def ignore_preempt_signals() -> None:
    """For helper processes (fork server): preemption is the supervisor's and the ranks' job."""
    for sig in PREEMPT_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def default_preempt_signals() -> None:
    """Undo :func:`ignore_preempt_signals` in a freshly forked child."""
    for sig in PREEMPT_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
