"""A plain DDP loop of the same model and data: the yardstick for the runtime's overhead.

No supervisor, checkpoints, heartbeats, events or fault hooks: ``torch.multiprocessing`` spawns
the ranks, each trains ``steps`` steps and rank 0 prints tokens/s over the steps after warm-up.
``python -m suanwang.runtime plain JOB.json --steps N``.
"""

from __future__ import annotations

import json
import os
import socket
import time
from typing import Any

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP

from suanwang.runtime.config import TrainConfig, from_dict
from suanwang.runtime.data import Corpus, ShardedLoader
from suanwang.runtime.hetero import rank_counts
from suanwang.runtime.model import GPT

WARMUP_STEPS = 3


def _rank(rank: int, world: int, port: int, cfg_dict: dict[str, Any], q: Any) -> None:
    cfg = from_dict(cfg_dict)
    torch.set_num_threads(cfg.run.threads_per_rank)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)
    torch.manual_seed(cfg.train.seed)
    model = DDP(GPT(cfg.model))
    optim = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr, betas=(0.9, 0.95),
                              weight_decay=cfg.train.weight_decay)
    counts = rank_counts(cfg.data, world)
    loader = ShardedLoader(Corpus(cfg.data.paths, seq_len=cfg.model.seq_len, seed=cfg.train.seed),
                           micro_batch_seqs=cfg.data.micro_batch_seqs, counts=counts, rank=rank)
    for step in range(cfg.train.steps):
        if step == WARMUP_STEPS:
            t0 = time.perf_counter()
        batches = loader.next_step()
        for i, (x, y) in enumerate(batches):
            ctx = model.no_sync() if i < len(batches) - 1 else torch.enable_grad()
            with ctx:
                (model(x, y) * world / sum(counts)).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
        optim.step()
        optim.zero_grad(set_to_none=True)
    dt = time.perf_counter() - t0
    if rank == 0:
        steps = cfg.train.steps - WARMUP_STEPS
        q.put({"tokens_per_s": steps * loader.global_batch_seqs * cfg.model.seq_len / dt,
               "step_time_s": dt / steps})
    dist.destroy_process_group()


def run_plain(cfg: TrainConfig) -> dict[str, float]:
    """Train ``cfg.train.steps`` plain DDP steps on ``cfg.run.nproc`` ranks; tokens/s."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    os.environ.setdefault("OMP_NUM_THREADS", str(cfg.run.threads_per_rank))
    ctx = mp.get_context("spawn")
    q = ctx.SimpleQueue()
    mp.start_processes(_rank, args=(cfg.run.nproc, port, cfg.to_dict(), q),
                       nprocs=cfg.run.nproc, join=True, start_method="spawn")
    return q.get()


def main(args: Any) -> int:
    from suanwang.runtime.config import load_job

    cfg = load_job(args.job)
    if args.steps:
        cfg = cfg.with_overrides(train={"steps": args.steps})
    print(json.dumps(run_plain(cfg)))
    return 0
