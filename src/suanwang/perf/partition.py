"""Pipeline stage layout: how many transformer layers each pipeline stage holds.

ONE partition, used by both the time model (``perf.step``) and the memory model
(``perf.memory``), so the two always describe the same pipeline.

Rule (whole layers, every stage at least one layer):

- ``pp = 1``: the single stage holds all ``L`` layers, the embedding and the output layer.
- ``vp > 1`` (interleaved 1F1B): equal chunks, ``L / pp`` layers per stage, as Megatron requires
  (``L`` divisible by ``pp·vp``; ``check_config`` / the search reject the rest).
- ``vp = 1``: the last stage also runs the output layer + loss, which costs
  ``head_equivalents = 2hV / (layer forward FLOPs)`` layers. The last stage gets ``k`` layers and
  the other ``L-k`` are spread as evenly as possible over the first ``pp-1`` stages (the larger
  shares first), with ``k`` minimising the heaviest stage ``max(k + head_equivalents,
  ceil((L-k)/(pp-1)))`` (ties: the larger ``k``). This is the FLOP-balanced partition of
  DeepSpeed's ``partition_method`` and Megatron-Core's uneven first/last stage options.

Hardware-independent on purpose (FLOPs, not seconds), so memory and time agree by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suanwang.core.model import ModelSpec
from suanwang.perf import flops as fl


@dataclass(frozen=True, kw_only=True)
class StageLayout:
    """Layers on the first and on the last pipeline stage, one value per candidate (float arrays
    of whole numbers). The first stage holds the most layers of stages ``0..pp-2``; for ``pp = 1``
    first = last = all layers."""

    first_layers: np.ndarray
    last_layers: np.ndarray

    @property
    def max_layers(self) -> np.ndarray:
        return np.maximum(self.first_layers, self.last_layers)


def head_layer_equivalents(model: ModelSpec, seq_len: int) -> float:
    """Output-layer forward FLOPs in units of one transformer layer's forward FLOPs."""
    layer = (fl.layer_matmul_flops_per_token(model)
             + fl.layer_attention_flops_per_token(model, seq_len))
    return fl.head_flops_per_token(model) / layer


def stage_layout(model: ModelSpec, seq_len: int, pp, vp) -> StageLayout:
    """The layout of every candidate (``pp``, ``vp`` arrays; callers ensure ``pp <= L`` and, for
    ``vp > 1``, ``L`` divisible by ``pp·vp``)."""
    L = float(model.layers)
    pp = np.asarray(pp, dtype=float)
    vp = np.asarray(vp, dtype=float)
    head = head_layer_equivalents(model, seq_len)
    rest = np.maximum(pp - 1.0, 1.0)
    ideal = (L - (pp - 1.0) * head) / pp
    best_k = np.full_like(pp, L)
    best = np.full_like(pp, np.inf)
    for d in (2.0, 1.0, 0.0, -1.0):  # the integer optimum is next to ``ideal``; larger k first
        k = np.clip(np.floor(ideal) + d, 1.0, np.maximum(L - (pp - 1.0), 1.0))
        worst = np.maximum(k + head, np.ceil((L - k) / rest))
        better = worst < best - 1e-12
        best = np.where(better, worst, best)
        best_k = np.where(better, k, best_k)
    equal = L / pp
    last = np.where(pp == 1, L, np.where(vp > 1, equal, best_k))
    first = np.where(pp == 1, L, np.where(vp > 1, equal, np.ceil((L - last) / rest)))
    return StageLayout(first_layers=first, last_layers=last)
