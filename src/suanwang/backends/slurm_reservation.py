"""Slurm advance reservations for leases: ``scontrol create|delete reservation``.

A lease of ``devices`` on a Slurm center becomes ``ReservationName=suanwang-lease-N`` over
[start, end) of ``devices / devices_per_node`` nodes of the site's partition, for the Unix user
that submits the center's jobs (the lease holder's attempts then carry ``--reservation``,
``backends/slurm_script.py``). ``Flags=IGNORE_JOBS``: the platform's lease admission already
proved the capacity free for the window against running jobs' predicted ends; Slurm would
otherwise refuse nodes that a running job's time limit overlaps. Times go to slurmctld in its
local time (``YYYY-MM-DDTHH:MM:SS``); a start in the past is ``now``.
"""

from __future__ import annotations

import getpass
import math
from datetime import datetime

from suanwang.core.errors import BackendError


def reservation_argv(name: str, *, start: datetime, end: datetime, nodes: int, user: str,
                     partition: str = "", now: datetime) -> list[str]:
    """The ``scontrol create reservation`` argv (Duration in whole minutes, at least 1)."""
    begin = max(start, now)
    minutes = max(1, math.ceil((end - begin).total_seconds() / 60))
    when = "now" if start <= now else start.astimezone().strftime("%Y-%m-%dT%H:%M:%S")
    argv = ["scontrol", "create", "reservation", f"ReservationName={name}", f"StartTime={when}",
            f"Duration={minutes}", f"NodeCnt={nodes}", f"Users={user}", "Flags=IGNORE_JOBS"]
    if partition:
        argv.append(f"PartitionName={partition}")
    return argv


def submit_user(backend) -> str:
    """The Slurm user the backend submits as (the ssh login's user, else this process's)."""
    host = backend.site.ssh_host
    return host.split("@", 1)[0] if "@" in host else getpass.getuser()


def create(backend, name: str, *, start: datetime, end: datetime, nodes: int,
           now: datetime) -> None:
    """Create the reservation on the backend's cluster; an existing one of that name is kept
    (idempotent). Raises BackendError with Slurm's message otherwise."""
    argv = reservation_argv(name, start=start, end=end, nodes=nodes, user=submit_user(backend),
                            partition=backend.site.partition, now=now)
    out = backend.cli.run(argv, check=False)
    if out.returncode != 0 and "exists" not in (out.stderr + out.stdout).lower():
        raise BackendError(f"scontrol create reservation {name} on {backend.center}: "
                           f"{(out.stderr or out.stdout).strip()}")


def delete(backend, name: str) -> None:
    """Delete the reservation (a missing one is fine)."""
    backend.cli.run(["scontrol", "delete", f"ReservationName={name}"], check=False)


def show(backend, name: str) -> str:
    """``scontrol show reservation NAME`` (one line per field group), '' when missing."""
    out = backend.cli.run(["scontrol", "-o", "show", "reservation", name], check=False)
    return out.stdout if out.returncode == 0 else ""
