"""Validate the model on published runs: CSV rows -> predicted vs measured step time.

Pure: takes the CSV text (the CLI reads the file). Columns as ``../shared/data/published_runs.csv``
(see its README). A measured figure becomes a step time through its ``flop_convention``:

    megatron96, bloom_hw   96·B·s·L·h²(1 + s/6h + V/16Lh) = hardware FLOPs with full recompute
    korthikanti72          72·B·s·L·h²(1 + s/6h + V/12Lh), i.e. Megatron-Core's general form
                           12·B·s·L·h²(1 + m·f/h + G/a + s/h + V/2Lh) for GPT = our model FLOPs
    nvidia_full_attn       that general form, whose attention part 12·L·h²·(1 + G/a + s/h) per
                           token counts the full non-causal s x s product, as our model FLOPs do
    mosaic                 3·(2·N·s + 4·L·s²·h) per sequence (llm-foundry ``mfu``), N = the
                           source's parameter count (``params_b``)

Unknown cells (empty or "unknown") are resolved by ONE rule for every row, never per row:
kv_heads -> heads, ffn_hidden -> 4h, gpus_per_node -> 8, inter_node_gbps_per_gpu -> the
accelerator's NIC, tied_embeddings -> true (the default of Megatron-LM, Megatron-DeepSpeed and
llm-foundry MPT, the stacks of the file, and the convention of their parameter counts), vocab ->
solved from params_b with that one embedding matrix. Opt-in framework features are off unless the
row states them: sequence_parallel -> false, vp -> 1 (interleaving needs Megatron's
``--num-layers-per-virtual-pipeline-stage``; DeepSpeed's pipeline engine has none). The tuning
knobs micro_batch, recompute and zero_stage -> the fastest setting that fits in memory among the
planner's own grid (``perf.candidates``: the settings ``suanwang plan`` would consider), since
published runs were tuned by their authors. A row that cannot be predicted (empty or unknown
accelerator, malformed or impossible cells, a precision its accelerator lacks, no usable
measurement) is skipped with the precise reason; it never stops the other rows.

Stack facts (``perf.stack``) come from optional columns ``attention`` (flash | materialized),
``cross_entropy`` (fused | fp32 | chunked), ``recompute_layers``, ``shard_size`` (HSDP), ``ep``,
and model columns ``tied_embeddings``, ``head_size``, ``experts``, ``top_k``,
``expert_ffn_hidden``, ``ffn_kind``. An unknown cell is resolved by ONE rule from what the row's
own provenance states (:func:`stated_stack`): launch flags quoted in ``notes`` (``flags: ...``:
FlashAttention iff ``--use-flash-attn``), else a fused-attention kernel named in ``notes``
(FlashAttention, flash-attn, FA2/FA3, SDPA) -> flash, else a source dated 2022 or earlier ->
materialized (no large-scale stack shipped FlashAttention before 2023), else the default (flash).
``notes`` saying "untied embeddings" / "tied embeddings" set the tie (else tied, as above); "HSDP
(shard within node" sets ``shard_size`` to the node's GPUs; "kv-channels N" (Megatron's flag) sets
``head_size``; ``sliding_window`` comes from its cell, else ``--sliding-window N`` in ``notes``,
else the catalog preset of the same ``model`` name (an architecture fact from the model's paper),
else none. A DeepSpeed engine named in ``notes`` with no Flash kernel named -> materialized
attention. Quoted launch flags also say whether TP communication overlaps the matmuls
(``--use-mc2``, ``--tp-comm-overlap``: :func:`stated_tp_overlap`; without quoted flags, the
profile's default). Unknown ``sequence_parallel`` is resolved JOINTLY with micro_batch, recompute
and zero_stage (the fastest combination that fits), not one field at a time — but only where the
stack has Megatron SP (not before 2022, not on a DeepSpeed engine unless ``--sequence-parallel`` is
quoted: :func:`sequence_parallel_available`).

A row whose stated setting does not fit by our memory model although its source reports that it
trained: the memory knobs no quoted launch flag settles are read as lower bounds (ZeRO 0 may be
the distributed optimizer, recompute none may be full recompute of N layers per stage), and the
fastest setting that then fits is used (``_memory_fallback``); only if none fits is the fastest
stated setting used, and the row says so.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from suanwang.catalog.models import load_models
from suanwang.core.efficiency import EfficiencyProfile
from suanwang.core.errors import ConfigError
from suanwang.core.hardware import Accelerator, Cluster
from suanwang.core.model import ModelSpec
from suanwang.core.parallelism import RECOMPUTE_MODES, Parallelism
from suanwang.perf import flops as fl
from suanwang.perf.candidates import (
    MICRO_BATCHES,
    RECOMPUTE,
    RECOMPUTE_NAMES,
    VIRTUAL_STAGES,
    ZERO_STAGES,
    Candidates,
)
from suanwang.perf.memory import memory
from suanwang.perf.predict import Prediction, check_config, predict
from suanwang.perf.stack import (
    ATTENTION_KINDS,
    CROSS_ENTROPY_BYTES,
    DEEPSPEED_PREFETCH_PARAMS,
    Stack,
)
from suanwang.perf.step import TRAINING_PRECISIONS, hardware, step_time

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


def _int(row: RunRow, key: str, default: int | None = None, *, minimum: int = 1) -> int:
    """The integer cell ``key``; ``default`` when unknown (ConfigError naming the column when
    there is no default, the cell is not an integer, or it is below ``minimum``)."""
    raw = row.get(key)
    if raw.lower() in UNKNOWN:
        if default is None:
            raise ConfigError("is empty or unknown and has no default", field=key)
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{raw!r} is not an integer", field=key) from None
    if value < minimum:
        raise ConfigError(f"must be >= {minimum} (got {value})", field=key)
    return value


def _positive(row: RunRow, key: str) -> float | None:
    """The positive number in cell ``key``; None when empty (ConfigError if not > 0)."""
    raw = row.get(key)
    if raw.lower() in UNKNOWN:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{raw!r} is not a number", field=key) from None
    if not value > 0:
        raise ConfigError(f"must be > 0 (got {raw})", field=key)
    return value


FLASH_WORDS = re.compile(r"flash[ -]?att|flashattention|\bfa[23]\b|\bsdpa\b|fused attention",
                         re.IGNORECASE)
YEAR = re.compile(r"\b(20[12]\d)\b")


def _stated(row: RunRow, key: str, choices: tuple[str, ...]) -> str | None:
    raw = row.get(key).lower()
    if raw in UNKNOWN:
        return None
    if raw not in choices:
        raise ConfigError(f"must be one of {', '.join(choices)} or unknown (got {raw!r})",
                          field=key)
    return raw


def stated_attention(row: RunRow) -> tuple[str, str | None]:
    """(attention kind, why — None when the cell states it). Rule in the module docstring."""
    cell = _stated(row, "attention", ATTENTION_KINDS)
    if cell:
        return cell, None
    notes = row.get("notes")
    if "flags:" in notes:
        flags = notes.split("flags:", 1)[1]
        kind = "flash" if "--use-flash-attn" in flags else "materialized"
        return kind, f"attention {kind} (launch flags in notes)"
    if FLASH_WORDS.search(notes):
        return "flash", "attention flash (kernel named in notes)"
    years = [int(y) for y in YEAR.findall(row.get("source"))]
    if years and max(years) <= 2022:
        return "materialized", "attention materialized (source dated before 2023)"
    if DEEPSPEED_WORDS.search(notes):
        return "materialized", "attention materialized (DeepSpeed stack, no Flash kernel named)"
    return "flash", "attention flash (default)"


DEEPSPEED_WORDS = re.compile(r"deepspeed|bf16optimizer", re.IGNORECASE)
TP_OVERLAP_FLAGS = ("--use-mc2", "--tp-comm-overlap")


def stated_tp_overlap(row: RunRow) -> tuple[bool | None, str | None]:
    """Whether the row's launch flags overlap tensor-parallel communication with the matmuls:
    MindSpeed's ``--use-mc2`` (Ascend MC², all-gather/reduce-scatter fused into the matmul) or
    Megatron's ``--tp-comm-overlap`` (Transformer Engine userbuffers). Only when ``notes`` quote
    the launch flags (``flags: ...``); otherwise None = the profile's stack default."""
    notes = row.get("notes")
    if "flags:" not in notes:
        return None, None
    on = any(f in notes.split("flags:", 1)[1] for f in TP_OVERLAP_FLAGS)
    return on, f"TP comm overlap {'on' if on else 'off'} (launch flags in notes)"


