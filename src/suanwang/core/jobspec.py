"""The job spec users submit to the platform: one file for ``where``, ``submit``, ``POST /plans``.

Two kinds (a discriminated union on ``kind``):

* ``training``: train a model (catalog preset name, or inline dimensions as in scenario files) on
  ``tokens`` tokens, with placement/budget ``constraints`` and optional ``checkpoint`` /
  ``runtime`` overrides for the local runtime (the tiny job runs for real on this machine).
* ``batch``: a command (a simulation code, an MPI program) on ``nodes`` or ``devices`` of a node
  type or accelerator (CPU nodes allowed) for at most ``walltime_s``, using ``software`` products.

Every model forbids unknown keys. :func:`load_job_spec` turns any validation problem into a
:class:`~suanwang.core.errors.ConfigError` naming the file and key path (``constraints.budget``);
the API maps pydantic's own errors to 422 with the same ``loc``.
"""

from __future__ import annotations

import difflib
import typing
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from suanwang.core.errors import ConfigError
from suanwang.core.model import FFN_KINDS, ModelSpec
from suanwang.core.quantity import parse_count, parse_duration_s
from suanwang.core.textfile import read_text, yaml_error

PRECISIONS = ("bf16", "fp16", "fp8", "fp32", "tf32")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN, description="1-63 chars: letters, digits, . _ -")]
Ident = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00]+$")]


def _typed(parse):
    """Accept ``30d`` / ``2T`` strings as core.quantity parses them; numbers pass through."""
    def convert(value):
        if not isinstance(value, str):
            return value
        try:
            return parse(value)
        except ConfigError as exc:
            raise ValueError(exc.detail) from None
    return BeforeValidator(convert)


