"""The ``slurm`` backend: attempts run as Slurm batch jobs on a real cluster.

One backend per Slurm center. It talks to the cluster only through the client commands
(:mod:`suanwang.backends.slurm_cli`: locally with the center's ``slurm_conf``, or on a login node
over ``ssh``) and writes one sbatch script per attempt (:mod:`suanwang.backends.slurm_script`).

* ``submit`` is idempotent on the attempt key: the key is the job name and, again, the job
  comment; before ``sbatch`` the backend looks for it (the attempt directory's
  ``submitted.json``, then ``squeue --name``, then ``sacct --name``) and returns the existing
  job's handle if there is one. A restarted controller therefore never submits twice.
* ``poll``: ONE ``squeue`` for all live handles of the cluster per tick; jobs that left the
  queue or ended are looked up with ONE ``sacct`` (``sacct -c`` from the jobcomp file where the
  cluster has no slurmdbd). A job requeued by Slurm (node failure) shows as PENDING again with
  reason ``BeginTime``; with ``release_requeued`` the backend releases it at once
  (``scontrol update jobid=J StartTime=now``: Slurm otherwise holds requeued jobs ~120 s).
* ``usage`` from sacct after the end: the sum over every run of the job (a requeued job has one
  record per run) of Elapsed x NNodes and x devices (``AllocTRES`` gres/gpu with slurmdbd, the
  requested devices otherwise).
* ``capacity`` from one ``sinfo``: usable nodes, idle CPUs, GRES totals minus GRES in use.

States: Slurm's job states map onto :class:`AttemptState` in :func:`attempt_state`.
"""

from __future__ import annotations

import json
import logging
import os
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
)
from suanwang.backends.slurm_cli import (
    SACCT_DBD_FIELDS,
    SACCT_FIELDS,
    SINFO_FORMAT,
    SQUEUE_FORMAT,
    AcctRow,
    QueueRow,
    SlurmCLI,
    gres_count,
    parse_sacct,
    parse_sinfo,
    parse_squeue,
)
from suanwang.backends.slurm_script import comment, key_of_comment, render
from suanwang.core.errors import BackendError, ConfigError
from suanwang.core.federation import Center, SlurmSite

log = logging.getLogger("suanwang.backends.slurm")

LOG_TAIL_BYTES = 4096
SACCT_LOOKBACK = "now-30days"
ACCT_GRACE_S = 60.0  # how long an ended job may wait for its accounting record

_PENDING = {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING",
            "SUSPENDED", "STOPPED"}
_RUNNING = {"RUNNING", "COMPLETING", "SIGNALING", "STAGE_OUT"}
_STATES = {"COMPLETED": AttemptState.SUCCEEDED, "CANCELLED": AttemptState.CANCELLED,
           "PREEMPTED": AttemptState.PREEMPTED, "NODE_FAIL": AttemptState.NODE_FAIL,
           "BOOT_FAIL": AttemptState.NODE_FAIL, "FAILED": AttemptState.FAILED,
           "TIMEOUT": AttemptState.FAILED, "OUT_OF_MEMORY": AttemptState.FAILED,
           "DEADLINE": AttemptState.FAILED, "SPECIAL_EXIT": AttemptState.FAILED,
           "REVOKED": AttemptState.CANCELLED}
_REASONS = {"TIMEOUT": "walltime exceeded", "OUT_OF_MEMORY": "out of memory",
            "DEADLINE": "deadline passed", "NODE_FAIL": "node failure (not requeued)",
            "BOOT_FAIL": "node failed to boot", "PREEMPTED": "preempted by Slurm"}


# ``python -m suanwang.runtime run`` exits 75 (EX_TEMPFAIL, runtime/procs.py PREEMPTED_RC) after
# the ``--signal`` warning (slurm_script.py) or Slurm's SIGTERM made it commit a final
# checkpoint; Slurm records that as FAILED with exit code 75.
RUNTIME_PREEMPTED_RC = 75
PREEMPTED_REASON = "preempted: the runtime committed a final checkpoint and exited 75"


def runtime_preempted(h: Handle, state: AttemptState, code: int | None) -> bool:
    """True when a training attempt ended FAILED/TIMEOUT with the runtime's exit 75: it was
    signalled (time limit ahead, preemption) and left with a final checkpoint -> PREEMPTED."""
    return (h.data.get("kind") == "training" and state is AttemptState.FAILED
            and code == RUNTIME_PREEMPTED_RC)


