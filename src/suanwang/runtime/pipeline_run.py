"""Mixed chips in one pipeline: the tiny GPT as stages with ``torch.distributed.pipelining``.

Each rank builds the same seeded :class:`GPT`, keeps its contiguous slice of blocks (stage 0 also
the embeddings, the last stage also the final norm and head) and runs a
:class:`~torch.distributed.pipelining.ScheduleGPipe` over ``micro_batches`` micro-batches on gloo;
no hand-written schedule. A *slower chip* is emulated on one rank by :class:`Throttle`: around
its stage's forward and backward it measures the compute time ``t`` and sleeps ``(k - 1) t``,
so that rank computes ``k`` times slower (speed ``1 / k``) whatever the host's load.

:func:`probe_costs` measures what the planner needs (per micro-batch, forward + backward): one
block, the embeddings, the head + loss; run on every rank at once, so the host's cores are as
contended as in the pipelined run. A p2p send of one activation between the two processes is
timed too (``link_s``).
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from suanwang.runtime.config import ModelConfig
from suanwang.runtime.model import GPT


class _Mark(torch.autograd.Function):
    """Identity whose forward and backward call ``hook(phase)``: time marks for :class:`Throttle`.
    """

    @staticmethod
    def forward(ctx, x, throttle, phase):  # type: ignore[override]
        ctx.throttle, ctx.phase = throttle, phase
        throttle.mark(f"fwd_{phase}")
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        ctx.throttle.mark(f"bwd_{'end' if ctx.phase == 'begin' else 'begin'}")
        return grad, None, None


@dataclass
class Throttle:
    """Make a stage ``factor`` times slower: after each forward/backward span of ``t`` seconds,
    sleep ``(factor - 1) t``. ``factor`` = 1: no-op."""

    factor: float
    t0: float = 0.0
    slept_s: float = 0.0

    def mark(self, what: str) -> None:
        now = time.perf_counter()
        if what.endswith("begin"):
            self.t0 = now
        elif self.factor > 1:
            pause = (self.factor - 1) * (now - self.t0)
            time.sleep(pause)
            self.slept_s += pause


class Stage(nn.Module):
    """Blocks ``[first, last)`` of a GPT; embeddings on stage 0, norm + head on the last."""

    def __init__(self, gpt: GPT, first: int, last: int, *, is_first: bool, is_last: bool,
                 throttle: Throttle) -> None:
        super().__init__()
        self.is_first, self.is_last, self.throttle = is_first, is_last, throttle
        self.tok = gpt.tok if is_first else None
        self.pos = gpt.pos if is_first else None
        self.blocks = nn.ModuleList(gpt.blocks[first:last])
        self.ln_f = gpt.ln_f if is_last else None
        self.head = gpt.head if is_last else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.throttle.mark("fwd_begin")
        if self.is_first:
            x = self.tok(x) + self.pos(torch.arange(x.shape[1], device=x.device))
        else:
            x = _Mark.apply(x, self.throttle, "begin")
        for block in self.blocks:
            x = block(x)
        if self.is_last:
            x = self.head(self.ln_f(x))
        x = _Mark.apply(x, self.throttle, "end")
        self.throttle.mark("fwd_end")
        return x


def lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1))


def _median_s(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def probe_costs(cfg: ModelConfig, micro_batch_seqs: int, reps: int = 15) -> dict[str, float]:
    """Seconds per micro-batch, forward + backward, on this process: one block, embeddings,
    norm + head + loss (medians of ``reps``; one warm-up each), on one thread like each stage."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    gpt = GPT(cfg)
    ids = torch.randint(0, cfg.vocab, (micro_batch_seqs, cfg.seq_len))
    h = torch.randn(micro_batch_seqs, cfg.seq_len, cfg.hidden, requires_grad=True)

    def block():
        gpt.blocks[0](h).sum().backward()

    def embed():
        (gpt.tok(ids) + gpt.pos(torch.arange(cfg.seq_len))).sum().backward()

    def head():
        lm_loss(gpt.head(gpt.ln_f(h)), ids).backward()

    out = {}
    for name, fn in (("block_s", block), ("embed_s", embed), ("head_s", head)):
        fn()
        out[name] = _median_s(fn, reps)
    out["activation_bytes"] = micro_batch_seqs * cfg.seq_len * cfg.hidden * 4
    return out