Seconds = Annotated[float, _typed(parse_duration_s)]
Count = Annotated[float, _typed(parse_count)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Constraints(_Strict):
    """Where and how the job may run. ``budget`` is in the federation's currency (Decimal);
    ``deadline_s`` is seconds from submission; accelerator/center lists filter the planner's
    options (empty = any). ``priority``: larger is more urgent."""

    deadline_s: Seconds | None = Field(None, gt=0, le=10 * 365 * 86400.0)
    budget: Decimal | None = Field(None, ge=0, le=Decimal("1e12"), decimal_places=4)
    accelerators: list[Ident] = Field(default_factory=list, max_length=64)
    exclude_accelerators: list[Ident] = Field(default_factory=list, max_length=64)
    centers: list[Ident] = Field(default_factory=list, max_length=64)
    exclude_centers: list[Ident] = Field(default_factory=list, max_length=64)
    domestic_only: bool = False
    min_devices: int = Field(1, ge=1, le=1_000_000)
    max_devices: int | None = Field(None, ge=1, le=1_000_000)
    priority: int = Field(0, ge=-1000, le=1000)
    preemptible: bool = True

    @model_validator(mode="after")
    def _sizes(self) -> Constraints:
        if self.max_devices is not None and self.max_devices < self.min_devices:
            raise ValueError(f"max_devices ({self.max_devices}) < min_devices "
                             f"({self.min_devices})")
        return self


class InlineModel(_Strict):
    """A dense decoder-only transformer given by its dimensions (as in scenario files);
    ``kv_heads`` defaults to ``heads`` and ``ffn_hidden`` to 4 x ``hidden``."""

    name: Name = "inline"
    layers: int = Field(ge=1, le=1000)
    hidden: int = Field(ge=1, le=1_000_000)
    heads: int = Field(ge=1, le=10_000)
    kv_heads: int | None = Field(None, ge=1, le=10_000)
    ffn_hidden: int | None = Field(None, ge=1, le=10_000_000)
    ffn_kind: Literal["gelu", "swiglu"] = "gelu"
    vocab: int = Field(ge=1, le=10_000_000)
    seq_len: int = Field(2048, ge=1, le=10_000_000)
    tied_embeddings: bool = False

    @model_validator(mode="after")
    def _shape(self) -> InlineModel:
        if self.hidden % self.heads:
            raise ValueError(f"hidden {self.hidden} is not divisible by heads {self.heads}")
        if self.heads % (self.kv_heads or self.heads):
            raise ValueError(f"heads {self.heads} is not divisible by kv_heads {self.kv_heads}")
        return self

    def to_model_spec(self) -> ModelSpec:
        """The core :class:`ModelSpec` these dimensions describe."""
        assert self.ffn_kind in FFN_KINDS
        return ModelSpec(name=self.name, layers=self.layers, hidden=self.hidden,
                         heads=self.heads, kv_heads=self.kv_heads or self.heads,
                         ffn_hidden=self.ffn_hidden or 4 * self.hidden, vocab=self.vocab,
                         seq_len=self.seq_len, ffn_kind=self.ffn_kind,
                         tied_embeddings=self.tied_embeddings, source="inline job spec")


class CheckpointOverrides(_Strict):
    """Checkpointing of the local runtime: every ``every_steps`` steps and/or ``every_s`` s
    (0 = planner's choice), keeping the last ``keep``."""

    every_steps: int | None = Field(None, ge=1, le=10_000_000)
    every_s: float | None = Field(None, ge=0, le=86400.0)
    keep: int | None = Field(None, ge=1, le=100)


class RuntimeOverrides(_Strict):
    """Knobs of the real training runtime (``python -m suanwang.runtime``) for jobs that run on
    the local center; ignored by simulated centers. Names match runtime/config.py sections."""

    steps: int | None = Field(None, ge=1, le=10_000_000)
    nproc: int | None = Field(None, ge=1, le=1024)
    lr: float | None = Field(None, gt=0, le=10.0)
    parallel: Literal["ddp", "fsdp"] | None = None
    micro_batch_seqs: int | None = Field(None, ge=1, le=65536)
    global_micro_batches: int | None = Field(None, ge=1, le=65536)
    max_seconds: float | None = Field(None, ge=0, le=30 * 86400.0)
    max_restarts: int | None = Field(None, ge=0, le=1000)
    kill_every_s: float | None = Field(None, ge=0, le=86400.0)
    threads_per_rank: int | None = Field(None, ge=1, le=256)


class TrainingSpec(_Strict):
    """Train ``model`` on ``tokens`` tokens of ``seq_len`` (default: the model's) with a global
    batch of ``global_batch`` sequences at ``precision``."""

    kind: Literal["training"]
    name: Name
    model: Annotated[str, Field(min_length=1, max_length=100)] | InlineModel
    tokens: Count = Field(gt=0, le=1e16)
    seq_len: int | None = Field(None, ge=1, le=10_000_000)
    global_batch: int = Field(1024, ge=1, le=100_000_000)
    precision: Literal["bf16", "fp16", "fp8", "fp32", "tf32"] = "bf16"
    attention: Literal["flash", "materialized"] = "flash"  # perf.stack: fused kernel by default
    software: list[Ident] = Field(default_factory=list, max_length=64)  # marketplace products
    base_model: Ident | None = None  # a marketplace model product
    datasets: list[Ident] = Field(default_factory=list, max_length=64)  # dataset products
    constraints: Constraints = Field(default_factory=Constraints)
    checkpoint: CheckpointOverrides | None = None
    runtime: RuntimeOverrides | None = None


class BatchSpec(_Strict):
    """Run ``command`` on ``nodes`` nodes (or ``devices`` devices) of ``node_type`` /
    ``accelerator`` for at most ``walltime_s`` seconds; ``software`` lists product ids whose
    fees are billed per use (marketplace)."""

    kind: Literal["batch"]
    name: Name
    command: Annotated[str, Field(min_length=1, max_length=10_000, pattern=r"^[^\x00]+$")] | list[
        Annotated[str, Field(max_length=10_000, pattern=r"^[^\x00]*$")]]
    nodes: int | None = Field(None, ge=1, le=100_000)
    devices: int | None = Field(None, ge=1, le=1_000_000)
    node_type: Ident | None = None
    accelerator: Ident | None = None
    walltime_s: Seconds = Field(gt=0, le=30 * 86400.0)
    software: list[Ident] = Field(default_factory=list, max_length=64)
    base_model: Ident | None = None  # a marketplace model product (docs/marketplace.md)
    datasets: list[Ident] = Field(default_factory=list, max_length=64)  # dataset products
    constraints: Constraints = Field(default_factory=Constraints)

    @model_validator(mode="after")
    def _size(self) -> BatchSpec:
        if self.nodes is not None and self.devices is not None:
            raise ValueError("give nodes or devices, not both")
        if isinstance(self.command, list) and not self.command:
            raise ValueError("command: must not be empty")
        return self

    @property
    def node_count(self) -> int:
        """Nodes requested (1 when only ``devices`` is given; the planner packs devices)."""
        return self.nodes or 1


JobSpec = Annotated[TrainingSpec | BatchSpec, Field(discriminator="kind")]
JOB_SPEC = TypeAdapter(JobSpec)


def error_location(loc: tuple[Any, ...]) -> str:
    """pydantic's ``loc`` as a dotted key path, dropping union-branch tags
    (``('training', 'constraints', 'budget')`` -> ``constraints.budget``)."""
    parts = [str(p) for p in loc if p not in ("training", "batch", "str", "InlineModel")]
    parts = [p for p in parts if not p.startswith(("function-", "constrained-str", "list["))]
    return ".".join(parts) or "spec"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for a in typing.get_args(annotation) for m in _models_in(a)]


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed beside the unknown one at ``loc`` (for a "did you mean")."""
    roots = {"training": TrainingSpec, "batch": BatchSpec}
    if not loc or loc[0] not in roots:
        return []
    model: type[BaseModel] = roots[loc[0]]
    for part in loc[1:-1]:
        if part not in model.model_fields:
            continue  # a union-branch tag such as 'InlineModel'
        inner = _models_in(model.model_fields[part].annotation)
        if not inner:
            return []
        model = inner[0]
    return sorted(model.model_fields)


_BRANCH_MISMATCH = ("string_type", "model_type", "model_attributes_type", "list_type")


def config_error(exc: ValidationError, *, file: str | None = None) -> ConfigError:
    """The first validation problem as a ConfigError naming the field (others counted)."""
    errors = exc.errors()
    # In a str | model union, the error of the branch the input was meant for is the useful one.
    specific = [e for e in errors if e["type"] not in _BRANCH_MISMATCH]
    # An unknown key usually explains a "missing" one (a typo): report it first.
    specific.sort(key=lambda e: e["type"] != "extra_forbidden")
    first = (specific or errors)[0]
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        known = _known_keys(tuple(first["loc"]))
        close = difflib.get_close_matches(str(first["loc"][-1]), known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        msg = (f"unknown key{hint}; known keys here: {', '.join(known)}" if known else
               "unknown key; remove it or check the spelling (see docs/platform.md)")
    elif first["type"] == "union_tag_invalid" or first["type"] == "union_tag_not_found":
        msg = "must be 'training' or 'batch'"
    field = error_location(tuple(first["loc"]))
    if first["type"].startswith("union_tag"):
        field = "kind"
    return ConfigError(msg.removeprefix("Value error, ") + more, file=file, field=field)


def load_job_spec(source: str | Path | dict) -> TrainingSpec | BatchSpec:
    """Parse a job spec from a YAML/JSON file path or an already-loaded mapping.

    Raises ConfigError naming the file and key path (``constraints.max_devices``) on unknown keys,
    bad values, or an unreadable file.
    """
    file: str | None = None
    if isinstance(source, dict):
        doc: Any = source
    else:
        import yaml

        path = Path(source)
        file = str(path)
        try:
            doc = yaml.safe_load(read_text(path, what="job spec", kind="a YAML or JSON job spec"))
        except yaml.YAMLError as exc:
            raise yaml_error(exc, file) from None
    if not isinstance(doc, dict):
        raise ConfigError("a job spec is a mapping with at least 'kind' and 'name'", file=file)
    try:
        return JOB_SPEC.validate_python(doc)
    except ValidationError as exc:
        raise config_error(exc, file=file) from None


def spec_to_dict(spec: TrainingSpec | BatchSpec) -> dict:
    """Plain JSON-able dict (Decimals as strings) for storage in a JSON column."""
    return spec.model_dump(mode="json", exclude_none=True)