def sequence_parallel_available(row: RunRow) -> tuple[bool, str | None]:
    """Whether the row's stack offers Megatron sequence parallelism (Korthikanti et al. 2022),
    and why not. Not available: a source dated 2021 or earlier (before the paper), or a
    DeepSpeed engine named in ``notes`` (Megatron-DeepSpeed's pipeline engine and DeepSpeed's
    ZeRO engine have no Megatron SP; BigScience's 2022 fork ran without it) unless the notes
    quote ``--sequence-parallel``. An unknown ``sequence_parallel`` cell is then off."""
    notes = row.get("notes")
    if "--sequence-parallel" in notes:
        return True, None
    years = [int(y) for y in YEAR.findall(row.get("source"))]
    if years and max(years) <= 2021:
        return False, "sequence_parallel unknown -> False (source dated before 2022)"
    if DEEPSPEED_WORDS.search(notes):
        return False, "sequence_parallel unknown -> False (DeepSpeed stack: no Megatron SP)"
    return True, None


def row_stack(row: RunRow, per_node: int) -> tuple[Stack, list[str]]:
    """The row's stack (``perf.stack.Stack``) and a note for every cell resolved by rule."""
    attention, why = stated_attention(row)
    notes = [why] if why else []
    ce = _stated(row, "cross_entropy", tuple(CROSS_ENTROPY_BYTES)) or "fused"
    shard = _int(row, "shard_size", 0, minimum=0)
    if not shard and "hsdp (shard within node" in row.get("notes").lower():
        shard = per_node
        notes.append(f"shard_size {per_node} (HSDP stated in notes)")
    prefetch = 0
    if DEEPSPEED_WORDS.search(row.get("notes")) and row.get("zero_stage") == "3":
        prefetch = DEEPSPEED_PREFETCH_PARAMS
        notes.append(f"ZeRO-3 prefetch {prefetch:.0e} parameters (DeepSpeed's default bucket)")
    return Stack(attention=attention, cross_entropy=ce, shard_size=shard,
                 recompute_layers=_int(row, "recompute_layers", 0, minimum=0),
                 ep=_int(row, "ep", 1), prefetch_params=prefetch), notes


