"""The training job as the runtime sees it: one frozen :class:`TrainConfig`, parsed once.

A job file (YAML or JSON) has one section per concern::

    name: tiny
    model:      {layers: 4, hidden: 128, heads: 4, ffn_hidden: 512, seq_len: 128}
    data:       {paths: [], micro_batch_seqs: 4, global_micro_batches: 4, split: even}
    train:      {steps: 50, lr: 0.001, warmup_steps: 10, parallel: ddp}
    checkpoint: {every_steps: 10, interval_s: 0, keep: 3}
    run:        {nproc: 2, max_restarts: 3, heartbeat_timeout_s: 30}
    faults:     {kill_every_s: 0}

Unknown sections or fields, wrong types and impossible values raise :class:`ConfigError` naming
the field and the fix. Supervisor and workers exchange the parsed config as JSON (``to_dict``).
"""

from __future__ import annotations

import difflib
import json
import typing
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from suanwang.core.errors import ConfigError
from suanwang.core.textfile import read_text
from suanwang.runtime.sync_config import SyncConfig

SPLITS = ("even", "proportional", "explicit")
PARALLELS = ("ddp", "fsdp")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """GPT dimensions. Byte-level vocabulary (256) by default; ~0.87 M parameters."""

    vocab: int = 256
    layers: int = 4
    hidden: int = 128
    heads: int = 4
    ffn_hidden: int = 512
    seq_len: int = 128

    def check(self) -> None:
        for name in ("vocab", "layers", "hidden", "heads", "ffn_hidden", "seq_len"):
            _positive("model", name, getattr(self, name))
        if self.vocab < 256:
            raise ConfigError(f"{self.vocab} is too small for the byte-level corpus (byte values "
                              "0-255); set vocab >= 256", entry="model", field="vocab")
        if self.hidden % self.heads:
            raise ConfigError(f"hidden {self.hidden} must be divisible by heads {self.heads}",
                              entry="model", field="heads")


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    """Global batch = ``global_micro_batches`` x ``micro_batch_seqs`` sequences per step.

    ``split`` says how micro-batches are dealt to ranks: ``even``; ``proportional`` to
    ``rank_speeds``; or ``explicit`` per-rank counts in ``micro_batches``. ``adapt_split``
    re-deals them in proportion to measured speeds once a straggler is detected
    (``stragglers.py``).
    """

    paths: tuple[str, ...] = ()
    micro_batch_seqs: int = 4
    global_micro_batches: int = 4
    split: str = "even"
    micro_batches: tuple[int, ...] = ()
    rank_speeds: tuple[float, ...] = ()
    adapt_split: bool = False

    def check(self) -> None:
        _positive("data", "micro_batch_seqs", self.micro_batch_seqs)
        _positive("data", "global_micro_batches", self.global_micro_batches)
        _choice("data", "split", self.split, SPLITS)
        if any(m < 1 for m in self.micro_batches):
            raise ConfigError(f"every rank needs at least one micro-batch (got "
                              f"{list(self.micro_batches)}); give counts >= 1",
                              entry="data", field="micro_batches")
        if self.split == "explicit" and sum(self.micro_batches) != self.global_micro_batches:
            raise ConfigError(
                f"explicit split {list(self.micro_batches)} must sum to global_micro_batches "
                f"{self.global_micro_batches}", entry="data", field="micro_batches")
        if self.split == "proportional" and any(s <= 0 for s in self.rank_speeds):
            raise ConfigError("rank speeds must all be > 0", entry="data", field="rank_speeds")


