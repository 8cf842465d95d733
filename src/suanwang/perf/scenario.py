"""SCENARIO.yaml -> one fixed configuration to predict (``suanwang predict``).

Pure: takes the already-loaded YAML document. Every mistake is a ConfigError naming the file and
the field. ``model`` is a preset name (``suanwang catalog models``) or an inline mapping with the
preset fields (name, layers, hidden, heads, kv_heads, ffn_hidden, ffn_kind, vocab, seq_len,
tied_embeddings, head_size, experts, top_k, expert_ffn_hidden). Stack fields (``perf.stack``):
``attention`` (flash | materialized, default flash), ``cross_entropy`` (fused | fp32 | chunked,
default fused), ``recompute_layers`` (default 0 = all), ``shard_group`` (HSDP: ``node`` or a
shard size; default: none) and ``ep`` (default 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from suanwang.catalog import get_accelerator, get_model
from suanwang.catalog.efficiency import get_efficiency
from suanwang.catalog.fields import Entry, did_you_mean
from suanwang.catalog.models import parse_model
from suanwang.core.errors import ConfigError
from suanwang.core.hardware import Cluster
from suanwang.core.model import ModelSpec
from suanwang.core.parallelism import RECOMPUTE_MODES, Parallelism
from suanwang.perf.predict import Prediction, check_config, predict
from suanwang.perf.stack import ATTENTION_KINDS, CROSS_ENTROPY_BYTES, DEFAULT_STACK, Stack
from suanwang.perf.step import TRAINING_PRECISIONS

FIELDS = ("model", "accelerator", "num_gpus", "gpus_per_node", "inter_node_gbps_per_gpu", "tp",
          "pp", "dp", "cp", "vp", "micro_batch", "zero_stage", "recompute", "sequence_parallel",
          "precision", "seq_len", "global_batch_seqs", "tp_comm_overlap", "dp_comm_overlap",
          "attention", "cross_entropy", "recompute_layers", "shard_group", "ep")


@dataclass(frozen=True, kw_only=True)
class Scenario:
    model: ModelSpec
    cluster: Cluster
    parallelism: Parallelism
    seq_len: int
    global_batch_seqs: int
    precision: str
    tp_comm_overlap: bool | None
    dp_comm_overlap: bool | None
    stack: Stack = DEFAULT_STACK

    def predict(self) -> Prediction:
        """Predict this scenario with its accelerator's efficiency profile."""
        return predict(self.model, self.cluster, self.parallelism, seq_len=self.seq_len,
                       global_batch_seqs=self.global_batch_seqs, precision=self.precision,
                       profile=get_efficiency(self.cluster.accelerator.name),
                       tp_comm_overlap=self.tp_comm_overlap,
                       dp_comm_overlap=self.dp_comm_overlap, stack=self.stack)


def _model(e: Entry) -> ModelSpec:
    raw = e.raw("model")
    if isinstance(raw, Mapping):
        return parse_model(raw, file=e.file, entry=f"{e.entry}: model")
    if not isinstance(raw, str):
        raise e.error("model", "must be a preset name or a mapping of model fields")
    return get_model(raw)


def parse_scenario(doc: object, *, file: str = "scenario.yaml") -> Scenario:
    """Parse a scenario document; errors name ``file`` and the field."""
    e = Entry(doc, file=file, entry="scenario")
    unknown = sorted(set(e.data) - set(FIELDS))
    if unknown:
        raise e.error(unknown[0], f"unknown field{did_you_mean(str(unknown[0]), FIELDS)}; "
                      f"known fields: {', '.join(FIELDS)}")
    try:
        return _parse(e)
    except ConfigError as exc:
        if exc.file:
            raise
        raise ConfigError(exc.detail, file=file, entry="scenario", field=exc.field) from None


def _parse(e: Entry) -> Scenario:
    model = _model(e)
    acc = get_accelerator(e.str("accelerator"))
    n = e.integer("num_gpus")
    gbps = e.number("inter_node_gbps_per_gpu", acc.nic_bits_per_s / 1e9)
    cluster = Cluster.of(acc, n, e.integer("gpus_per_node", 8), gbps)
    tp, pp, cp = e.integer("tp", 1), e.integer("pp", 1), e.integer("cp", 1)
    if n % (tp * pp * cp):
        raise e.error("num_gpus", f"{n} GPUs are not divisible by tp·pp·cp = {tp * pp * cp}")
    par = Parallelism(tp=tp, pp=pp, cp=cp, dp=e.integer("dp", n // (tp * pp * cp)),
                      vp=e.integer("vp", 1), micro_batch=e.integer("micro_batch", 1),
                      zero_stage=e.integer("zero_stage", 0, minimum=0),
                      recompute=e.str("recompute", "none", choices=RECOMPUTE_MODES),
                      sequence_parallel=e.boolean("sequence_parallel", False))
    precision = e.str("precision", "bf16", choices=TRAINING_PRECISIONS)
    acc.peak(precision)
    seq = e.integer("seq_len", model.seq_len)
    batch = e.integer("global_batch_seqs")
    stack = _stack(e, cluster.devices_per_node)
    check_config(model, n, par, seq_len=seq, global_batch_seqs=batch, stack=stack)
    over = {k: (e.boolean(k) if e.raw(k, None) is not None else None)
            for k in ("tp_comm_overlap", "dp_comm_overlap")}
    return Scenario(model=model, cluster=cluster, parallelism=par, seq_len=seq,
                    global_batch_seqs=batch, precision=precision, stack=stack, **over)


def _stack(e: Entry, devices_per_node: int) -> Stack:
    """The scenario's stack fields; ``shard_group: node`` = the node's GPUs."""
    group = e.raw("shard_group", 0)
    if group == "node":
        group = devices_per_node
    elif group != 0:
        group = e.integer("shard_group")
    return Stack(attention=e.str("attention", "flash", choices=ATTENTION_KINDS),
                 cross_entropy=e.str("cross_entropy", "fused",
                                     choices=tuple(CROSS_ENTROPY_BYTES)),
                 recompute_layers=e.integer("recompute_layers", 0, minimum=0),
                 shard_size=group, ep=e.integer("ep", 1))