def _tied(row: RunRow) -> bool:
    raw = row.get("tied_embeddings").lower()
    if raw not in UNKNOWN:
        if raw not in ("true", "false", "yes", "no", "1", "0"):
            raise ConfigError(f"must be true, false or unknown (got {raw!r})",
                              field="tied_embeddings")
        return raw in ("true", "yes", "1")
    return "untied embeddings" not in row.get("notes").lower()


KV_CHANNELS = re.compile(r"kv-channels (\d+)")
SLIDING_WINDOW = re.compile(r"(?:--sliding-window|sliding[ -]window)[ =:]*(\d+)", re.IGNORECASE)


def catalog_preset(row: RunRow) -> ModelSpec | None:
    """The catalog model preset named by the row's ``model`` cell (case-insensitive), if any:
    the source of architecture facts a CSV has no column for (its own paper's values)."""
    presets = {k.lower(): m for k, m in load_models().items()}
    return presets.get(row.get("model").lower())


GATED_FFN = re.compile(r"\b(?:swiglu|geglu|gated (?:gelu|silu))\b", re.IGNORECASE)


def stated_ffn_kind(row: RunRow, h: int, ffn: int) -> tuple[str, str | None]:
    """(ffn kind, why): the ``ffn_kind`` cell, else a gated FFN named in ``notes`` (SwiGLU,
    GeGLU: three matrices, modelled as ``swiglu``), else the catalog preset of the same model,
    else gated iff ``ffn_hidden`` != 4h (the GPT shape is 4h with two matrices)."""
    cell = _stated(row, "ffn_kind", ("gelu", "swiglu"))
    if cell:
        return cell, None
    if GATED_FFN.search(row.get("notes")):
        return "swiglu", None
    preset = catalog_preset(row)
    if preset is not None:
        return preset.ffn_kind, f"ffn_kind {preset.ffn_kind} (catalog preset {preset.name})"
    return ("swiglu" if ffn != 4 * h else "gelu"), None


