"""A pipeline over different accelerator types: layers per stage by speed, bounded by memory.

Stages are contiguous slices of the model's ``L`` layers, one stage per accelerator group, in a
fixed order. Stage ``i`` runs at ``speed_i`` (relative to the reference on which the per-layer
costs were taken) and holds ``n_i`` layers. With micro-batches of ``b`` sequences, a stage's
forward + backward time per micro-batch is

    t_i = b * (n_i * layer_s + [i = 0] * first_s + [i = S-1] * last_s) / speed_i

(``layer_s``, ``first_s``, ``last_s``: reference seconds per sequence for one block, the
embeddings, the head + loss). Each hop between stages sends one activation forward and one
gradient back per micro-batch over its link: ``h_j = 2 * (latency_j + b * act_bytes / bw_j)``.
A synchronous pipeline (GPipe, Huang et al. 2019; the same bound holds for 1F1B, Narayanan et
al. 2019) with ``m`` micro-batches then takes

    step_s = sum_i t_i + sum_j h_j + (m - 1) * max(max_i t_i, max_j h_j) + m * overhead_s

fill and drain once, then one micro-batch per bottleneck period (``overhead_s``: a fixed cost
per micro-batch, e.g. the schedule's bookkeeping). The layer split minimises the bottleneck
``max_i t_i`` exactly (dynamic programme over contiguous splits, each ``n_i >= 1`` and
``n_i * bytes_per_layer <= memory_bytes_i``): with no memory limit and no first/last costs this
is layers proportional to speed, rounded the best way. ``m`` is the divisor of the global batch
with the lowest predicted step: more micro-batches shrink the fill/drain bubble until the
per-micro-batch costs win, and no stage waits longer than the bubble for work.
"""

from __future__ import annotations

from dataclasses import dataclass

from suanwang.core.errors import ConfigError, InfeasibleError


@dataclass(frozen=True, kw_only=True)
class StageDevice:
    """One stage's accelerator group: relative speed, memory for layers (bytes), and the link
    to the *next* stage (bytes/s, s; ignored for the last stage)."""

    name: str
    speed: float
    memory_bytes: float = float("inf")
    link_bytes_per_s: float = float("inf")
    link_latency_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class LayerCosts:
    """Reference seconds per sequence (forward + backward) and sizes, for one model."""

    layers: int
    layer_s: float
    first_s: float = 0.0
    last_s: float = 0.0
    bytes_per_layer: float = 0.0
    activation_bytes_per_seq: float = 0.0
    overhead_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class PipelinePlan:
    split: tuple[int, ...]
    micro_batches: int
    micro_batch_seqs: float
    stage_s: tuple[float, ...]
    hop_s: tuple[float, ...]
    step_time_s: float
    bubble_fraction: float

    def to_dict(self) -> dict:
        return {"split": list(self.split), "micro_batches": self.micro_batches,
                "micro_batch_seqs": self.micro_batch_seqs, "stage_s": list(self.stage_s),
                "hop_s": list(self.hop_s), "step_time_s": self.step_time_s,
                "bubble_fraction": self.bubble_fraction}


def _stage_s(n: int, i: int, stages: list[StageDevice], c: LayerCosts) -> float:
    """Reference-per-sequence time of stage ``i`` holding ``n`` layers, at its speed."""
    extra = (c.first_s if i == 0 else 0.0) + (c.last_s if i == len(stages) - 1 else 0.0)
    return (n * c.layer_s + extra) / stages[i].speed


def _fits(n: int, i: int, stages: list[StageDevice], c: LayerCosts) -> bool:
    return n * c.bytes_per_layer <= stages[i].memory_bytes


