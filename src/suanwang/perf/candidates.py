"""A batch of parallel configurations as numpy arrays: the unit the model evaluates at once.

``predict`` evaluates a batch of one; ``plan.search`` evaluates tens of thousands. Both go through
the same formulas (``perf.step``, ``perf.memory``), so a plan's numbers are exactly what
``suanwang predict`` would print for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suanwang.core.parallelism import Parallelism
from suanwang.perf.flops import RECOMPUTE_CODES

RECOMPUTE_NAMES = {v: k for k, v in RECOMPUTE_CODES.items()}
# The grid the planner searches (``plan.search``); ``perf.validate`` resolves unknown tuning cells
# within the same grid, so a validated setting is one the planner could also propose.
MICRO_BATCHES = (1, 2, 4, 8, 16, 32)
VIRTUAL_STAGES = (1, 2, 3, 4, 6, 8)
RECOMPUTE = (0, 1, 2)
ZERO_STAGES = (0, 1, 2, 3)
FIELDS = ("tp", "pp", "dp", "cp", "vp", "micro_batch", "zero_stage", "recompute",
          "sequence_parallel")


@dataclass(frozen=True, kw_only=True)
class Candidates:
    """Parallel configurations, one per array element (int64 arrays; ``recompute`` coded
    0 none, 1 selective, 2 full; ``sequence_parallel`` bool)."""

    tp: np.ndarray
    pp: np.ndarray
    dp: np.ndarray
    cp: np.ndarray
    vp: np.ndarray
    micro_batch: np.ndarray
    zero_stage: np.ndarray
    recompute: np.ndarray
    sequence_parallel: np.ndarray

    def __len__(self) -> int:
        return int(self.tp.shape[0])

    @classmethod
    def of(cls, par: Parallelism) -> Candidates:
        """A batch holding the single configuration ``par``."""
        return cls(**{f: np.array([getattr(par, f)]) for f in FIELDS[:7]},
                   recompute=np.array([RECOMPUTE_CODES[par.recompute]]),
                   sequence_parallel=np.array([par.sequence_parallel]))

    @classmethod
    def of_many(cls, pars: list[Parallelism]) -> Candidates:
        """A batch holding each configuration of ``pars``, in order."""
        return cls(**{f: np.array([getattr(p, f) for p in pars]) for f in FIELDS[:7]},
                   recompute=np.array([RECOMPUTE_CODES[p.recompute] for p in pars]),
                   sequence_parallel=np.array([p.sequence_parallel for p in pars], dtype=bool))

    def take(self, index) -> Candidates:
        """The sub-batch at ``index`` (a boolean mask or integer indices)."""
        return Candidates(**{f: getattr(self, f)[index] for f in FIELDS})

    def parallelism(self, i: int) -> Parallelism:
        """Element ``i`` as a Parallelism value."""
        return Parallelism(
            tp=int(self.tp[i]), pp=int(self.pp[i]), dp=int(self.dp[i]), cp=int(self.cp[i]),
            vp=int(self.vp[i]), micro_batch=int(self.micro_batch[i]),
            zero_stage=int(self.zero_stage[i]),
            recompute=RECOMPUTE_NAMES[int(self.recompute[i])],
            sequence_parallel=bool(self.sequence_parallel[i]))