def stated_sliding_window(row: RunRow) -> tuple[int, str | None]:
    """(sliding window, why — None when the cell states it or there is none). The
    ``sliding_window`` cell, else ``--sliding-window N`` / "sliding window N" in ``notes``, else
    the catalog preset of the same model (``model`` cell, case-insensitive: an architecture fact
    from the model's own paper), else 0 (full causal attention)."""
    cell = _int(row, "sliding_window", -1, minimum=0)
    if cell >= 0:
        return cell, None
    found = SLIDING_WINDOW.search(row.get("notes"))
    if found:
        return int(found.group(1)), f"sliding_window {found.group(1)} (stated in notes)"
    preset = catalog_preset(row)
    if preset is not None and preset.sliding_window:
        return preset.sliding_window, (f"sliding_window {preset.sliding_window} (catalog preset "
                                       f"{preset.name})")
    return 0, None


def _kv_channels(row: RunRow) -> int:
    """Head size stated in ``notes`` as Megatron's ``--kv-channels N`` (0 when not stated)."""
    found = KV_CHANNELS.search(row.get("notes"))
    return int(found.group(1)) if found else 0


def row_model(row: RunRow) -> tuple[ModelSpec, list[str]]:
    """The row's model shape, with the defaults the module docstring lists."""
    notes: list[str] = []
    h, layers, heads = _int(row, "hidden"), _int(row, "layers"), _int(row, "heads")
    kv = _int(row, "kv_heads", heads)
    ffn = _int(row, "ffn_hidden", 4 * h)
    kind, why = stated_ffn_kind(row, h, ffn)
    notes += [why] if why else []
    tied = _tied(row)
    window, why = stated_sliding_window(row)
    notes += [why] if why else []
    extra = {"sliding_window": window,
             "head_size": _int(row, "head_size", 0, minimum=0) or _kv_channels(row),
             "experts": _int(row, "experts", 1), "top_k": _int(row, "top_k", 1),
             "expert_ffn_hidden": _int(row, "expert_ffn_hidden", 0, minimum=0)}
    vocab = _int(row, "vocab", 0)
    if not vocab:
        params = _positive(row, "params_b")
        if params is None:
            raise ConfigError("vocab and params_b are both unknown: cannot size the embedding",
                              field="vocab")
        probe = ModelSpec(name="probe", layers=layers, hidden=h, heads=heads, kv_heads=kv,
                          ffn_hidden=ffn, vocab=1, ffn_kind=kind, tied_embeddings=tied, **extra)
        rest = params * 1e9 - (probe.params - probe.embedding_params * (1 if tied else 2))
        vocab = round(rest / (h * (1 if tied else 2)))
        if vocab < 1:
            raise ConfigError(f"params_b {params} is smaller than the layers alone",
                              field="params_b")
        notes.append(f"vocab {vocab} solved from params_b")
    return ModelSpec(name=row.get("model") or row.id, layers=layers, hidden=h, heads=heads,
                     kv_heads=kv, ffn_hidden=ffn, vocab=vocab, seq_len=_int(row, "seq_len"),
                     ffn_kind=kind, tied_embeddings=tied, **extra), notes