def best_split(stages: list[StageDevice], costs: LayerCosts) -> tuple[int, ...]:
    """Contiguous split of ``costs.layers`` over ``stages`` minimising the slowest stage.

    Raises :class:`InfeasibleError` when no split fits every stage's memory.
    """
    s, n_layers = len(stages), costs.layers
    inf = float("inf")
    # best[i][k]: lowest bottleneck for stages 0..i-1 holding the first k layers
    best = [[inf] * (n_layers + 1) for _ in range(s + 1)]
    choice = [[0] * (n_layers + 1) for _ in range(s + 1)]
    best[0][0] = 0.0
    for i in range(1, s + 1):
        for k in range(i, n_layers - (s - i) + 1):
            for n in range(1, k - (i - 1) + 1):
                if best[i - 1][k - n] == inf or not _fits(n, i - 1, stages, costs):
                    continue
                value = max(best[i - 1][k - n], _stage_s(n, i - 1, stages, costs))
                if value < best[i][k]:
                    best[i][k], choice[i][k] = value, n
    if best[s][n_layers] == inf:
        raise InfeasibleError(f"{n_layers} layers do not fit the {s} stages' memory "
                              f"({[st.name for st in stages]}); add a stage or memory")
    split, k = [], n_layers
    for i in range(s, 0, -1):
        split.append(choice[i][k])
        k -= choice[i][k]
    return tuple(reversed(split))


def even_split(layers: int, stages: int) -> tuple[int, ...]:
    """``layers`` over ``stages`` as evenly as possible (earlier stages take the remainder)."""
    return tuple(layers // stages + (1 if i < layers % stages else 0) for i in range(stages))


def predict(stages: list[StageDevice], costs: LayerCosts, split: tuple[int, ...], *,
            global_batch_seqs: int, micro_batches: int) -> PipelinePlan:
    """Step time of ``split`` with ``micro_batches`` micro-batches (formula in module doc)."""
    if len(split) != len(stages) or sum(split) != costs.layers or min(split) < 1:
        raise ConfigError(f"split {list(split)} must give each of {len(stages)} stages >= 1 "
                          f"layer and sum to {costs.layers}", field="split")
    if micro_batches < 1 or global_batch_seqs % micro_batches:
        raise ConfigError(f"{micro_batches} micro-batches must divide the global batch "
                          f"{global_batch_seqs}", field="micro_batches")
    b = global_batch_seqs / micro_batches
    t = tuple(b * _stage_s(n, i, stages, costs) for i, n in enumerate(split))
    hops = tuple(2 * (st.link_latency_s + b * costs.activation_bytes_per_seq
                      / st.link_bytes_per_s) for st in stages[:-1])
    period = max(max(t), max(hops, default=0.0))
    step = sum(t) + sum(hops) + (micro_batches - 1) * period + micro_batches * costs.overhead_s
    busy = micro_batches * max(t)
    return PipelinePlan(split=tuple(split), micro_batches=micro_batches, micro_batch_seqs=b,
                        stage_s=t, hop_s=hops, step_time_s=step,
                        bubble_fraction=max(0.0, 1 - busy / step))


def plan_pipeline(stages: list[StageDevice], costs: LayerCosts, *, global_batch_seqs: int,
                  micro_batches: int | None = None, split: tuple[int, ...] | None = None,
                  min_micro_batch_seqs: int = 1) -> PipelinePlan:
    """The planned pipeline: best split (or ``split``), best micro-batch count (or the given)
    among those whose micro-batches hold at least ``min_micro_batch_seqs`` sequences (a stage
    that is itself data-parallel over ``d`` replicas needs ``d``)."""
    if len(stages) < 2:
        raise ConfigError("a pipeline needs at least two stages", field="stages")
    if any(st.speed <= 0 for st in stages):
        raise ConfigError("every stage speed must be > 0", field="speed")
    if costs.layers < len(stages):
        raise ConfigError(f"{costs.layers} layers cannot fill {len(stages)} stages",
                          field="layers")
    split = split or best_split(stages, costs)
    counts = [micro_batches] if micro_batches else [
        m for m in range(1, global_batch_seqs + 1) if global_batch_seqs % m == 0
        and global_batch_seqs // m >= min_micro_batch_seqs] or [1]
    plans = [predict(stages, costs, split, global_batch_seqs=global_batch_seqs,
                     micro_batches=m) for m in counts]
    return min(plans, key=lambda p: p.step_time_s)
