"""Byte-level corpus over text files, with a resumable, world-size-independent position.

The corpus is cut into non-overlapping windows of ``seq_len + 1`` bytes (input and shifted
target). Each epoch visits every window once in an order drawn from ``seed + epoch``. Global
sample ``i`` is window ``perm[epoch(i)][i mod n]``; step ``s`` consumes global samples
``[s*G, (s+1)*G)``. The loader's whole state is therefore one integer, ``samples_seen``, which is
saved in every checkpoint, so a resume neither replays nor skips data, and resharding to another
world size only changes which rank reads which micro-batch, not which samples a step uses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import torch

from suanwang.core.errors import ConfigError

SAMPLE_DIR = Path(__file__).with_name("data")


def text_files(paths: Sequence[str]) -> list[Path]:
    """Expand files and directories (``*.txt`` inside); empty means the bundled sample."""
    if not paths:
        return sorted(SAMPLE_DIR.glob("*.txt"))
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(p.glob("*.txt"))
            if not found:
                raise ConfigError(f"directory '{raw}' holds no *.txt files; add text files or "
                                  "list the files themselves", entry="data", field="paths")
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise ConfigError(f"'{raw}' is neither a file nor a directory; fix the path",
                              entry="data", field="paths")
    return out


def check_corpus(paths: Sequence[str], *, seq_len: int) -> None:
    """Fail before launch (not in every restart) when the corpus cannot feed one sequence."""
    files = text_files(paths)
    size = sum(f.stat().st_size for f in files) + max(0, len(files) - 1)  # joined by newlines
    if (size - 1) // seq_len < 1:
        raise ConfigError(f"corpus has {size} bytes, fewer than one sequence of {seq_len + 1}; "
                          "add text or lower model.seq_len", entry="data", field="paths")


class Corpus:
    """All bytes of the text files as one uint8 tensor, windowed for next-byte prediction."""

    def __init__(self, paths: Sequence[str], *, seq_len: int, seed: int) -> None:
        files = text_files(paths)
        blob = b"\n".join(f.read_bytes() for f in files)
        self.seq_len = seq_len
        self.seed = seed
        self.tokens = torch.frombuffer(bytearray(blob), dtype=torch.uint8)
        # identifies the data in checkpoints: a resume onto another corpus is refused
        self.digest = hashlib.sha256(blob).hexdigest()[:16]
        self.windows = (len(blob) - 1) // seq_len
        if self.windows < 1:
            raise ConfigError(f"corpus has {len(blob)} bytes, fewer than one sequence of "
                              f"{seq_len + 1}; add text or lower model.seq_len",
                              entry="data", field="paths")
        self._perm_epoch = -1
        self._perm = torch.empty(0, dtype=torch.long)

    def _order(self, epoch: int) -> torch.Tensor:
        if epoch != self._perm_epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm = torch.randperm(self.windows, generator=g)
            self._perm_epoch = epoch
        return self._perm

    def samples(self, first: int, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Global samples ``first .. first+count-1`` as (inputs, targets), int64 [count, seq]."""
        rows = []
        for i in range(first, first + count):
            start = int(self._order(i // self.windows)[i % self.windows]) * self.seq_len
            rows.append(self.tokens[start:start + self.seq_len + 1])
        batch = torch.stack(rows).long()
        return batch[:, :-1], batch[:, 1:]


class ShardedLoader:
    """This rank's micro-batches of each global step; state is ``samples_seen`` only.

    ``counts[r]`` is the number of micro-batches rank ``r`` takes (uneven under mixed speeds);
    rank ``r`` reads global micro-batches ``sum(counts[:r]) .. sum(counts[:r+1])-1``.
    """

    def __init__(self, corpus: Corpus, *, micro_batch_seqs: int, counts: Sequence[int],
                 rank: int) -> None:
        self.corpus = corpus
        self.micro = micro_batch_seqs
        self.counts = list(counts)
        self.rank = rank
        self.samples_seen = 0

    @property
    def global_batch_seqs(self) -> int:
        return self.micro * sum(self.counts)

    def next_step(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        first_mb = sum(self.counts[: self.rank])
        out = []
        for j in range(first_mb, first_mb + self.counts[self.rank]):
            out.append(self.corpus.samples(self.samples_seen + j * self.micro, self.micro))
        self.samples_seen += self.global_batch_seqs
        return out

    def state_dict(self) -> dict[str, int]:
        return {"samples_seen": self.samples_seen}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.samples_seen = int(state["samples_seen"])