def measured_step_time_s(row: RunRow, model: ModelSpec, peak_flops_per_s: float) -> float | None:
    """The row's measured seconds per step, converted from TFLOP/s or MFU if needed."""
    step = _positive(row, "measured_step_time_s")
    if step is not None:
        return step
    tokens = _int(row, "global_batch_seqs") * model.seq_len
    per_token = convention_flops_per_token(row.get("flop_convention"), model,
                                           _positive(row, "params_b"))
    if per_token is None:
        return None
    tflops, mfu = _positive(row, "measured_tflops_per_gpu"), _positive(row, "measured_mfu")
    if tflops is not None:
        achieved = tflops * 1e12
    elif mfu is not None:
        achieved = mfu * peak_flops_per_s
    else:
        return None
    return per_token * tokens / (achieved * _int(row, "num_gpus"))


def convention_flops_per_token(convention: str, model: ModelSpec,
                               params_b: float | None = None) -> float | None:
    """FLOPs per token a source's convention counts (None: unknown convention). ``mosaic`` is
    defined on the source's own parameter count N (``params_b``; ours when it is not given)."""
    s = model.seq_len
    if convention in ("megatron96", "bloom_hw"):
        return fl.hardware_flops_per_token(model, s, "full", attention="materialized")
    if convention in ("korthikanti72", "nvidia_full_attn"):
        return fl.full_square_model_flops_per_token(model, s)
    if convention == "mosaic":
        n = params_b * 1e9 if params_b else float(model.params)
        return 6.0 * n + 12.0 * model.layers * s * model.hidden
    return None


OPT_IN = {"vp": [1]}  # framework features: off unless stated


def _choices(row: RunRow, key: str, legal: list) -> tuple[list, bool]:
    raw = row.get(key).lower()
    if raw in UNKNOWN:
        if key == "sequence_parallel" and not sequence_parallel_available(row)[0]:
            return [False], False
        return OPT_IN.get(key, legal), True
    if key == "sequence_parallel":
        if raw not in ("true", "false"):
            raise ConfigError(f"must be true, false or unknown (got {raw!r})", field=key)
        return [raw == "true"], False
    if key == "recompute":
        if raw not in RECOMPUTE_MODES:
            raise ConfigError(f"must be one of {', '.join(RECOMPUTE_MODES)} or unknown "
                              f"(got {raw!r})", field=key)
        return [raw], False
    return [_int(row, key, minimum=0 if key == "zero_stage" else 1)], False


GRID = {  # the planner's grid for each tuning knob (legality is checked per combination)
    "micro_batch": list(MICRO_BATCHES), "vp": list(VIRTUAL_STAGES),
    "recompute": [RECOMPUTE_NAMES[r] for r in RECOMPUTE], "sequence_parallel": [False, True],
    "zero_stage": list(ZERO_STAGES)}