@dataclass(frozen=True, kw_only=True)
class OptimConfig:
    """AdamW with linear warmup then cosine decay to ``min_lr``; ``steps`` ends the run.

    A step whose loss or gradient norm is not finite is not applied: the job rolls back to the
    newest committed checkpoint and skips that batch, at most ``max_rollbacks`` times in a run
    (then it fails, exit 1). Changing a field on resume: see :data:`RESUME_POLICY`.
    """

    steps: int = 50
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_steps: int = 10
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    seed: int = 1234
    parallel: str = "ddp"
    device: str = "auto"
    precision: str = "auto"
    max_rollbacks: int = 3

    def check(self) -> None:
        _positive("train", "steps", self.steps)
        if self.max_rollbacks < 0:
            raise ConfigError("must be >= 0 (0: fail at the first non-finite step)",
                              entry="train", field="max_rollbacks")
        _positive("train", "lr", self.lr)
        if self.min_lr < 0 or self.min_lr > self.lr:
            raise ConfigError("must be in [0, lr]", entry="train", field="min_lr")
        if self.warmup_steps < 0:
            raise ConfigError("must be >= 0", entry="train", field="warmup_steps")
        if self.weight_decay < 0:
            raise ConfigError(f"must be >= 0 (got {self.weight_decay}); 0 disables it",
                              entry="train", field="weight_decay")
        _positive("train", "grad_clip", self.grad_clip)
        _choice("train", "parallel", self.parallel, PARALLELS)
        _choice("train", "device", self.device, DEVICES)
        _choice("train", "precision", self.precision, PRECISIONS)


