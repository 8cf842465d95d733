"""Validate the model on published runs: CSV rows -> predicted vs measured step time.

Pure: takes the CSV text (the CLI reads the file). Columns as ``../shared/data/published_runs.csv``
(see its README). A measured figure becomes a step time through its ``flop_convention``:

    megatron96, bloom_hw   96·B·s·L·h²(1 + s/6h + V/16Lh) = hardware FLOPs with full recompute
    korthikanti72, nvidia_full_attn   72·B·s·L·h²(1 + s/6h + V/12Lh), generalised to GQA/SwiGLU as
                           Megatron-Core does = our model FLOPs (full-square attention)
    mosaic                 3·(2·N·s + 4·L·s²·h) per sequence (llm-foundry ``mfu``)

Unknown cells are resolved by ONE rule for every row (never per-row): kv_heads -> heads,
ffn_hidden -> 4h, gpus_per_node -> 8, inter_node_gbps_per_gpu -> the accelerator's NIC,
vocab -> solved from params_b with one (tied) embedding matrix; the tuning knobs micro_batch,
vp, recompute and zero_stage, when empty or "unknown" -> the fastest setting that fits in memory
among all their legal values (published runs are tuned by their authors); sequence_parallel, a
framework feature rather than a knob (absent from DeepSpeed-era stacks), -> false. Rows whose
accelerator is empty or unknown, or with no usable measurement, are skipped with the reason.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from suanwang.core.efficiency import EfficiencyProfile
from suanwang.core.errors import ConfigError
from suanwang.core.hardware import Accelerator, Cluster
from suanwang.core.model import ModelSpec
from suanwang.core.parallelism import Parallelism
from suanwang.perf import flops as fl
from suanwang.perf.candidates import FIELDS, Candidates
from suanwang.perf.flops import RECOMPUTE_CODES
from suanwang.perf.memory import memory
from suanwang.perf.predict import Prediction, check_config, predict
from suanwang.perf.step import hardware, step_time

REQUIRED = ("id", "layers", "hidden", "heads", "seq_len", "global_batch_seqs", "accelerator",
            "num_gpus", "tp", "pp", "dp")
UNKNOWN = ("", "unknown")


@dataclass(frozen=True, kw_only=True)
class RunRow:
    """One CSV row, cells as strings (empty = not given)."""

    cells: dict[str, str]

    @property
    def id(self) -> str:
        return self.cells["id"]

    def get(self, key: str) -> str:
        return (self.cells.get(key) or "").strip()


@dataclass(frozen=True, kw_only=True)
class RowResult:
    id: str
    predicted_step_time_s: float
    measured_step_time_s: float
    error_pct: float
    prediction: Prediction
    assumptions: tuple[str, ...]

    def to_dict(self) -> dict:
        p = self.prediction.parallelism
        return {"id": self.id, "predicted_step_time_s": self.predicted_step_time_s,
                "measured_step_time_s": self.measured_step_time_s, "error_pct": self.error_pct,
                "assumed": {"micro_batch": p.micro_batch, "vp": p.vp, "recompute": p.recompute,
                            "sequence_parallel": p.sequence_parallel,
                            "zero_stage": p.zero_stage},
                "assumptions": list(self.assumptions), "mfu": self.prediction.mfu}


@dataclass(frozen=True, kw_only=True)
class ValidationReport:
    rows: tuple[RowResult, ...]
    skipped: tuple[tuple[str, str], ...]

    @property
    def abs_errors(self) -> np.ndarray:
        return np.array([abs(r.error_pct) for r in self.rows])

    def median_abs_error_pct(self) -> float:
        return float(np.median(self.abs_errors)) if self.rows else float("nan")

    def p90_abs_error_pct(self) -> float:
        return float(np.percentile(self.abs_errors, 90)) if self.rows else float("nan")

    def to_dict(self) -> dict:
        return {"rows": [r.to_dict() for r in self.rows],
                "median_abs_error_pct": self.median_abs_error_pct(),
                "p90_abs_error_pct": self.p90_abs_error_pct(),
                "skipped": [{"id": i, "reason": why} for i, why in self.skipped]}


def parse_runs(text: str, *, file: str = "runs.csv") -> list[RunRow]:
    """CSV text -> rows; a missing required column is a ConfigError naming it."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise ConfigError(f"missing column(s) {', '.join(missing)}", file=file)
    return [RunRow(cells=dict(r)) for r in reader if (r.get("id") or "").strip()]