def validate_row(row: RunRow, accelerators: dict[str, Accelerator],
                 profile_for: Callable[[str], EfficiencyProfile]) -> RowResult | str:
    """Predict one row; a string return is the reason it was skipped. Malformed or impossible
    cells raise ConfigError / ValueError (``validate`` turns them into skip reasons)."""
    acc_name = row.get("accelerator")
    if acc_name.lower() in UNKNOWN:
        return "accelerator cell is empty or unknown: the model will not guess the hardware"
    if acc_name not in accelerators:
        return f"accelerator '{acc_name}' is not in the catalog"
    acc = accelerators[acc_name]
    model, notes = row_model(row)
    precision = row.get("precision") or "bf16"
    if precision not in TRAINING_PRECISIONS:
        raise ConfigError(f"must be one of {', '.join(TRAINING_PRECISIONS)} (got {precision!r})",
                          field="precision")
    measured = measured_step_time_s(row, model, acc.peak(precision))
    if measured is None:
        return "no measured step time and no usable FLOP convention to derive one"
    per_node = _int(row, "gpus_per_node", 8)
    gbps = _positive(row, "inter_node_gbps_per_gpu")
    n = _int(row, "num_gpus")
    par = {k: _int(row, k, 1 if k == "cp" else None) for k in ("tp", "pp", "dp", "cp")}
    if par["tp"] * par["pp"] * par["dp"] * par["cp"] != n:
        raise ConfigError(f"tp·pp·dp·cp = {par['tp']}·{par['pp']}·{par['dp']}·{par['cp']} = "
                          f"{par['tp'] * par['pp'] * par['dp'] * par['cp']} != num_gpus {n}",
                          field="num_gpus")
    cluster = Cluster.of(acc, n, per_node, gbps)
    stack, stack_notes = row_stack(row, per_node)
    notes += stack_notes
    notes += [why for why in stated_tp_overlap(row)[1:] if why]
    if row.get("sequence_parallel").lower() in UNKNOWN:
        notes += [why for why in sequence_parallel_available(row)[1:] if why]
    best, chosen = _best_prediction(row, model, cluster, par, precision, profile_for(acc_name),
                                    stack)
    err = 100.0 * (best.step_time_s - measured) / measured
    return RowResult(id=row.id, predicted_step_time_s=best.step_time_s,
                     measured_step_time_s=measured, error_pct=err, prediction=best,
                     assumptions=tuple(notes + chosen))


def _legal(row: RunRow, model: ModelSpec, cluster: Cluster, base: dict[str, int],
           options: list[list], stack: Stack) -> list[Parallelism]:
    """Every legal Parallelism over the product of ``options`` (keys of GRID); ConfigError (the
    first one met) when none is legal."""
    keys, batch = list(GRID), _int(row, "global_batch_seqs")
    pars, first_error = [], None
    for combo in itertools.product(*options):
        try:
            par = Parallelism(**base, **dict(zip(keys, combo, strict=True)))
            check_config(model, cluster.num_devices, par, seq_len=model.seq_len,
                         global_batch_seqs=batch, stack=stack)
        except ConfigError as exc:
            first_error = first_error or exc
            continue
        pars.append(par)
    if not pars:
        assert first_error is not None
        raise first_error
    return pars


def _fitting_times(model: ModelSpec, cluster: Cluster, pars: list[Parallelism], batch: int,
                   precision: str, profile: EfficiencyProfile, stack: Stack,
                   tp_overlap: bool | None = None):
    """(step time of each candidate, inf where it does not fit; step times regardless)."""
    c = Candidates.of_many(pars)
    hw = hardware(cluster, profile, precision, stack=stack, tp_overlap=tp_overlap)
    st = step_time(model, model.seq_len, batch, c, hw)
    mem = memory(model, model.seq_len, c, st.num_micro, cluster.accelerator.hbm_bytes,
                 stack=stack, precision=precision, devices_per_node=cluster.devices_per_node)
    return np.where(mem.fits, st.step_time_s, np.inf), st.step_time_s


RECOMPUTE_FLAGS = ("--recompute-granularity", "--recompute-method", "--recompute-num-layers",
                   "--recompute-activations")