def attempt_state(slurm_state: str) -> AttemptState:
    """Slurm job state (squeue %T / sacct State, e.g. ``CANCELLED by 0``) -> AttemptState."""
    word = slurm_state.split()[0].rstrip("+") if slurm_state.strip() else ""
    if word in _PENDING:
        return AttemptState.PENDING
    if word in _RUNNING:
        return AttemptState.RUNNING
    if word in _STATES:
        return _STATES[word]
    return AttemptState.NODE_FAIL  # an unknown state: retry rather than trust it


def check_site(center: Center) -> SlurmSite:
    """The center's Slurm settings, checked before anything is submitted (ConfigError naming
    the field otherwise)."""
    entry = f"center '{center.name}'"
    if center.backend != "slurm":
        raise ConfigError(f"backend is '{center.backend}', not slurm", entry=entry,
                          field="backend")
    site = center.slurm
    if site is None:
        raise ConfigError("a Slurm center needs a 'slurm:' section (slurm_conf or ssh_host, "
                          "partition, account, qos, gres; docs/backends.md)", entry=entry,
                          field="slurm")
    if not site.ssh_host and site.slurm_conf and not Path(site.slurm_conf).is_file():
        raise ConfigError(f"slurm.conf '{site.slurm_conf}' does not exist on this machine "
                          "(start the cluster, e.g. scripts/slurm-local.sh start NAME, or set "
                          "ssh_host)", entry=f"{entry}: slurm", field="slurm_conf")
    if site.ssh_host and not site.python:
        raise ConfigError("with ssh_host, name the interpreter that has suanwang installed on "
                          "the cluster", entry=f"{entry}: slurm", field="python")
    pools = {p.accelerator.name for p in center.pools}
    for acc, _ in site.gres:
        if acc not in pools:
            raise ConfigError(f"'{acc}' is not an accelerator of this center's pools",
                              entry=f"{entry}: slurm", field="gres")
    return site


