from __future__ import annotations

import copy

import pytest
import torch

from suanwang.core.errors import ConfigError
from suanwang.runtime.config import DataConfig, ModelConfig
from suanwang.runtime.hetero import loss_scale, proportional_split, rank_counts, step_time_s
from suanwang.runtime.model import GPT


@pytest.mark.parametrize(("total", "speeds", "want"), [
    (4, [1, 1], [2, 2]),
    (6, [3, 1], [4, 2]),
    (8, [1, 1, 2], [2, 2, 4]),
    (3, [100, 1, 1], [1, 1, 1]),
    (7, [1, 1], [4, 3]),
])
def test_proportional_split(total, speeds, want):
    got = proportional_split(total, speeds)
    assert got == want and sum(got) == total and min(got) >= 1


def test_split_errors_and_modes():
    with pytest.raises(ConfigError):
        proportional_split(1, [1, 1])
    assert rank_counts(DataConfig(global_micro_batches=6), 2) == [3, 3]
    assert rank_counts(DataConfig(global_micro_batches=4, split="explicit",
                                  micro_batches=(3, 1)), 2) == [3, 1]
    # the proportional split of a 3x-slower rank beats the even split
    assert step_time_s([4, 2], [1.0, 3.0]) < step_time_s([3, 3], [1.0, 3.0])


def _grads(model):
    return [p.grad.clone() for p in model.parameters()]


def test_uneven_split_gradient_equals_even_split_math():
    """Simulate 2 data-parallel ranks in one process: average of rank grads (what DDP does)."""
    torch.manual_seed(0)
    cfg = ModelConfig(layers=2, hidden=32, heads=2, ffn_hidden=64, seq_len=16)
    base = GPT(cfg)
    micro = [torch.randint(0, 256, (2, 17)) for _ in range(4)]

    def rank_grads(batches, world, total):
        m = copy.deepcopy(base)
        for b in batches:
            (m(b[:, :-1], b[:, 1:]) * loss_scale(total, world)).backward()
        return _grads(m)

    def reduced(counts):
        offs = [sum(counts[:r]) for r in range(len(counts))]
        per_rank = [rank_grads(micro[o:o + c], len(counts), 4) for o, c in zip(offs, counts,
                                                                             strict=True)]
        return [sum(gs) / len(counts) for gs in zip(*per_rank, strict=True)]

    even, uneven = reduced([2, 2]), reduced([3, 1])
    single = rank_grads(micro, 1, 4)  # one device, mean over all micro-batches
    for a, b, c in zip(even, uneven, single, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(a, c, rtol=1e-5, atol=1e-7)