def row_model(row: RunRow) -> tuple[ModelSpec, list[str]]:
    """The row's model shape, with the defaults the module docstring lists."""
    notes: list[str] = []
    h, layers, heads = int(row.get("hidden")), int(row.get("layers")), int(row.get("heads"))
    kv = int(row.get("kv_heads") or heads)
    ffn = int(row.get("ffn_hidden") or 4 * h)
    swiglu = ffn != 4 * h
    if row.get("vocab"):
        vocab = int(row.get("vocab"))
    else:
        probe = ModelSpec(name="probe", layers=layers, hidden=h, heads=heads, kv_heads=kv,
                          ffn_hidden=ffn, vocab=1, ffn_kind="swiglu" if swiglu else "gelu")
        rest = float(row.get("params_b")) * 1e9 - layers * probe.params_per_layer
        vocab = max(int(rest / h), 1)
        notes.append(f"vocab {vocab} solved from params_b")
    return ModelSpec(name=row.get("model") or row.id, layers=layers, hidden=h, heads=heads,
                     kv_heads=kv, ffn_hidden=ffn, vocab=vocab, seq_len=int(row.get("seq_len")),
                     ffn_kind="swiglu" if swiglu else "gelu"), notes


def measured_step_time_s(row: RunRow, model: ModelSpec, peak_flops_per_s: float) -> float | None:
    """The row's measured seconds per step, converted from TFLOP/s or MFU if needed."""
    if row.get("measured_step_time_s"):
        return float(row.get("measured_step_time_s"))
    tokens = int(row.get("global_batch_seqs")) * model.seq_len
    per_token = convention_flops_per_token(row.get("flop_convention"), model)
    if per_token is None:
        return None
    if row.get("measured_tflops_per_gpu"):
        achieved = float(row.get("measured_tflops_per_gpu")) * 1e12
    elif row.get("measured_mfu"):
        achieved = float(row.get("measured_mfu")) * peak_flops_per_s
    else:
        return None
    return per_token * tokens / (achieved * int(row.get("num_gpus")))


def convention_flops_per_token(convention: str, model: ModelSpec) -> float | None:
    """FLOPs per token a source's convention counts (None: unknown convention)."""
    s = model.seq_len
    if convention in ("megatron96", "bloom_hw"):
        return fl.hardware_flops_per_token(model, s, "full")
    if convention in ("korthikanti72", "nvidia_full_attn"):
        return fl.model_flops_per_token(model, s)
    if convention == "mosaic":
        return 6.0 * model.params + 12.0 * model.layers * s * model.hidden
    return None


OPT_IN = {"sequence_parallel": [False]}  # a framework feature, not a tuning knob: off unless stated


def _choices(row: RunRow, key: str, legal: list) -> tuple[list, bool]:
    raw = row.get(key).lower()
    if raw in UNKNOWN:
        return OPT_IN.get(key, legal), True
    if key == "sequence_parallel":
        return [raw == "true"], False
    return [raw if key == "recompute" else int(raw)], False


def _legal(row: RunRow, model: ModelSpec) -> dict[str, list]:
    b_per_dp = int(row.get("global_batch_seqs")) // int(row.get("dp"))
    pp = int(row.get("pp"))
    per_stage = model.layers // pp if model.layers % pp == 0 else 1
    return {"micro_batch": [d for d in range(1, b_per_dp + 1) if b_per_dp % d == 0] or [1],
            "vp": [v for v in range(1, per_stage + 1) if per_stage % v == 0] if pp > 1 else [1],
            "recompute": ["none", "selective", "full"], "sequence_parallel": [False, True],
            "zero_stage": [0, 1, 2, 3]}


