"""Fit an efficiency profile's few parameters to measured runs (how efficiency.yaml was made).

Nelder-Mead on log-parameters then coordinate polishing, minimising the mean squared log error
of step time over the given rows of ONE accelerator. Pure and deterministic; used by
``suanwang validate --holdout`` to show generalisation (fit on one subset, report the rest).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from suanwang.core.efficiency import EfficiencyProfile
from suanwang.core.hardware import Accelerator
from suanwang.perf.validate import RunRow, ValidationReport, stated_attention, validate

FITTED = {  # field -> (low, high)
    "gemm_max_fraction": (0.3, 1.0),
    "attention_max_fraction": (0.25, 0.75),  # FlashAttention kernels: ring/CP and backward
    # ~0.3 of peak, FA2/FA3 forward up to ~0.75 (Dao 2023 Fig. 4; Shah et al. 2024 Fig. 5)
    "elementwise_bytes_per_token_hidden": (16.0, 200.0),  # >= 2 norms + 2 residual adds
    "score_bytes_per_element": (1e-3, 100.0),
    "tp_overlap_fraction": (0.05, 1.0),
}


def loss(rows: list[RunRow], accelerators: dict[str, Accelerator],
         profile_for: Callable[[str], EfficiencyProfile]) -> float:
    """Mean squared log(predicted / measured) step time over the rows that can be predicted
    (least squares in log space: relative errors, large misses weigh more)."""
    rep = validate(rows, accelerators, profile_for)
    errs = [np.log(r.predicted_step_time_s / r.measured_step_time_s) ** 2 for r in rep.rows]
    return float(np.mean(errs)) if errs else float("inf")


def fit(rows: list[RunRow], accelerators: dict[str, Accelerator], start: EfficiencyProfile,
        *, fields: tuple[str, ...] = tuple(FITTED), iterations: int = 250) -> EfficiencyProfile:
    """Best profile for ``rows`` (all on one accelerator) starting from ``start``: Nelder-Mead
    on log-parameters (bounded by ``FITTED``), then coordinate polishing."""

    def make(x: np.ndarray) -> EfficiencyProfile:
        vals = {f: float(np.clip(np.exp(v), *FITTED[f])) for f, v in zip(fields, x, strict=True)}
        return replace(start, **vals)

    def objective(x: np.ndarray) -> float:
        prof = make(x)
        return loss(rows, accelerators, lambda _n: prof)

    x0 = np.log([max(getattr(start, f), 1e-3) for f in fields])
    best_x = _nelder_mead(objective, x0, iterations)
    return _polish(rows, accelerators, make(best_x), fields)


def _nelder_mead(f, x0: np.ndarray, iterations: int) -> np.ndarray:
    """Plain Nelder-Mead (Lagarias et al. 1998 coefficients), deterministic simplex."""
    n = len(x0)
    simplex = [x0] + [x0 + np.eye(n)[i] * 0.4 for i in range(n)]
    values = [f(x) for x in simplex]
    for _ in range(iterations):
        order = np.argsort(values)
        simplex = [simplex[i] for i in order]
        values = [values[i] for i in order]
        centroid = np.mean(simplex[:-1], axis=0)
        xr = centroid + (centroid - simplex[-1])
        fr = f(xr)
        if fr < values[0]:
            xe = centroid + 2.0 * (centroid - simplex[-1])
            fe = f(xe)
            simplex[-1], values[-1] = (xe, fe) if fe < fr else (xr, fr)
        elif fr < values[-2]:
            simplex[-1], values[-1] = xr, fr
        else:
            xc = centroid + 0.5 * (simplex[-1] - centroid)
            fc = f(xc)
            if fc < values[-1]:
                simplex[-1], values[-1] = xc, fc
            else:
                simplex = [simplex[0]] + [simplex[0] + 0.5 * (x - simplex[0])
                                          for x in simplex[1:]]
                values = [values[0]] + [f(x) for x in simplex[1:]]
        if max(values) - min(values) < 1e-7:
            break
    return simplex[int(np.argmin(values))]


def _polish(rows: list[RunRow], accelerators: dict[str, Accelerator], best: EfficiencyProfile,
            fields: tuple[str, ...]) -> EfficiencyProfile:
    """Coordinate descent on multiplicative steps (1.07, 1.02) from ``best``."""
    best_loss = loss(rows, accelerators, lambda _n: best)
    for step in (1.07, 1.02):
        improved = True
        while improved:
            improved = False
            for name in fields:
                for factor in (step, 1.0 / step):
                    lo, hi = FITTED[name]
                    value = getattr(best, name)
                    new = float(np.clip(value * factor if value > 0 else max(lo, 1e-3), lo, hi))
                    trial = replace(best, **{name: new})
                    trial_loss = loss(rows, accelerators, lambda _n, t=trial: t)
                    if trial_loss < best_loss - 1e-6:
                        best, best_loss, improved = trial, trial_loss, True
    return best


NEUTRAL = {"gemm_max_fraction": 0.62, "elementwise_bytes_per_token_hidden": 40.0,
           "score_bytes_per_element": 2.0, "tp_overlap_fraction": 0.5,
           "attention_max_fraction": 0.5}
GEMM_BLOCK_LATENCY_S = 25e-6
"""Fixed, not fitted: the time one layer's matmul block loses to launches, tails and small tiles
(4 GEMMs x ~6 us). ``gemm_half_flops`` = this x the accelerator's bf16 peak (A100: 7.8 GFLOP,
H100: 24.7 GFLOP). The published runs cannot identify the half-speed size on their own (on A100,
fits from different starts reached 6.8 and 17.9 GFLOP at the same loss), so it is set from this
physical constant instead of fitted."""


def _fit_fields(prof: EfficiencyProfile, rows: list[RunRow] | None = None) -> tuple[str, ...]:
    """The fields fitted for a stack: the GEMM ceiling and element-wise traffic; score traffic
    only where some row materialises the scores, the FlashAttention ceiling only where some row
    uses it, the TP overlap share only where TP is overlapped (and some row has tp > 1)."""
    kinds = {stated_attention(r)[0] for r in rows} if rows is not None else {
        "materialized" if prof.score_bytes_per_element > 0 else "flash"}
    fields = ["gemm_max_fraction", "elementwise_bytes_per_token_hidden"]
    if "materialized" in kinds:
        fields.append("score_bytes_per_element")
    if "flash" in kinds:
        fields.append("attention_max_fraction")
    if prof.tp_comm_overlap and (rows is None or any(r.get("tp") not in ("", "1")
                                                     for r in rows)):
        fields.append("tp_overlap_fraction")
    return tuple(fields)


def start_profile(base: EfficiencyProfile, acc: Accelerator,
                  rows: list[RunRow] | None = None) -> EfficiencyProfile:
    """The deterministic starting point of a fit: ``NEUTRAL`` values for the fitted fields, the
    fixed ``gemm_half_flops`` of ``GEMM_BLOCK_LATENCY_S``, no per-micro-batch overhead."""
    fields = _fit_fields(base, rows)
    return replace(base, **{k: v for k, v in NEUTRAL.items() if k in fields},
                   gemm_half_flops=GEMM_BLOCK_LATENCY_S * acc.peak("bf16"),
                   micro_batch_overhead_s=0.0)


def fit_all(rows: list[RunRow], accelerators: dict[str, Accelerator],
            profile_for: Callable[[str], EfficiencyProfile], *,
            iterations: int = 250) -> dict[str, EfficiencyProfile]:
    """Refit every accelerator's profile on ``rows`` from :func:`start_profile` (deterministic:
    ``fit_all`` on all rows of published_runs.csv, rounded to 4 significant digits, gives the
    numbers in ``catalog/data/efficiency.yaml``)."""
    out = {}
    for name in sorted({r.get("accelerator") for r in rows if r.get("accelerator")}):
        if name not in accelerators:
            continue
        mine = [r for r in rows if r.get("accelerator") == name]
        base = profile_for(name)
        start = start_profile(base, accelerators[name], mine)
        out[name] = fit(mine, accelerators, start, fields=_fit_fields(base, mine),
                        iterations=iterations)
    return out


def holdout_report(rows: list[RunRow], accelerators: dict[str, Accelerator],
                   profile_for: Callable[[str], EfficiencyProfile]) -> dict[str, dict]:
    """Two-fold hold-out: rows alternate (in file order, per accelerator) between folds; each
    fold's profiles are fitted from neutral values on the other fold and scored on this one."""
    folds: list[list[RunRow]] = [[], []]
    seen: dict[str, int] = {}
    for r in rows:
        key = r.get("accelerator")
        folds[seen.get(key, 0) % 2].append(r)
        seen[key] = seen.get(key, 0) + 1
    held_rows = []
    out: dict[str, dict] = {}
    for i in (0, 1):
        fitted = fit_all(folds[1 - i], accelerators, profile_for)
        rep = validate(folds[i], accelerators, lambda n, f=fitted: f.get(n) or profile_for(n))
        out[f"fold{i}_held_out"] = rep.to_dict()
        held_rows.extend(rep.rows)
    out["all_held_out"] = ValidationReport(rows=tuple(held_rows), skipped=()).to_dict()
    out["leave_one_source_out"] = _leave_one_source_out(rows, accelerators, profile_for)
    return out