class SlurmBackend:
    """Runs one Slurm center's attempts as batch jobs; see the module doc."""

    kind = "slurm"

    def __init__(self, center: Center, root: str | Path, *, cli: SlurmCLI | None = None,
                 python: str = sys.executable) -> None:
        self.site = check_site(center)
        self.center = center.name
        self._center = center
        self.root = Path(root)
        self.cli = cli or SlurmCLI(slurm_conf=self.site.slurm_conf, ssh_host=self.site.ssh_host,
                                   ssh_options=self.site.ssh_options)
        self.python = self.site.python or python
        caps = {Capability.MEASURED_ENERGY: "ConsumedEnergy needs an acct_gather_energy plugin; "
                                            "billing models energy from TDP x PUE"}
        if self.site.ssh_host:
            caps[Capability.EVENTS] = ("the runtime's event log is on the cluster's file "
                                       "system, not readable from here")
        self.capabilities: Mapping[Capability, str] = caps
        self._config: dict[str, str] | None = None

    # -- cluster facts ------------------------------------------------------------------------
    def config(self) -> dict[str, str]:
        """``scontrol show config`` as {key: value}, read once."""
        if self._config is None:
            out = self.cli.run(["scontrol", "show", "config"]).stdout
            self._config = {k.strip(): v.strip() for k, _, v in
                            (line.partition("=") for line in out.splitlines()) if k.strip()}
        return self._config

    @property
    def cluster(self) -> str:
        return self.config().get("ClusterName", "")

    @property
    def has_dbd(self) -> bool:
        """Full accounting (slurmdbd): plain ``sacct``; otherwise ``sacct -c`` (jobcomp)."""
        return "slurmdbd" in self.config().get("AccountingStorageType", "")

    @property
    def has_jobcomp(self) -> bool:
        """A jobcomp/filetxt file that ``sacct -c`` reads."""
        return self.config().get("JobCompType", "") == "jobcomp/filetxt"

    # -- paths --------------------------------------------------------------------------------
    def attempt_dir(self, a: AttemptSpec) -> str:
        base = a.run_dir or str(self.root / "runs" / a.key)
        return f"{base}/attempts/{a.key}"

    def _run_dir(self, a: AttemptSpec) -> str:
        return a.run_dir or str(self.root / "runs" / a.key)

    # -- lookups ------------------------------------------------------------------------------
    def _squeue(self, keys: Sequence[str]) -> list[QueueRow]:
        if not keys:
            return []
        out = self.cli.run(["squeue", "-h", "-a", "-t", "all", "--name=" + ",".join(keys),
                            "-o", SQUEUE_FORMAT]).stdout
        return [r for r in parse_squeue(out) if key_of_comment(r.comment) in keys]

    def _sacct(self, *, ids: Sequence[str] = (), name: str = "") -> list[AcctRow]:
        if not ids and not name:
            return []
        if self.has_dbd:
            cmd = ["sacct", "-n", "-P", "-X", "-D", "-o", SACCT_DBD_FIELDS]
            cmd += ["-j", ",".join(ids)] if ids else ["--name", name, "-S", SACCT_LOOKBACK]
        elif self.has_jobcomp:
            cmd = ["sacct", "-c", "-n", "-P", "-o", SACCT_FIELDS]
            cmd += ["-j", ",".join(ids)] if ids else ["--name", name]
        else:  # no accounting at all: finished jobs are only in squeue (MinJobAge)
            return []
        # a failing sacct (slurmdbd down) raises: "no record" would make a live job look lost
        rows = parse_sacct(self.cli.run(cmd).stdout)
        return [r for r in rows if r.job_id in ids] if ids else rows

    def _find(self, a: AttemptSpec) -> tuple[str, float] | None:
        """(job id, submission time) of the job that already runs/ran this attempt, if any.
        The time bounds which runtime events belong to it (0.0 when unknown: no bound)."""
        marker = Path(self.attempt_dir(a)) / "submitted.json"
        if not self.site.ssh_host and marker.is_file():
            doc = json.loads(marker.read_text())
            if doc.get("cluster") == self.cluster:
                return str(doc["job_id"]), float(doc.get("at") or 0.0)
        rows = self._squeue([a.key])
        if rows:
            first = min(rows, key=lambda r: int(r.job_id))
            return first.job_id, 0.0
        acct = [r for r in self._sacct(name=a.key) if r.name == a.key]
        if not acct:
            return None
        first = min(acct, key=lambda r: int(r.job_id))
        return first.job_id, 0.0

    # -- protocol -----------------------------------------------------------------------------
    def submit(self, attempt: AttemptSpec) -> Handle:
        """sbatch the attempt once per key (see module doc); ConfigError for an attempt this
        center cannot take (checked before anything is submitted), BackendError when sbatch
        refuses it."""
        pools = {p.accelerator.name for p in self._center.pools}
        if attempt.accelerator not in pools:
            raise ConfigError(f"attempt {attempt.key}: center '{self.center}' has no "
                              f"'{attempt.accelerator}' pool ({', '.join(sorted(pools))})",
                              field="accelerator")
        adir = self.attempt_dir(attempt)
        script = render(attempt, self.site, attempt_dir=adir, run_dir=self._run_dir(attempt),
                        python=self.python)
        found = self._find(attempt)
        job_id, submitted_at = found if found else ("", time.time())
        if found is None:
            self._mkdir(adir)
            if not self.site.ssh_host:
                Path(adir, "sbatch.sh").write_text(script)
            out = self.cli.run(["sbatch", "--parsable"], stdin=script).stdout.strip()
            job_id = out.split(";")[0].strip()
            if not job_id.isdigit():
                raise BackendError(f"sbatch gave no job id for {attempt.key}: {out!r}")
            if not self.site.ssh_host:
                _write_json(Path(adir, "submitted.json"),
                            {"job_id": job_id, "cluster": self.cluster, "at": submitted_at})
        return Handle(backend=self.kind, center=self.center, key=attempt.key, native_id=job_id,
                      data={"cluster": self.cluster, "attempt_dir": adir,
                            "run_dir": self._run_dir(attempt), "kind": attempt.kind,
                            "accelerator": attempt.accelerator, "devices": attempt.devices,
                            "nodes": attempt.nodes, "submitted_at": submitted_at})

    def _mkdir(self, path: str) -> None:
        if self.site.ssh_host:
            self.cli.run(["mkdir", "-p", path])
        else:
            os.makedirs(path, exist_ok=True)

    def poll(self, handles: Sequence[Handle]) -> dict[str, BackendStatus]:
        """One squeue for all handles, one sacct for those that ended or left the queue."""
        live = {r.job_id: r for r in self._squeue([h.key for h in handles])}
        done_ids = [h.native_id for h in handles
                    if h.native_id not in live or attempt_state(live[h.native_id].state).terminal]
        acct = _by_job(self._sacct(ids=done_ids))
        out: dict[str, BackendStatus] = {}
        for h in handles:
            row = live.get(h.native_id)
            if row is not None and not attempt_state(row.state).terminal:
                out[h.key] = self._live_status(h, row)
            elif h.native_id in acct:
                out[h.key] = self._ended_status(h, acct[h.native_id])
            elif row is not None and self._acct_pending(row):
                # ended, but its accounting record is not there yet: the bill comes from that
                # record, so the attempt is not reported ended before it (at most ACCT_GRACE_S)
                out[h.key] = BackendStatus(state=AttemptState.RUNNING, started_at=row.start,
                                           reason="ended; waiting for its accounting record")
            elif row is not None:  # ended, no accounting (or it never came): squeue's word
                out[h.key] = self._ended_from_queue(h, row)
            else:
                out[h.key] = BackendStatus(state=AttemptState.NODE_FAIL, ended_at=time.time(),
                                           reason=f"lost: Slurm job {h.native_id} is in "
                                                  "neither squeue nor sacct",
                                           log_tail=self._tail(h))
        return out

    def _acct_pending(self, row: QueueRow) -> bool:
        has_acct = self.has_dbd or self.has_jobcomp
        return has_acct and time.time() - (row.end or time.time()) < ACCT_GRACE_S

    def _live_status(self, h: Handle, row: QueueRow) -> BackendStatus:
        state = attempt_state(row.state)
        if state is AttemptState.PENDING:
            reason = row.reason
            if row.reason == "BeginTime" and self.site.release_requeued:
                # our jobs never ask for a begin time: BeginTime means Slurm's requeue hold
                self.cli.run(["scontrol", "update", f"jobid={h.native_id}", "StartTime=now"],
                             check=False)
                reason = "requeued by Slurm; released (StartTime=now)"
            return BackendStatus(state=state, reason=reason)
        return BackendStatus(state=state, started_at=row.start)

    def _ended_status(self, h: Handle, runs: list[AcctRow]) -> BackendStatus:
        last = runs[-1]
        state = attempt_state(last.state)
        code = last.exit_code
        if state is AttemptState.FAILED and last.signal:
            code = code or 128 + last.signal
        if runtime_preempted(h, state, code):
            return BackendStatus(state=AttemptState.PREEMPTED, exit_code=code,
                                 reason=PREEMPTED_REASON, started_at=runs[0].start,
                                 ended_at=last.end)
        reason = _REASONS.get(last.state.split()[0] if last.state else "", "")
        if state is AttemptState.FAILED and not reason:
            reason = f"exit code {code}"
        tail = self._tail(h) if state in (AttemptState.FAILED, AttemptState.NODE_FAIL) else ""
        return BackendStatus(state=state, exit_code=code, reason=reason, log_tail=tail,
                             started_at=runs[0].start, ended_at=last.end)

    def _ended_from_queue(self, h: Handle, row: QueueRow) -> BackendStatus:
        state = attempt_state(row.state)
        code = None
        out = self.cli.run(["scontrol", "-o", "show", "job", h.native_id], check=False).stdout
        for word in out.split():
            if word.startswith("ExitCode="):
                code = int(word[9:].split(":")[0])
        if runtime_preempted(h, state, code):
            return BackendStatus(state=AttemptState.PREEMPTED, exit_code=code,
                                 reason=PREEMPTED_REASON, started_at=row.start, ended_at=row.end)
        tail = self._tail(h) if state in (AttemptState.FAILED, AttemptState.NODE_FAIL) else ""
        return BackendStatus(state=state, exit_code=code, started_at=row.start,
                             ended_at=row.end, log_tail=tail,
                             reason=f"exit code {code}" if state is AttemptState.FAILED else "")

    def _tail(self, h: Handle, tail_bytes: int = LOG_TAIL_BYTES) -> str:
        path = f"{h.data['attempt_dir']}/slurm.out"
        if not self.site.ssh_host:
            return tail_text(path, tail_bytes)
        return self.cli.run(["tail", "-c", str(tail_bytes), path], check=False).stdout

    def cancel(self, handle: Handle) -> None:
        """scancel the job (only if it still carries this attempt's name)."""
        self.cli.run(["scancel", f"--name={handle.key}", handle.native_id], check=False)

    def logs(self, handle: Handle, tail_bytes: int = 65536) -> str:
        return self._tail(handle, tail_bytes)

    def usage(self, handle: Handle) -> Usage:
        """Sum over the job's runs (sacct), plus the current run while it is live (squeue);
        squeue's start/end when the job has no accounting record."""
        queued = [r for r in self._squeue([handle.key]) if r.job_id == handle.native_id]
        live = [r for r in queued if not attempt_state(r.state).terminal]
        runs = _by_job(self._sacct(ids=[handle.native_id])).get(handle.native_id, [])
        if not runs and not live and queued and queued[0].start and queued[0].end:
            q = queued[0]
            runs = [AcctRow(job_id=q.job_id, name=q.name, state=q.state, exit_code=None,
                            signal=None, start=q.start, end=q.end,
                            elapsed_s=max(0.0, q.end - q.start), nodes=q.nodes, cpus=q.cpus,
                            nodelist=q.nodelist, tres={})]
        devices = int(handle.data.get("devices", 0))
        nodes = int(handle.data.get("nodes", 1))
        gres = self.site.gres_for(str(handle.data.get("accelerator", "")))
        wall = dev_s = node_s = 0.0
        for r in runs:
            if r.start is None or (live and r.state.startswith(("PENDING", "RUNNING"))):
                continue
            run_devices = _tres_devices(r, gres) or devices
            wall += r.elapsed_s
            dev_s += r.elapsed_s * run_devices
            node_s += r.elapsed_s * (r.nodes or nodes)
        now = time.time()
        if live and live[0].start is not None and live[0].state != "PENDING":
            cur = max(0.0, now - live[0].start)
            wall, dev_s, node_s = wall + cur, dev_s + cur * devices, node_s + cur * nodes
        starts = [r.start for r in runs if r.start] + ([live[0].start] if live else [])
        ends = [r.end for r in runs if r.end]
        return Usage(accelerator=str(handle.data.get("accelerator", "")), devices=devices,
                     nodes=nodes, wall_s=wall, device_seconds=dev_s, node_seconds=node_s,
                     started_at=min((s for s in starts if s), default=None),
                     ended_at=None if live or not ends else max(ends),
                     final=not live and bool(runs))

    def events(self, handle: Handle, cursor: int) -> tuple[list[dict[str, Any]], int]:
        if handle.data.get("kind") != "training" or self.site.ssh_host:
            return [], cursor
        recs, cur = read_jsonl_from(f"{handle.data['run_dir']}/events.jsonl", cursor)
        t0 = float(handle.data.get("submitted_at") or 0.0) - 1.0  # 0: unknown, keep all
        return [r for r in recs if r.get("t", 0.0) >= t0], cur

    def capacity(self) -> list[PoolCapacity]:
        """One sinfo: per pool, devices on usable nodes and the free ones. An unreachable
        cluster has nothing free (the pools' sizes from the federation, 0 free), so one down
        center never stops the scheduler's tick; the reason is logged."""
        cmd = ["sinfo", "-h", "-N", "-O", SINFO_FORMAT]
        if self.site.partition:
            cmd += ["-p", self.site.partition]
        try:
            nodes = {n.name: n for n in parse_sinfo(self.cli.run(cmd).stdout) if n.usable}
        except BackendError as exc:
            log.warning("center %s: no capacity (%s)", self.center, exc)
            return [PoolCapacity(center=self.center, accelerator=p.accelerator.name,
                                 total_devices=p.devices, free_devices=0,
                                 devices_per_node=p.devices_per_node, total_nodes=p.nodes)
                    for p in self._center.pools]
        out = []
        for pool in self._center.pools:
            g = self.site.gres_for(pool.accelerator.name)
            total = free = n_total = n_free = 0
            for n in nodes.values():
                have = gres_count(n.gres, g) if g else n.cpus_total
                idle = have - gres_count(n.gres_used, g) if g else n.cpus_idle
                if have <= 0:
                    continue
                total, free, n_total = total + have, free + max(0, idle), n_total + 1
                n_free += int(idle >= have and n.cpus_alloc == 0)
            out.append(PoolCapacity(center=self.center, accelerator=pool.accelerator.name,
                                    total_devices=total, free_devices=free,
                                    devices_per_node=pool.devices_per_node,
                                    total_nodes=n_total, free_nodes=n_free))
        return out


def _by_job(rows: list[AcctRow]) -> dict[str, list[AcctRow]]:
    """sacct rows grouped by job id, runs in start order (a requeued job has several)."""
    out: dict[str, list[AcctRow]] = {}
    for r in rows:
        out.setdefault(r.job_id, []).append(r)
    for runs in out.values():
        runs.sort(key=lambda r: (r.start or 0.0, r.end or 0.0))
    return out


def _tres_devices(row: AcctRow, gres: str) -> int:
    """Devices from AllocTRES (``gres/gpu=4``, or ``gres/gpu:h100=4``); 0 when absent."""
    if not gres or not row.tres:
        return 0
    value = row.tres.get("gres/" + gres) or row.tres.get("gres/" + gres.split(":")[0], "0")
    return int(value) if value.isdigit() else 0


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, path)


__all__ = ["SlurmBackend", "attempt_state", "check_site", "comment"]