@dataclass(frozen=True, kw_only=True)
class CheckpointConfig:
    """When to checkpoint (every N steps and/or every S seconds; 0 = off) and how many to keep.

    ``interval_s`` (seconds between checkpoints) is what the planner sets
    (``--checkpoint-interval-s``) from the failure model: the plan's ``checkpoint_interval_s``
    (reliability/interval.py). ``every_s`` is its deprecated alias, accepted in job files and
    ``with_overrides``; giving both is a ConfigError naming ``checkpoint.interval_s``.
    ``persist_timeout_s`` bounds how long a failed attempt's persist processes may take to
    finish the save they hold before the next attempt starts. ``sync_baseline`` is accepted
    for old job files and ignored (``suanwang bench checkpoint`` measures the blocking
    baseline itself, outside the training loop).
    """

    dir: str = ""
    every_steps: int = 10
    interval_s: float = 0.0
    keep: int = 3
    async_save: bool = True
    sync_baseline: bool = False
    persist_timeout_s: float = 120.0

    def check(self) -> None:
        _positive("checkpoint", "persist_timeout_s", self.persist_timeout_s)
        if self.every_steps < 0 or self.interval_s < 0:
            raise ConfigError("intervals must be >= 0 (0 disables)", entry="checkpoint",
                              field="every_steps" if self.every_steps < 0 else "interval_s")
        _positive("checkpoint", "keep", self.keep)


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Supervisor settings. ``max_seconds`` > 0 stops training at that wall time (benchmarks).

    ``until_step`` > 0 ends this invocation early at that step (the LR schedule still spans
    ``train.steps``), for runs split into legs. ``fork_server`` forks every rank from one
    process that imported torch once, so a restart skips interpreter start-up.
    ``peak_flops_per_s`` (per device) is the MFU denominator; 0 measures a matmul peak once per
    run (CPU has no datasheet figure here). ``preempt_grace_s``: after SIGTERM / SIGUSR1 /
    SIGINT the job has this long to commit its final checkpoint before the supervisor kills
    the ranks (set it below the scheduler's kill delay, e.g. Slurm's ``KillWait`` or the
    ``--signal=B:USR1@S`` lead). A rank is a straggler when its median seconds per
    micro-batch over ``straggler_window`` steps is ``straggler_ratio`` x the fastest rank's.
    """

    nproc: int = 2
    max_restarts: int = 3
    heartbeat_timeout_s: float = 30.0
    startup_timeout_s: float = 60.0
    run_dir: str = "runs/tiny"
    max_seconds: float = 0.0
    threads_per_rank: int = 1
    fork_server: bool = True
    peak_flops_per_s: float = 0.0
    until_step: int = 0
    preempt_grace_s: float = 60.0
    straggler_ratio: float = 1.5
    straggler_window: int = 8

    def check(self) -> None:
        _positive("run", "nproc", self.nproc)
        _positive("run", "preempt_grace_s", self.preempt_grace_s)
        _positive("run", "straggler_window", self.straggler_window)
        if self.straggler_ratio <= 1:
            raise ConfigError(f"must be > 1 (got {self.straggler_ratio})", entry="run",
                              field="straggler_ratio")
        if self.max_restarts < 0:
            raise ConfigError("must be >= 0", entry="run", field="max_restarts")
        _positive("run", "heartbeat_timeout_s", self.heartbeat_timeout_s)
        _positive("run", "startup_timeout_s", self.startup_timeout_s)
        _positive("run", "threads_per_rank", self.threads_per_rank)
        for name in ("max_seconds", "peak_flops_per_s", "until_step"):
            if getattr(self, name) < 0:
                raise ConfigError(f"must be >= 0 (got {getattr(self, name)}); 0 disables it",
                                  entry="run", field=name)
        if not self.run_dir:
            raise ConfigError("must name a directory", entry="run", field="run_dir")


@dataclass(frozen=True, kw_only=True)
class FaultConfig:
    """Fault injection (tests, demos, benchmarks). Negative / zero values disable each fault.

    Faults that a restart would repeat (hang, crash in checkpoint) fire in attempt 0 only.
    ``kill_after_steps`` > 0 SIGKILLs ``kill_rank`` after that many steps of *every* attempt
    (deterministic repeated failures, for restart-limit tests). ``nan_at_step`` > 0 poisons
    the batch that step consumes (in every attempt: the data, not the attempt, is bad): its
    loss becomes NaN. ``slow_persist_s`` delays every checkpoint write (slow storage).
    """

    kill_every_s: float = 0.0
    kill_seed: int = 0
    kill_max: int = 0
    kill_at_step: int = -1
    kill_rank: int = 1
    hang_rank: int = -1
    hang_at_step: int = -1
    crash_in_ckpt_step: int = -1
    slow_rank: int = -1
    slow_delay_s: float = 0.0
    kill_after_steps: int = 0
    nan_at_step: int = -1
    slow_persist_s: float = 0.0

    def check(self) -> None:
        for name in ("kill_max", "kill_after_steps", "slow_delay_s", "slow_persist_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"must be >= 0 (got {getattr(self, name)})", entry="faults",
                                  field=name)


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    name: str = "tiny"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: OptimConfig = field(default_factory=OptimConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    run: RunConfig = field(default_factory=RunConfig)
    faults: FaultConfig = field(default_factory=FaultConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)

    def __post_init__(self) -> None:
        for part in (self.model, self.data, self.train, self.checkpoint, self.run, self.faults,
                     self.sync):
            part.check()
        self.sync.check_world(self.run.nproc)
        if self.data.split == "proportional" and len(self.data.rank_speeds) != self.run.nproc:
            raise ConfigError(
                f"proportional split has {len(self.data.rank_speeds)} rank_speeds but nproc is "
                f"{self.run.nproc}; give one speed per rank", entry="data", field="rank_speeds")
        if self.data.split == "explicit" and len(self.data.micro_batches) != self.run.nproc:
            raise ConfigError(
                f"explicit split has {len(self.data.micro_batches)} entries but nproc is "
                f"{self.run.nproc}; give one count per rank", entry="data", field="micro_batches")
        if self.data.global_micro_batches < self.run.nproc:
            raise ConfigError(
                f"{self.data.global_micro_batches} micro-batches cannot feed {self.run.nproc} "
                "ranks; raise global_micro_batches or lower nproc",
                entry="data", field="global_micro_batches")

    @property
    def ckpt_dir(self) -> Path:
        return Path(self.checkpoint.dir or Path(self.run.run_dir) / "ckpt")

    @property
    def global_batch_seqs(self) -> int:
        return self.data.global_micro_batches * self.data.micro_batch_seqs

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        for f in fields(self):
            if f.name != "name":
                part = getattr(self, f.name)
                out[f.name] = {g.name: _plain(getattr(part, g.name)) for g in fields(part)}
        return out

    def with_overrides(self, **sections: dict[str, Any]) -> TrainConfig:
        """A copy with fields replaced, e.g. ``with_overrides(run={"nproc": 1})``; re-checked."""
        data = self.to_dict()
        for section, values in sections.items():
            values = _canonical(section, dict(values))
            data.setdefault(section, {}).update(values)
        return from_dict(data)


# command-line flag -> (section, field); shared by ``python -m suanwang.runtime run`` and
# ``suanwang train`` so the two front ends cannot drift apart
FLAGS = {"nproc": ("run", "nproc"), "ckpt_interval_s": ("checkpoint", "interval_s"),
         "ckpt_every_steps": ("checkpoint", "every_steps"), "steps": ("train", "steps"),
         "run_dir": ("run", "run_dir"), "max_seconds": ("run", "max_seconds"),
         "fail_every_s": ("faults", "kill_every_s")}


# What a resume does when a train.* field differs from the checkpoint's (``config_change``
# events say which): "applied" from the resumed step on, or "refused" (exit 2, the field named)
RESUME_POLICY = {
    "lr": "applied",            # new base LR; the schedule's position (step) is kept
    "min_lr": "applied",
    "warmup_steps": "applied",
    "steps": "applied",         # the cosine decay now spans the new length
    "weight_decay": "applied",
    "grad_clip": "applied",
    "max_rollbacks": "applied",
    "precision": "applied",     # not stored in the checkpoint (fp32 master state either way)
    "device": "applied",        # DCP checkpoints are device-independent
    "parallel": "applied",      # DDP and FSDP2 state dicts share FQNs; DCP reshards
    "seed": "refused",          # fixes the data order: changing it mid-run replays or skips data
}


def flag_overrides(**flags: Any) -> dict[str, dict[str, Any]]:
    """Command-line flags (``None`` = not given) as config sections for ``with_overrides``."""
    out: dict[str, dict[str, Any]] = {}
    for name, value in flags.items():
        if value is not None:
            section, key = FLAGS[name]
            out.setdefault(section, {})[key] = value
    return out


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _positive(section: str, name: str, value: float) -> None:
    if value <= 0:
        raise ConfigError(f"must be > 0 (got {value})", entry=section, field=name)


def _choice(section: str, name: str, value: str, options: tuple[str, ...]) -> None:
    if value not in options:
        raise ConfigError(f"'{value}' is not one of {list(options)}", entry=section, field=name)


def _coerce(section: str, name: str, value: Any, hint: Any, file: str | None) -> Any:
    """Check ``value`` against the annotation ``hint``; ints are accepted where floats are."""
    origin = typing.get_origin(hint)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"must be a list (got {value!r})", file=file, entry=section,
                              field=name)
        inner = typing.get_args(hint)[0]
        return tuple(_coerce(section, name, v, inner, file) for v in value)
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, int | float) and not isinstance(value, bool),
        str: isinstance(value, str),
    }.get(hint, True)
    if not ok:
        raise ConfigError(f"must be {hint.__name__} (got {value!r})", file=file, entry=section,
                          field=name)
    return float(value) if hint is float else value


def _did_you_mean(word: str, known: Any) -> str:
    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# deprecated field name -> canonical name, per section (old job files keep working)
ALIASES = {"checkpoint": {"every_s": "interval_s"}}


def _canonical(section: str, raw: dict[str, Any], file: str | None = None) -> dict[str, Any]:
    """``raw`` with deprecated field names (:data:`ALIASES`) renamed; both names -> ConfigError."""
    for old, new in ALIASES.get(section, {}).items():
        if old in raw:
            if new in raw:
                raise ConfigError(f"given twice: '{old}' is the deprecated name of '{new}'; "
                                  f"keep only '{new}'", file=file, entry=section, field=new)
            raw = {(new if k == old else k): v for k, v in raw.items()}
    return raw


def _build(cls: type, section: str, raw: Any, file: str | None) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"section must be a mapping (got {raw!r})", file=file, entry=section)
    raw = _canonical(section, raw, file)
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    for key in raw:
        if key not in known:
            raise ConfigError(f"unknown field{_did_you_mean(str(key), known)}; known fields are "
                              f"{sorted(known)}", file=file, entry=section, field=str(key))
    return cls(**{k: _coerce(section, k, v, hints[k], file) for k, v in raw.items()})


_SECTIONS = {"model": ModelConfig, "data": DataConfig, "train": OptimConfig,
             "checkpoint": CheckpointConfig, "run": RunConfig, "faults": FaultConfig,
             "sync": SyncConfig}


def from_dict(raw: dict[str, Any], *, file: str | None = None) -> TrainConfig:
    """Parse a job mapping (from YAML/JSON) into a checked :class:`TrainConfig`."""
    if not isinstance(raw, dict):
        raise ConfigError("a job file must be a mapping of sections", file=file)
    unknown = sorted(set(map(str, raw)) - set(_SECTIONS) - {"name"})
    if unknown:
        raise ConfigError(f"unknown section(s) {unknown}"
                          f"{_did_you_mean(unknown[0], ['name', *_SECTIONS])}; known are "
                          f"{['name', *_SECTIONS]}", file=file)
    parts = {name: _build(cls, name, raw.get(name) or {}, file) for name, cls in _SECTIONS.items()}
    name = raw.get("name", "tiny")
    if not isinstance(name, str) or not name:
        raise ConfigError("must be a non-empty string", file=file, field="name")
    try:
        return TrainConfig(name=name, **parts)
    except ConfigError as exc:
        if exc.file or file is None:
            raise
        raise ConfigError(exc.detail, file=file, entry=exc.entry, field=exc.field) from None


def load_job(path: str | Path) -> TrainConfig:
    """Read a job file: ``.json`` with the stdlib, ``.yaml``/``.yml`` with PyYAML if present."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError("is a directory; pass the path of a .yaml or .json job", file=str(path))
    if not path.is_file():
        raise ConfigError("job file not found; pass the path of a .yaml or .json job",
                          file=str(path))
    text = read_text(path, what="job file", kind="a .yaml or .json job file")
    if path.suffix == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"invalid JSON: {exc.msg}", file=str(path), line=exc.lineno) from None
    else:
        raw = _load_yaml(text, str(path))
    if isinstance(raw, dict) and set(raw) <= {"name"}:
        # Defaults fill in fields of a job that says what to run, never a whole job: an empty
        # (or name-only) file is a mistake, not a request to train the default tiny model.
        raise ConfigError(f"no job in this file: give at least one section of "
                          f"{', '.join(_SECTIONS)} (see examples/train-tiny.yaml)", file=str(path))
    if raw is None:
        raise ConfigError("the job file is empty: give at least a 'model:' and 'train:' section "
                          "(see examples/train-tiny.yaml)", file=str(path))
    return from_dict(raw, file=str(path))


def _load_yaml(text: str, file: str) -> Any:
    try:
        import yaml  # optional on compute nodes: the supervisor may be handed JSON instead
    except ImportError:  # pragma: no cover - pyyaml ships with suanwang
        raise ConfigError("PyYAML is not installed; pass a .json job file", file=file) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"invalid YAML: {getattr(exc, 'problem', exc)}", file=file,
                          line=mark.line + 1 if mark else None) from None


def replace_section(cfg: TrainConfig, section: str, **values: Any) -> TrainConfig:
    """Typed shortcut for one section: ``replace_section(cfg, "run", nproc=1)``."""
    return replace(cfg, **{section: replace(getattr(cfg, section), **values)})


__all__ = ["TrainConfig", "flag_overrides", "from_dict", "load_job", "replace_section"]
