"""Memory model against Korthikanti et al. 2022 Table 2 and the ZeRO paper's 16 bytes/param."""

from __future__ import annotations

import numpy as np
import pytest

from suanwang.catalog import get_model
from suanwang.core.parallelism import Parallelism
from suanwang.perf.candidates import Candidates
from suanwang.perf.memory import activation_bytes_per_layer, inflight_microbatches, memory

M = get_model("gpt3-175b")  # a = 96, h = 12288, f = 4h, MHA: Korthikanti's own setting
S, B = 2048, 1


def per_layer(**kw) -> float:
    return float(activation_bytes_per_layer(M, S, Candidates.of(Parallelism(**kw)))[0])


@pytest.mark.parametrize("t", [1, 2, 8])
def test_korthikanti_table2(t):
    sbh = S * B * M.hidden
    score = 5 * M.heads * S / (M.hidden * t)
    assert per_layer(tp=t) == pytest.approx(sbh * (10 + 24 / t + score))
    assert per_layer(tp=t, sequence_parallel=True) == pytest.approx(sbh * (34 / t + score))
    assert per_layer(tp=t, sequence_parallel=True, recompute="selective") == pytest.approx(
        sbh * 34 / t)
    assert per_layer(tp=t, recompute="full") == pytest.approx(2 * sbh)
    assert per_layer(tp=t, recompute="full", sequence_parallel=True) == pytest.approx(
        2 * sbh / t)


def test_no_tp_is_34_plus_5as_over_h():
    """Korthikanti eq. 1: sbh(34 + 5as/h) without any parallelism."""
    assert per_layer() == pytest.approx(S * B * M.hidden * (34 + 5 * M.heads * S / M.hidden))


def test_interleaved_inflight_factor():
    c = Candidates.of(Parallelism(pp=8, vp=3, dp=1))
    got = float(inflight_microbatches(c, np.array([64.0]))[0])
    assert got == pytest.approx(8 * (1 + 7 / (8 * 3)))
    assert float(inflight_microbatches(Candidates.of(Parallelism(pp=8)), np.array([4.0]))[0]) == 4


def test_zero_stages_shard_states():
    base = dict(tp=8, dp=16)  # pp 1: ZeRO-2/3 do not combine with pipelining
    mems = {z: memory(M, S, Candidates.of(Parallelism(**base, zero_stage=z)), np.array([8.0]),
                      80e9) for z in range(4)}
    p = float(mems[0].weights[0]) / 2
    assert float(mems[0].state_bytes()[0]) == pytest.approx(16 * p)  # 2 + 2 + 12 (ZeRO §3)
    assert float(mems[1].optimizer[0]) == pytest.approx(12 * p / 16)
    assert float(mems[2].gradients[0]) == pytest.approx(2 * p / 16)
    assert float(mems[3].weights[0]) == pytest.approx(2 * p / 16)
    totals = [float(mems[z].total[0]) for z in range(4)]
    assert totals[0] > totals[1] > totals[2] > totals[3] - 2 * p / 8  # z3 adds gather buffers


def test_more_memory_never_less_feasible():
    c = Candidates(**{k: np.array(v) for k, v in dict(
        tp=[1, 8, 8, 4], pp=[1, 8, 1, 2], dp=[64, 1, 8, 8], cp=[1, 1, 1, 1], vp=[1, 1, 1, 1],
        micro_batch=[1, 2, 1, 4], zero_stage=[3, 0, 1, 2], recompute=[2, 0, 1, 0],
        sequence_parallel=[False, True, True, False]).items()})
    small = memory(M, S, c, np.array([8.0] * 4), 40e9).fits
    big = memory(M, S, c, np.array([8.0] * 4), 80e9).fits
    assert np.all(big >= small)
