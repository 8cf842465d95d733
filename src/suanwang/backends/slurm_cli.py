"""Slurm's command-line clients (sbatch, squeue, sacct, sinfo, scancel, scontrol), run on this
machine or on a login node over ssh, and parsers for their pipe-separated output.

Every command gets ``SLURM_CONF`` when the center names a slurm.conf, so several clusters can be
driven from one process (each client picks its cluster by that file). Over ssh the command line
is quoted with :func:`shlex.join` and run as ``ssh -o BatchMode=yes HOST -- env SLURM_CONF=...
CMD``; input (the sbatch script) goes over stdin, so nothing needs copying first.

Output formats are fixed here (``-o``/``--format`` with ``|`` separators, ``-h``/``-n`` without
headers), and parsed into small frozen rows. Times: Slurm prints local ISO times
(``2026-11-30T10:31:51``) or ``Unknown``/``None``; durations ``[D-]HH:MM:SS``/``MM:SS``
(sacct ``Elapsed``, squeue ``%M``); exit codes ``code:signal``.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from suanwang.core.errors import BackendError

CLI_TIMEOUT_S = 30.0

# squeue -o: job id, name, state, reason, start, end, nodes, cpus, comment, node list
SQUEUE_FORMAT = "%i|%j|%T|%r|%S|%e|%D|%C|%k|%N"
# sacct -o (works with -c / jobcomp too; AllocTRES only with slurmdbd)
SACCT_FIELDS = "JobID,JobName,State,ExitCode,Start,End,Elapsed,NNodes,NCPUS,NodeList"
SACCT_DBD_FIELDS = SACCT_FIELDS + ",AllocTRES"
SINFO_FORMAT = "NodeList:|,StateLong:|,CPUsState:|,Gres:|,GresUsed:|,Partition:|"


class SlurmCLI:
    """Runs Slurm client commands for one cluster (``slurm_conf``) locally or via ``ssh_host``."""

    def __init__(self, *, slurm_conf: str = "", ssh_host: str = "",
                 ssh_options: Sequence[str] = (), timeout_s: float = CLI_TIMEOUT_S) -> None:
        self.slurm_conf = slurm_conf
        self.ssh_host = ssh_host
        self.ssh_options = tuple(ssh_options)
        self.timeout_s = timeout_s
        self.calls = 0  # how many commands ran (tests check one squeue per poll)

    def argv(self, cmd: Sequence[str]) -> list[str]:
        """The full argv that runs ``cmd`` (ssh-wrapped when a login host is set)."""
        if not self.ssh_host:
            return list(cmd)
        env = ["env", f"SLURM_CONF={self.slurm_conf}"] if self.slurm_conf else []
        return ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", *self.ssh_options,
                self.ssh_host, "--", shlex.join([*env, *cmd])]

    def run(self, cmd: Sequence[str], *, stdin: str | None = None, check: bool = True,
            env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``cmd``; BackendError naming the command and its stderr when it fails (``check``)
        or cannot start / times out."""
        full_env = {**os.environ, **(env or {})}
        if self.slurm_conf and not self.ssh_host:
            full_env["SLURM_CONF"] = self.slurm_conf
        self.calls += 1
        try:
            proc = subprocess.run(self.argv(cmd), input=stdin, capture_output=True, text=True,
                                  timeout=self.timeout_s, env=full_env, check=False)
        except FileNotFoundError as exc:
            raise BackendError(f"{cmd[0]}: not found ({exc.filename}); is the Slurm client "
                               "installed (apt-get install slurm-client)?") from None
        except subprocess.TimeoutExpired:
            raise BackendError(f"{shlex.join(cmd)}: no answer within {self.timeout_s:g} s "
                               "(slurmctld down or unreachable?)") from None
        if check and proc.returncode != 0:
            err = (proc.stderr or proc.stdout).strip().splitlines()
            raise BackendError(f"{shlex.join(cmd)} failed (exit {proc.returncode}): "
                               f"{err[-1] if err else 'no output'}")
        return proc


# -- values ---------------------------------------------------------------------------------
def parse_time(text: str) -> float | None:
    """Slurm's local ISO time -> unix seconds; None for Unknown/None/N/A/empty."""
    text = text.strip()
    if not text or text in ("Unknown", "None", "N/A", "NONE"):
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def parse_duration(text: str) -> float:
    """``[D-]HH:MM:SS[.fff]`` or ``MM:SS`` -> seconds (0 for empty/INVALID)."""
    text = text.strip()
    if not text or text in ("INVALID", "UNLIMITED", "Partition_Limit"):
        return 0.0
    days = 0
    if "-" in text:
        d, text = text.split("-", 1)
        days = int(d)
    parts = [float(p) for p in text.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0.0)
    h, m, s = parts[-3:]
    return days * 86400 + h * 3600 + m * 60 + s


