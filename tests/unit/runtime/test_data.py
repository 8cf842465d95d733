from __future__ import annotations

import torch

from suanwang.runtime.data import Corpus, ShardedLoader


def _loader(counts, rank, seq_len=32):
    corpus = Corpus([], seq_len=seq_len, seed=3)
    return ShardedLoader(corpus, micro_batch_seqs=2, counts=counts, rank=rank)


def test_bundled_sample_is_real_text():
    corpus = Corpus([], seq_len=64, seed=0)
    assert corpus.tokens.numel() > 20_000
    x, y = corpus.samples(0, 3)
    assert x.shape == (3, 64) and torch.equal(x[:, 1:], y[:, :-1])


def test_resume_from_position_replays_nothing():
    a = _loader([2, 2], 0)
    straight = [a.next_step() for _ in range(30)]  # spans several epochs
    b = _loader([2, 2], 0)
    for _ in range(17):
        b.next_step()
    c = _loader([2, 2], 0)
    c.load_state_dict(b.state_dict())
    for got, want in zip([c.next_step() for _ in range(13)], straight[17:], strict=True):
        for (gx, _), (wx, _) in zip(got, want, strict=True):
            assert torch.equal(gx, wx)


def test_a_step_reads_the_same_samples_at_any_world_size():
    def step_samples(counts):
        rows = []
        for r in range(len(counts)):
            ld = _loader(counts, r)
            ld.next_step()
            rows += [x for x, _ in ld.next_step()]
        return torch.cat(rows)

    one = step_samples([4])
    assert torch.equal(one, step_samples([2, 2]))
    assert torch.equal(one, step_samples([3, 1]))
