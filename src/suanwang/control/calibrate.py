"""Feeding the closed loop (``plan/calibration.py``): a finished training attempt's measured step
time, beside what the plan predicted for its pool, becomes a calibration record.

The plan stored at admission carries ``step_time_s`` per pool (``control/planning.py``: the
planner's step time for the job at that pool). The measured step time is the median of the
attempt's ``job_metrics`` step times after ``WARMUP_STEPS`` (first steps pay start-up costs).
Records go to ``<data_dir>/calibration.json`` (``store/calibration_file.py``; the controller's
data directory, ``$SUANWANG_HOME`` by default, which ``suanwang calibration show`` reads).
Admission then plans new jobs with the corrections applied (:func:`calibrate_plan`): pool
times to train, the quotes computed from them, and the scheduler's estimate.
"""

from __future__ import annotations

import logging
from pathlib import Path
from statistics import median
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from suanwang.core.errors import ConfigError
from suanwang.plan.calibration import Correction, RunRecord
from suanwang.store.calibration_file import CalibrationFile
from suanwang.store.models import Attempt, Job, JobMetric

WARMUP_STEPS = 3
log = logging.getLogger(__name__)


def calibration_file(data_dir: Path) -> CalibrationFile:
    return CalibrationFile(Path(data_dir) / "calibration.json")


def measured_step_s(metrics: list[JobMetric]) -> float | None:
    """Median step time (s) after the warm-up steps; None with fewer than 3 such steps."""
    times = [m.detail.get("step_time_s") for m in metrics
             if m.step > WARMUP_STEPS and (m.detail or {}).get("step_time_s")]
    return median(times) if len(times) >= 3 else None


def record_attempt(s: Session, job: Job, attempt_id: int, *, store: CalibrationFile,
                   now: float) -> RunRecord | None:
    """Record one succeeded training attempt; None (nothing recorded) when the plan has no
    predicted step time for its pool or the attempt reported too few steps."""
    attempt = s.get(Attempt, attempt_id)
    if attempt is None or not attempt.accelerator:
        return None
    pool = ((job.plan or {}).get("pools") or {}).get(f"{attempt.center}/{attempt.accelerator}")
    predicted = (pool or {}).get("step_time_s")
    rows = list(s.scalars(select(JobMetric).where(JobMetric.attempt_id == attempt_id)))
    measured = measured_step_s(rows)
    if not predicted or measured is None:
        return None
    record = RunRecord(job_id=f"job{job.id}.attempt{attempt.n}", center=attempt.center,
                       accelerator=attempt.accelerator, at_s=now,
                       predicted_step_s=float(predicted), measured_step_s=measured,
                       config=str((job.spec or {}).get("name", "")))
    store.add(record)
    return record


def calibrate_plan(plan: dict[str, Any], corrections: dict[tuple[str, str], Correction]
                   ) -> dict[str, Any]:
    """``plan`` with each pool's time to train and cost scaled by its step correction, and the
    scheduler's ``estimate_s`` by the fastest pool's (the first, as ``plan_training`` orders
    them), so admission quotes and scheduling use measured speeds. Pools never measured, and
    batch plans (their time is the walltime limit), are unchanged; a changed pool records its
    ``step_factor``."""
    if plan.get("source") != "planner" or not corrections:
        return plan
    pools, factors = {}, []
    for key, p in plan["pools"].items():
        center, acc = key.split("/", 1)
        corr = corrections.get((center, acc))
        f = corr.step_factor if corr else 1.0
        factors.append(f)
        pools[key] = p if f == 1.0 else {**p, "time_s": p["time_s"] * f,
                                         "cost": p["cost"] * f, "step_factor": f}
    if all(f == 1.0 for f in factors):
        return plan
    return {**plan, "pools": pools, "estimate_s": plan["estimate_s"] * factors[0]}


def corrections_for(data_dir: Path) -> dict[tuple[str, str], Correction]:
    """The data directory's corrections; none (logged) when the file cannot be read, so a
    damaged calibration file never stops admission."""
    try:
        return calibration_file(data_dir).corrections()
    except ConfigError as exc:
        log.warning("calibration ignored: %s", exc)
        return {}
