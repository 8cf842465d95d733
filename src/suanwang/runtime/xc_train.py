"""One rank of a job whose replicas sit in several centers: sync DDP or DiLoCo over a WAN.

The same shape as ``train.py``'s loop (which hands over to :func:`train_xc` when the job's
``sync`` section spans centers or asks for DiLoCo), with the gradient exchange made explicit so
that exactly the cross-center traffic goes through the emulated link (``runtime/wan.py``):

* ``ddp``: every step one flat fp32 vector (all gradients + loss + rank 0's clock decisions) is
  summed inside each center, then across centers by the centers' leaders over the WAN.
* ``diloco``: every step the vector is summed inside the center only; every
  ``outer_every_steps`` steps (and at the last step) :func:`diloco.outer_step` averages the
  parameter deltas across centers (``runtime/diloco.py``, Douillard et al. 2023). Clock-based
  decisions (checkpoint every ``checkpoint.interval_s``, the ``max_seconds`` deadline) reach
  other centers only with that outer message, so they take effect at the next outer step.

Checkpoints (``xc_checkpoint.py``) hold each center's weights and AdamW moments and the outer
anchor and momentum, so a resumed run continues bit-identically (the tests check the digest).
Events add ``wan_s`` and ``wan_bytes`` (this rank's time in and bytes sent over the WAN, per
step) and, at outer steps, ``window_loss``: the mean training loss over all centers since the
previous outer step.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from suanwang.runtime.config import TrainConfig
from suanwang.runtime.data import Corpus, ShardedLoader
from suanwang.runtime.diloco import (
    OuterState,
    flat_grads,
    hierarchical_all_reduce,
    make_groups,
    outer_step,
    set_flat_grads,
    wan_group,
)
from suanwang.runtime.faults import WorkerFaults
from suanwang.runtime.hetero import loss_scale, rank_counts
from suanwang.runtime.metrics import EventLog
from suanwang.runtime.model import GPT, flops_per_token
from suanwang.runtime.wan import WanLink
from suanwang.runtime.xc_checkpoint import release_persister, resume, save


def train_xc(cfg: TrainConfig, *, rank: int, world: int, attempt: int, deadline_s: float,
             go: dict[str, Any]) -> None:
    """Train until done; ``go`` is the supervisor's go line (persist process address)."""
    from suanwang.runtime.train import _beat, lr_lambda, setup_device, weights_digest

    run_dir = Path(cfg.run.run_dir)
    torch.set_num_threads(cfg.run.threads_per_rank)
    device, _, amp_dtype = setup_device(cfg)
    ckpt_pg = dist.new_group(backend="gloo")
    groups = make_groups(cfg.sync.rank_centers(world), rank)
    wan = wan_group(WanLink.from_bits(cfg.sync.wan_bits_per_s, cfg.sync.wan_latency_s), groups)
    diloco = cfg.sync.mode == "diloco"
    events = EventLog(run_dir / "events.jsonl", attempt=attempt, source="rank0") if rank == 0 \
        else None
    heartbeat = run_dir / "hb" / f"a{attempt}.r{rank}"
    faults = WorkerFaults(cfg.faults, rank=rank, attempt=attempt)

    torch.manual_seed(cfg.train.seed)
    model = GPT(cfg.model).to(device)
    outer = OuterState(model) if diloco else None
    optim = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr, betas=(0.9, 0.95),
                              weight_decay=cfg.train.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lr_lambda(cfg))
    counts = rank_counts(cfg.data, world)
    corpus = Corpus(cfg.data.paths, seq_len=cfg.model.seq_len, seed=cfg.train.seed)
    loader = ShardedLoader(corpus, micro_batch_seqs=cfg.data.micro_batch_seqs, counts=counts,
                           rank=rank)
    identity = {f"model.{k}": v for k, v in cfg.to_dict()["model"].items()}
    identity["data.corpus_sha256"] = corpus.digest
    identity["sync.mode"] = cfg.sync.mode
    release_persister(go, cfg.run.startup_timeout_s)
    center = groups.center if diloco else 0
    where = {"center": center, "model": model, "optim": optim, "outer": outer, "rank": rank,
             "world": world, "pg": ckpt_pg}
    meta = resume(cfg.ckpt_dir, identity=identity, **where)
    start, window = 0, 0.0
    if meta is not None:
        start, window = int(meta["step"]), float(meta.get("window_loss", 0.0))
        sched.load_state_dict(meta["scheduler"])
        loader.load_state_dict(meta)
    center_mb = sum(counts[r] for r in groups.center_ranks)
    scale = loss_scale(center_mb, groups.center_size) if diloco else loss_scale(sum(counts), world)
    divisor = groups.center_size if diloco else world
    tokens_per_step = loader.global_batch_seqs * cfg.model.seq_len
    fpt = flops_per_token(cfg.model)
    if events:
        events.emit("resume" if meta else "begin", step=start, world=world, counts=counts,
                    parallel=f"xc-{cfg.sync.mode}", centers=groups.centers, device=str(device),
                    amp=str(amp_dtype) if amp_dtype else "fp32")
    _beat(heartbeat, start)

    last_ckpt_s = t_prev = time.perf_counter()
    done = start
    for step in range(start, cfg.train.steps):
        faults.before_step(step, done_in_attempt=step - start)
        wan_s0, wan_b0 = wan.seconds, wan.bytes_sent
        loss_sum = torch.zeros((), device=device)
        for x, y in loader.next_step():
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                loss = model(x.to(device), y.to(device))
                (loss * scale).backward()
            loss_sum += loss.detach().float()
        done = step + 1
        now = time.perf_counter()
        flags = [0.0, 0.0]
        if rank == 0:
            every_s = cfg.checkpoint.interval_s
            flags = [float(bool(every_s) and now - last_ckpt_s >= every_s),
                     float(bool(deadline_s) and time.time() >= deadline_s)]
        ctrl = torch.tensor([loss_sum.item(), *flags])
        flat = torch.cat([flat_grads(model).float().cpu(), ctrl])
        if diloco:
            if groups.center_size > 1:
                dist.all_reduce(flat, group=groups.center_pg)
        else:
            hierarchical_all_reduce(flat, groups, wan)
        set_flat_grads(model, (flat[:-3] / divisor).to(device))
        ctrl = flat[-3:]
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
        optim.step()
        sched.step()
        optim.zero_grad(set_to_none=True)
        loss_now = ctrl[0].item() / (center_mb if diloco else sum(counts))
        window += ctrl[0].item()
        fields: dict = {}
        stall = 0.0
        if diloco and (done % cfg.sync.outer_every_steps == 0 or done == cfg.train.steps):
            assert outer is not None
            extra = torch.tensor([window, ctrl[1].item(), ctrl[2].item()])
            summed = outer_step(model, outer, groups, wan, lr=cfg.sync.outer_lr,
                                momentum=cfg.sync.outer_momentum, bf16=cfg.sync.outer_bf16,
                                extra=extra)
            assert summed is not None
            steps_in = done - (done - 1) // cfg.sync.outer_every_steps * \
                cfg.sync.outer_every_steps
            fields["window_loss"] = summed[0].item() / (sum(counts) * steps_in)
            ctrl = torch.tensor([ctrl[0].item(), summed[1].item(), summed[2].item()])
            window = 0.0
        elif not diloco:
            window = 0.0
        stop = ctrl[2].item() > 0 or done in (cfg.train.steps, cfg.run.until_step)
        every = cfg.checkpoint.every_steps
        if ctrl[1].item() > 0 or (every and done % every == 0) or stop:
            stall = save(cfg.ckpt_dir, done, keep=cfg.checkpoint.keep, **where,
                         meta={**loader.state_dict(), "scheduler": sched.state_dict(),
                               "window_loss": window, "identity": identity})
            last_ckpt_s = time.perf_counter()
        now = time.perf_counter()
        dt, t_prev = now - t_prev, now
        if events:
            tps = tokens_per_step / dt
            events.emit("step", step=done, loss=loss_now, step_time_s=dt, tokens_per_s=tps,
                        model_flops_per_s=fpt * tps, lr=sched.get_last_lr()[0],
                        ckpt_stall_s=stall, wan_s=wan.seconds - wan_s0,
                        wan_bytes=wan.bytes_sent - wan_b0, **fields)
        _beat(heartbeat, done)
        if stop:
            break
    if events:  # the digest covers the outer state too: a resume must restore it exactly
        both = model if outer is None else torch.nn.ModuleList([model, outer])
        events.emit("finish", step=done, weights_sha256=weights_digest(both))
