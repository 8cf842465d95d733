"""The tiny GPT as a 2-stage torch.distributed.pipelining run on gloo, one rank throttled."""

from __future__ import annotations

import pytest
import torch

from suanwang.runtime.config import ModelConfig
from suanwang.runtime.model import GPT
from suanwang.runtime.pipeline_run import lm_loss, run_pipelines

CFG = ModelConfig(layers=3, hidden=64, heads=2, ffn_hidden=128, seq_len=32)


def test_pipeline_matches_the_whole_model_and_throttle_slows_a_stage():
    base = {"cfg": CFG, "micro_batches": 2, "micro_batch_seqs": 2, "slow_rank": 1,
            "steps": 3, "warmup": 0}
    even, slow = run_pipelines([{**base, "split": [2, 1], "slow_factor": 1.0},
                                {**base, "split": [2, 1], "slow_factor": 4.0}])
    # step 1's loss = the unsplit model's loss on the same batch (same seeds as run_stage)
    torch.manual_seed(1234)
    gpt = GPT(CFG)
    x = torch.randint(0, CFG.vocab, (4, CFG.seq_len), generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        want = lm_loss(gpt(x), torch.roll(x, -1, dims=1)).item()
    assert even["losses"][0] == pytest.approx(want, rel=1e-5)
    assert slow["losses"] == pytest.approx(even["losses"], rel=1e-5)  # throttling is timing only
    assert slow["ranks"][1]["slept_s"] > 0 and even["ranks"][1]["slept_s"] == 0
    assert sum(slow["step_s"]) > sum(even["step_s"])