def _source(row: RunRow) -> str:
    """The publication (software stack) a row comes from: the first word of its ``source`` cell
    (the author, or the ``org/repo`` of the stack), so that sources from one stack count as one
    publication — BLOOM's README log and its prequel sweep ("BigScience ..."), NeMo's summary and
    long-context tables ("NVIDIA/NeMo ...")."""
    words = (row.get("source") or row.id).split()
    return words[0].rstrip(",;:") if words else row.id


def _leave_one_source_out(rows: list[RunRow], accelerators: dict[str, Accelerator],
                          profile_for: Callable[[str], EfficiencyProfile]) -> dict:
    """Each publication's rows predicted by profiles fitted on the OTHER publications only
    (an accelerator left with no other rows keeps its catalog profile; flagged as such)."""
    held = []
    per_source = {}
    for src in sorted({_source(r) for r in rows}):
        test = [r for r in rows if _source(r) == src]
        train = [r for r in rows if _source(r) != src]
        fitted = fit_all(train, accelerators, profile_for)
        rep = validate(test, accelerators, lambda n, f=fitted: f.get(n) or profile_for(n))
        per_source[src] = {"rows": len(rep.rows),
                           "median_abs_error_pct": rep.median_abs_error_pct(),
                           "refit_accelerators": sorted(fitted)}
        held.extend(rep.rows)
    rep = ValidationReport(rows=tuple(held), skipped=())
    return {"per_source": per_source, "median_abs_error_pct": rep.median_abs_error_pct(),
            "p90_abs_error_pct": rep.p90_abs_error_pct(), "rows": [r.to_dict() for r in held]}