def validate_row(row: RunRow, accelerators: dict[str, Accelerator],
                 profile_for: Callable[[str], EfficiencyProfile]) -> RowResult | str:
    """Predict one row; a string return is the reason it was skipped."""
    acc_name = row.get("accelerator")
    if not acc_name:
        return "accelerator cell is empty: the model will not guess the hardware"
    if acc_name not in accelerators:
        return f"accelerator '{acc_name}' is not in the catalog"
    acc = accelerators[acc_name]
    model, notes = row_model(row)
    precision = row.get("precision") or "bf16"
    measured = measured_step_time_s(row, model, acc.peak(precision))
    if measured is None:
        return "no measured step time and no usable FLOP convention to derive one"
    per_node = int(row.get("gpus_per_node") or 8)
    gbps = float(row.get("inter_node_gbps_per_gpu")) if row.get("inter_node_gbps_per_gpu") \
        else None
    n = int(row.get("num_gpus"))
    cluster = Cluster.of(acc, n, per_node, gbps)
    best, chosen = _best_prediction(row, model, cluster, precision, profile_for(acc_name))
    if best is None:
        return "no legal setting of its unknown cells fits in memory"
    err = 100.0 * (best.step_time_s - measured) / measured
    return RowResult(id=row.id, predicted_step_time_s=best.step_time_s,
                     measured_step_time_s=measured, error_pct=err, prediction=best,
                     assumptions=tuple(notes + chosen))


def _best_prediction(row: RunRow, model: ModelSpec, cluster: Cluster, precision: str,
                     profile: EfficiencyProfile) -> tuple[Prediction | None, list[str]]:
    """Evaluate every legal setting of the unknown cells at once; predict the fastest that fits."""
    legal = _legal(row, model)
    keys = list(legal)
    options, unknown = zip(*[_choices(row, k, legal[k]) for k in keys], strict=True)
    base = {k: int(row.get(k) or 1) for k in ("tp", "pp", "dp", "cp")}
    batch = int(row.get("global_batch_seqs"))
    pars = []
    for combo in itertools.product(*options):
        values = dict(zip(keys, combo, strict=True))
        par = Parallelism(**base, **values)
        try:
            check_config(model, cluster.num_devices, par, seq_len=model.seq_len,
                         global_batch_seqs=batch)
        except ConfigError:
            continue
        pars.append(par)
    if not pars:
        return None, []
    c = Candidates(**{f: np.array([getattr(p, f) for p in pars]) for f in FIELDS[:7]},
                   recompute=np.array([RECOMPUTE_CODES[p.recompute] for p in pars]),
                   sequence_parallel=np.array([p.sequence_parallel for p in pars]))
    hw = hardware(cluster, profile, precision)
    st = step_time(model, model.seq_len, batch, c, hw)
    mem = memory(model, model.seq_len, c, st.num_micro, cluster.accelerator.hbm_bytes,
                 scores_stored=profile.score_bytes_per_element > 0)
    times = np.where(mem.fits, st.step_time_s, np.inf)
    notes = []
    if not np.isfinite(times).any():  # it ran, so our memory model is too pessimistic here
        times = st.step_time_s
        notes.append("no setting fits by our memory model; fastest used")
    best = pars[int(np.argmin(times))]
    pred = predict(model, cluster, best, global_batch_seqs=batch, precision=precision,
                   profile=profile)
    chosen = [f"{k} unknown -> {getattr(best, k)}"
              for k, u in zip(keys, unknown, strict=True) if u]
    return pred, chosen + notes


def validate(rows: list[RunRow], accelerators: dict[str, Accelerator],
             profile_for: Callable[[str], EfficiencyProfile]) -> ValidationReport:
    """Predict every row; see the module docstring for the rules."""
    results: list[RowResult] = []
    skipped: list[tuple[str, str]] = []
    for row in rows:
        out = validate_row(row, accelerators, profile_for)
        if isinstance(out, str):
            skipped.append((row.id, out))
        else:
            results.append(out)
    return ValidationReport(rows=tuple(results), skipped=tuple(skipped))
