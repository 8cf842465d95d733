"""Closed loop: measured runs correct the planner, per center x accelerator.

Every training job the platform runs reports, beside what was predicted for it, what it
measured: step time, restart time (failure to first step after resume) and checkpoint stall.
For each (center, accelerator) the correction of a figure is the *median* of measured /
predicted over the most recent ``window`` jobs that report it: the median ignores a minority of
disturbed runs (a job on a box other tenants were loading), unlike a mean or a least-squares
fit (robust location estimate; Huber 1981, "Robust Statistics", ch. 1). It is clamped to
``[1 / max_factor, max_factor]`` so one mis-measured series cannot swing the planner without limit,
and it carries its provenance: the job ids used, their time span, their spread (median absolute
deviation of the ratios). A key with fewer than ``min_jobs`` measurements gets no correction
(factor 1, ``provenance.reason`` says why).

Pure: records in, corrections out; persistence lives in ``store/calibration_file.py``.
Consumers multiply: ``calibrated_step_s = predicted_step_s * correction.step_factor`` (tokens/s
divide by it), restart and stall figures likewise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from statistics import median

from suanwang.core.errors import ConfigError

FIGURES = ("step", "restart", "stall")
MAX_FACTOR = 1e4
"""Default clamp. Wide on purpose: the catalog's nominal ``CPU-local`` figures put the first
prediction for the local center ~1000x off (in CPU time per step), and the loop must be able to
correct that; the clamp only guards against nonsense (a run that measured nothing)."""


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    """One finished job's predicted and measured figures (seconds; 0 = not reported)."""

    job_id: str
    center: str
    accelerator: str
    at_s: float
    predicted_step_s: float
    measured_step_s: float
    predicted_restart_s: float = 0.0
    measured_restart_s: float = 0.0
    predicted_stall_s: float = 0.0
    measured_stall_s: float = 0.0
    config: str = ""

    def __post_init__(self) -> None:
        if not self.job_id or not self.center or not self.accelerator:
            raise ConfigError("job_id, center and accelerator must be non-empty",
                              field="job_id" if not self.job_id else "center")
        for name in ("predicted_step_s", "measured_step_s"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"must be > 0 (got {getattr(self, name)})", field=name)
        for fig in ("restart", "stall"):
            for side in ("predicted", "measured"):
                name = f"{side}_{fig}_s"
                if getattr(self, name) < 0:
                    raise ConfigError(f"must be >= 0 (got {getattr(self, name)})", field=name)

    def ratio(self, figure: str) -> float | None:
        """measured / predicted of ``figure``, or None when either side is missing."""
        pred = getattr(self, f"predicted_{figure}_s")
        meas = getattr(self, f"measured_{figure}_s")
        return meas / pred if pred > 0 and meas > 0 else None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class Correction:
    """Multiplicative corrections for one (center, accelerator), with provenance."""

    center: str
    accelerator: str
    step_factor: float = 1.0
    restart_factor: float = 1.0
    stall_factor: float = 1.0
    provenance: dict = field(default_factory=dict)

    def factor(self, figure: str) -> float:
        return getattr(self, f"{figure}_factor")

    def to_dict(self) -> dict:
        return asdict(self)


def _mad(xs: list[float]) -> float:
    m = median(xs)
    return median(abs(x - m) for x in xs)


def fit_key(records: list[RunRecord], *, window: int, max_factor: float,
            min_jobs: int) -> Correction:
    """The correction for one key's records (any order; the newest ``window`` per figure)."""
    recs = sorted(records, key=lambda r: (r.at_s, r.job_id))
    c, a = recs[0].center, recs[0].accelerator
    factors, prov = {}, {}
    for fig in FIGURES:
        used = [r for r in recs if r.ratio(fig) is not None][-window:]
        if len(used) < min_jobs:
            factors[fig] = 1.0
            prov[fig] = {"jobs": [r.job_id for r in used],
                         "reason": f"{len(used)} of {min_jobs} jobs needed"}
            continue
        ratios = [r.ratio(fig) for r in used]
        raw = median(ratios)
        factors[fig] = min(max_factor, max(1.0 / max_factor, raw))
        prov[fig] = {"jobs": [r.job_id for r in used], "from_s": used[0].at_s,
                     "to_s": used[-1].at_s, "median_ratio": raw, "mad": _mad(ratios),
                     "clamped": factors[fig] != raw,
                     "configs": sorted({r.config for r in used if r.config})}
    return Correction(center=c, accelerator=a, step_factor=factors["step"],
                      restart_factor=factors["restart"], stall_factor=factors["stall"],
                      provenance=prov)


def fit(records: Iterable[RunRecord], *, window: int = 10, max_factor: float = MAX_FACTOR,
        min_jobs: int = 2) -> dict[tuple[str, str], Correction]:
    """Corrections per (center, accelerator) from measured runs (module doc)."""
    if window < 1 or min_jobs < 1 or max_factor < 1:
        raise ConfigError("window and min_jobs must be >= 1 and max_factor >= 1",
                          field="window" if window < 1 else "max_factor")
    by_key: dict[tuple[str, str], list[RunRecord]] = {}
    for r in records:
        by_key.setdefault((r.center, r.accelerator), []).append(r)
    return {k: fit_key(v, window=window, max_factor=max_factor, min_jobs=min_jobs)
            for k, v in by_key.items()}


def corrected(seconds: float, corrections: dict[tuple[str, str], Correction], *, center: str,
              accelerator: str, figure: str = "step") -> float:
    """``seconds`` (a predicted step, restart or stall time) with the key's correction applied;
    unchanged for a key never measured."""
    if figure not in FIGURES:
        raise ConfigError(f"'{figure}' is not one of {list(FIGURES)}", field="figure")
    corr = corrections.get((center, accelerator))
    return seconds * corr.factor(figure) if corr else seconds


def calibrate_option(option, corrections: dict[tuple[str, str], Correction]):
    """A ``plan.placement.Option`` with its time to train, cost and energy scaled by its
    (center, accelerator)'s step correction (all three are proportional to the run's hours);
    unchanged for a key never measured."""
    corr = corrections.get((option.center, option.accelerator))
    if corr is None or corr.step_factor == 1.0:
        return option
    f = corr.step_factor
    good = replace(option.goodput, time_to_train_s=option.goodput.time_to_train_s * f)
    return replace(option, goodput=good, cost=option.cost * f, energy_kwh=option.energy_kwh * f)
