"""Mixed-speed workers: deal micro-batches to ranks in proportion to speed, keep the math exact.

A step's global batch is ``M`` equal micro-batches. Rank ``r`` takes ``m_r`` of them
(``sum m_r = M``) and back-propagates each micro-batch's mean loss scaled by ``W / M``. Data
parallel reduction averages over the ``W`` ranks, so the applied gradient is

    (1/W) * sum_r sum_{j in r} (W/M) g_j = (1/M) * sum_j g_j,

exactly the even-split (and single-device) gradient, whatever the ``m_r``. Step time becomes
``max_r m_r * t_r``, minimised when ``m_r`` is proportional to speed ``1 / t_r``.
"""

from __future__ import annotations

from collections.abc import Sequence

from suanwang.core.errors import ConfigError
from suanwang.runtime.config import DataConfig


def proportional_split(total: int, speeds: Sequence[float]) -> list[int]:
    """``total`` micro-batches over ranks in proportion to ``speeds``, each rank at least one.

    Largest-remainder (Hamilton) apportionment after giving every rank one micro-batch.
    """
    n = len(speeds)
    if n == 0 or total < n:
        raise ConfigError(f"cannot give {n} ranks at least one of {total} micro-batches",
                          entry="data", field="global_micro_batches")
    if any(s <= 0 for s in speeds):
        raise ConfigError("rank speeds must be > 0", entry="data", field="rank_speeds")
    spare = total - n
    quotas = [spare * s / sum(speeds) for s in speeds]
    counts = [1 + int(q) for q in quotas]
    order = sorted(range(n), key=lambda i: (-(quotas[i] - int(quotas[i])), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def rank_counts(data: DataConfig, world: int) -> list[int]:
    """Micro-batches per rank for this world size, as the job's ``split`` asks."""
    if data.split == "explicit" and len(data.micro_batches) == world:
        return list(data.micro_batches)
    if data.split == "proportional" and len(data.rank_speeds) == world:
        return proportional_split(data.global_micro_batches, data.rank_speeds)
    if data.split != "even":
        given = len(data.micro_batches or data.rank_speeds)
        raise ConfigError(f"split '{data.split}' gives {given} entries but the world has "
                          f"{world} ranks; give one per rank",
                          entry="data", field=data.split)
    return proportional_split(data.global_micro_batches, [1.0] * world)


def loss_scale(total_micro_batches: int, world: int) -> float:
    """Factor on each micro-batch's mean loss so averaged gradients equal the even-split ones."""
    return world / total_micro_batches


def step_time_s(counts: Sequence[int], seconds_per_micro_batch: Sequence[float]) -> float:
    """Predicted step time: the slowest rank bounds a synchronous step."""
    return max(m * t for m, t in zip(counts, seconds_per_micro_batch, strict=True))