def run_stage(rank: int, world: int, *, cfg: ModelConfig, split: list[int],
              micro_batches: int, micro_batch_seqs: int, slow_rank: int, slow_factor: float,
              steps: int, warmup: int) -> dict[str, Any]:
    """This rank's part of a pipelined training run; its step times (after ``warmup``)."""
    from torch.distributed.pipelining import PipelineStage, ScheduleGPipe

    torch.manual_seed(1234)
    gpt = GPT(cfg)
    first = sum(split[:rank])
    throttle = Throttle(factor=slow_factor if rank == slow_rank else 1.0)
    stage_mod = Stage(gpt, first, first + split[rank], is_first=rank == 0,
                      is_last=rank == world - 1, throttle=throttle)
    stage = PipelineStage(stage_mod, rank, world, torch.device("cpu"))
    schedule = ScheduleGPipe(stage, micro_batches, loss_fn=lm_loss)
    optim = torch.optim.AdamW(stage_mod.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(7)
    batch = micro_batches * micro_batch_seqs
    times, losses = [], []
    for _ in range(warmup + steps):
        x = torch.randint(0, cfg.vocab, (batch, cfg.seq_len), generator=gen)
        y = torch.roll(x, -1, dims=1)
        dist.barrier()
        t0 = time.perf_counter()
        if rank == 0:
            schedule.step(x)
        elif rank == world - 1:
            mb_losses: list[torch.Tensor] = []
            schedule.step(target=y, losses=mb_losses)
            losses.append(float(torch.stack(mb_losses).detach().mean()))
        else:
            schedule.step()
        optim.step()
        optim.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t0)
    return {"step_s": times[warmup:], "losses": losses, "slept_s": throttle.slept_s}


def link_seconds(rank: int, n_bytes: int, reps: int = 20) -> float:
    """Median one-way time of an ``n_bytes`` send from rank 0 to rank 1 (half a round trip)."""
    buf = torch.zeros(n_bytes // 4)
    times = []
    for _ in range(reps):
        dist.barrier()
        t0 = time.perf_counter()
        if rank == 0:
            dist.send(buf, 1)
            dist.recv(buf, 1)
        elif rank == 1:
            dist.recv(buf, 0)
            dist.send(buf, 0)
        times.append((time.perf_counter() - t0) / 2)
    return statistics.median(times)


def worker(rank: int, world: int, port: int, jobs: list[dict[str, Any]], out) -> None:
    """One process of :func:`run_pipelines`: every job in turn on one gloo group."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        link = link_seconds(rank, jobs[0]["micro_batch_seqs"] * jobs[0]["cfg"].seq_len
                            * jobs[0]["cfg"].hidden * 4)
        for i, job in enumerate(jobs):
            dist.barrier()
            if job.get("probe"):  # every rank at once: the contention of a running pipeline
                res = probe_costs(job["cfg"], job["micro_batch_seqs"])
            else:
                res = run_stage(rank, world, **job)
            out.put({"job": i, "rank": rank, "link_s": link, **res})
    finally:
        dist.destroy_process_group()


def run_pipelines(jobs: list[dict[str, Any]], world: int = 2) -> list[dict[str, Any]]:
    """Run each job (``run_stage`` keyword arguments) as a ``world``-stage pipeline on gloo;
    per job: every rank's step times, the last stage's losses, the measured link time. A job
    ``{"probe": True, "cfg": ..., "micro_batch_seqs": b}`` runs :func:`probe_costs` on every
    rank at once instead and returns rank 0's costs."""
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    out = ctx.SimpleQueue()
    mp.start_processes(worker, args=(world, port, jobs, out), nprocs=world, join=True,
                       start_method="spawn")
    results: list[dict[str, Any]] = [{"ranks": {}} for _ in jobs]
    while not out.empty():
        r = out.get()
        results[r["job"]]["ranks"][r["rank"]] = r
    for job, res in zip(jobs, results, strict=True):
        ranks = res["ranks"]
        res["link_s"] = ranks[0]["link_s"]
        if job.get("probe"):
            res.update({k: v for k, v in ranks[0].items() if k.endswith(("_s", "_bytes"))})
            continue
        res["step_s"] = [max(ts) for ts in zip(*(ranks[k]["step_s"] for k in ranks),
                                                strict=True)]
        res["losses"] = ranks[world - 1]["losses"]
    return results