def _memory_fallback(row: RunRow, model: ModelSpec, options: list[list],
                     stack: Stack) -> list[tuple[list[list], Stack]]:
    """Settings to retry when the row's stated setting does not fit although its source reports
    that it trained. The memory knobs the row states but no quoted launch flag evidences are
    read as lower bounds: ``zero_stage`` 0 may be Megatron's ``--use-distributed-optimizer``
    (ZeRO-1), ``recompute`` none may be any recompute, full or of N layers per stage
    (``--recompute-num-layers``). Empty when the notes quote the flags that settle them."""
    keys, notes = list(GRID), row.get("notes")
    opts = [list(o) for o in options]
    z, rc = keys.index("zero_stage"), keys.index("recompute")
    if "--use-distributed-optimizer" not in notes and row.get("zero_stage") not in UNKNOWN:
        opts[z] = sorted({*opts[z], *(s for s in (0, 1) if s >= min(opts[z]))})
    if any(flag in notes for flag in RECOMPUTE_FLAGS) or len(opts[rc]) > 1:
        return [(opts, stack)] if opts[z] != options[z] else []
    opts[rc] = ["none", "selective", "full"]
    layers = -(-model.layers // min(_int(row, "pp"), model.layers))
    out = [(opts, stack)]
    out += [([*opts[:rc], ["full"], *opts[rc + 1:]],
             Stack(**{**stack.to_dict(), "recompute_layers": n})) for n in range(1, layers)]
    return out


def _best_prediction(row: RunRow, model: ModelSpec, cluster: Cluster, base: dict[str, int],
                     precision: str, profile: EfficiencyProfile,
                     stack: Stack) -> tuple[Prediction, list[str]]:
    """Evaluate every legal setting of the unknown cells at once; predict the fastest that fits.
    When none fits, retry with the memory knobs of :func:`_memory_fallback`; when still none
    fits, the fastest stated setting is used and the row says so. ConfigError (the first one
    met) when no setting is legal."""
    keys = list(GRID)
    options, unknown = zip(*[_choices(row, k, GRID[k]) for k in keys], strict=True)
    batch = _int(row, "global_batch_seqs")
    pars = _legal(row, model, cluster, base, list(options), stack)
    tp_overlap = stated_tp_overlap(row)[0]
    times, raw = _fitting_times(model, cluster, pars, batch, precision, profile, stack,
                                tp_overlap)
    notes = []
    if not np.isfinite(times).any():  # it ran, so a stated memory knob must be incomplete
        best_t, found = np.inf, None
        for opts, st_ in _memory_fallback(row, model, list(options), stack):
            try:
                alt = _legal(row, model, cluster, base, opts, st_)
            except ConfigError:
                continue
            t, _ = _fitting_times(model, cluster, alt, batch, precision, profile, st_,
                                  tp_overlap)
            if np.isfinite(t).any() and t.min() < best_t:
                best_t, found = float(t.min()), (alt[int(np.argmin(t))], st_)
        if found is not None:
            best, stack = found
            layers = (f" ({stack.recompute_layers} layers/stage)"
                      if stack.recompute_layers and best.recompute == "full" else "")
            notes.append(f"stated setting does not fit by our memory model; memory knobs no "
                         f"flag states read as lower bounds -> recompute {best.recompute}"
                         f"{layers}, zero_stage {best.zero_stage}")
        else:
            best = pars[int(np.argmin(raw))]
            notes.append("no setting fits by our memory model; fastest used")
    else:
        best = pars[int(np.argmin(times))]
    pred = predict(model, cluster, best, global_batch_seqs=batch, precision=precision,
                   profile=profile, stack=stack, tp_comm_overlap=tp_overlap)
    chosen = [f"{k} unknown -> {getattr(best, k)}"
              for k, u in zip(keys, unknown, strict=True) if u]
    return pred, chosen + notes


def validate(rows: list[RunRow], accelerators: dict[str, Accelerator],
             profile_for: Callable[[str], EfficiencyProfile]) -> ValidationReport:
    """Predict every row; see the module docstring for the rules."""
    results: list[RowResult] = []
    skipped: list[tuple[str, str]] = []
    for row in rows:
        try:
            out = validate_row(row, accelerators, profile_for)
        except (ConfigError, ValueError) as exc:  # one bad row never stops the others
            out = str(exc)
        if isinstance(out, str):
            skipped.append((row.id, out))
        else:
            results.append(out)
    return ValidationReport(rows=tuple(results), skipped=tuple(skipped))
