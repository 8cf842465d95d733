"""An attempt row + its job -> the :class:`~suanwang.backends.base.AttemptSpec` a backend runs.

Training on a real center gets the runtime job document (:mod:`~suanwang.control.runtime_job`)
with ``checkpoint.interval_s`` = the plan's failure-aware interval for the chosen center, and the
job-level run directory ``DATA_DIR/runs/job-ID-RUNID`` shared by all its attempts (a retry resumes
from the newest checkpoint there). Batch gets its command. Simulated centers get the policy's
predicted run time and the checkpointed progress.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from suanwang.backends.base import AttemptSpec, attempt_key
from suanwang.control.leasing import reservation_for
from suanwang.control.planning import checkpoint_interval_s
from suanwang.control.runtime_job import runtime_config
from suanwang.core.jobspec import TrainingSpec, load_job_spec
from suanwang.store.models import Job

if TYPE_CHECKING:
    from suanwang.control.finish import AttemptInfo
    from suanwang.control.reconcile import Controller


def attempt_spec(ctl: Controller, a: AttemptInfo, job: Job, row: Any) -> AttemptSpec:
    """Build the spec (raises ConfigError when a real center cannot run this job)."""
    spec = load_job_spec(job.spec)
    d = a.detail
    run_id = (job.plan or {}).get("run_id", "")
    interval_s = checkpoint_interval_s(d)
    real = ctl.centers.effective[a.center] != "sim"
    cfg = None
    command: str | tuple[str, ...] = ""
    if isinstance(spec, TrainingSpec):
        if real:
            cfg = runtime_config(spec, devices=row.devices, checkpoint_interval_s=interval_s)
    else:
        command = spec.command if isinstance(spec.command, str) else tuple(spec.command)
    return AttemptSpec(
        key=d.get("key") or attempt_key(job.id, a.n), job_id=job.id, n=a.n, kind=job.kind,
        center=a.center,
        accelerator=row.accelerator, devices=row.devices, nodes=max(1, int(row.nodes or 1)),
        tenant=str(job.tenant_id),
        name=job.name, runtime_config=cfg, command=command,
        run_dir=str(ctl.data_dir / "runs" / f"job-{job.id}-{run_id}"),
        walltime_s=float(job.spec.get("walltime_s", 0.0)),
        predicted_run_s=float(d.get("predicted_run_s", 0.0)), progress=float(d.get("progress",
                                                                                   0.0)),
        restarts=a.n, checkpoint_interval_s=interval_s,
        env={"SUANWANG_JOB_ID": str(job.id), "SUANWANG_ATTEMPT": str(a.n)},
        reservation=reservation_for(ctl, job.tenant_id, a.center, row.accelerator,
                                    row.devices))