def parse_exit(text: str) -> tuple[int | None, int | None]:
    """``code:signal`` -> (code, signal); (None, None) when absent."""
    text = text.strip()
    if not text or ":" not in text:
        return None, None
    code, sig = text.split(":", 1)
    try:
        return int(code), int(sig)
    except ValueError:
        return None, None


def parse_tres(text: str) -> dict[str, str]:
    """``cpu=2,mem=512M,node=2,gres/gpu=4`` -> {"cpu": "2", ..., "gres/gpu": "4"}."""
    out = {}
    for part in text.strip().split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k] = v
    return out


def gres_count(text: str, name: str) -> int:
    """Devices of GRES ``name`` (``gpu`` or ``gpu:h100``) in a sinfo Gres/GresUsed field such
    as ``gpu:h100:8(S:0-1)`` or ``gpu:2,nic:1``; 0 when absent."""
    total = 0
    want = name.split(":")
    for item in text.split(","):
        item = item.split("(")[0].strip()
        fields = item.split(":")
        if len(fields) < 2 or fields[0] != want[0]:
            continue
        count = fields[-1]
        typ = fields[1] if len(fields) == 3 else ""
        if len(want) == 2 and typ != want[1]:
            continue
        if count.isdigit():
            total += int(count)
    return total


# -- rows -----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class QueueRow:
    """One job as squeue shows it (state in Slurm's words, e.g. RUNNING, PENDING, COMPLETED)."""

    job_id: str
    name: str
    state: str
    reason: str
    start: float | None
    end: float | None
    nodes: int
    cpus: int
    comment: str
    nodelist: str


def parse_squeue(text: str) -> list[QueueRow]:
    rows = []
    for line in text.splitlines():
        f = line.split("|")
        if len(f) < 10:
            continue
        rows.append(QueueRow(job_id=f[0].strip(), name=f[1], state=f[2].strip(), reason=f[3],
                             start=parse_time(f[4]), end=parse_time(f[5]),
                             nodes=_int(f[6]), cpus=_int(f[7]), comment="|".join(f[8:-1]),
                             nodelist=f[-1].strip()))
    return rows


@dataclass(frozen=True, kw_only=True)
class AcctRow:
    """One sacct record (one run of a job: a requeued job has one per run)."""

    job_id: str
    name: str
    state: str
    exit_code: int | None
    signal: int | None
    start: float | None
    end: float | None
    elapsed_s: float
    nodes: int
    cpus: int
    nodelist: str
    tres: Mapping[str, str]


def parse_sacct(text: str) -> list[AcctRow]:
    """Rows of ``sacct -n -P -o SACCT_FIELDS[,AllocTRES]``; job steps (``12.batch``) skipped."""
    rows = []
    for line in text.splitlines():
        f = line.split("|")
        if len(f) < 10 or "." in f[0]:
            continue
        code, sig = parse_exit(f[3])
        rows.append(AcctRow(job_id=f[0].strip(), name=f[1], state=f[2].split()[0] if f[2] else "",
                            exit_code=code, signal=sig, start=parse_time(f[4]),
                            end=parse_time(f[5]), elapsed_s=parse_duration(f[6]),
                            nodes=_int(f[7]), cpus=_int(f[8]), nodelist=f[9],
                            tres=parse_tres(f[10]) if len(f) > 10 else {}))
    return rows


@dataclass(frozen=True, kw_only=True)
class NodeRow:
    """One node as sinfo shows it: state, CPUs (allocated/idle/other/total) and GRES."""

    name: str
    state: str
    cpus_alloc: int
    cpus_idle: int
    cpus_total: int
    gres: str
    gres_used: str
    partition: str

    @property
    def usable(self) -> bool:
        """Up and schedulable (not down/drained/failing/unknown)."""
        bad = ("down", "drain", "fail", "unknown", "not_responding", "inval", "maint",
               "reboot", "power")
        return not any(b in self.state.lower() for b in bad)


def parse_sinfo(text: str) -> list[NodeRow]:
    rows = []
    for line in text.splitlines():
        f = line.split("|")
        if len(f) < 6:
            continue
        cpu = (f[2].split("/") + ["0"] * 4)[:4]
        rows.append(NodeRow(name=f[0].strip(), state=f[1].strip(), cpus_alloc=_int(cpu[0]),
                            cpus_idle=_int(cpu[1]), cpus_total=_int(cpu[3]), gres=f[3].strip(),
                            gres_used=f[4].strip(), partition=f[5].strip().rstrip("*")))
    return rows


def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        return 0
