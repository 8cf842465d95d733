"""One rank of a training run: the loop reads top to bottom, like nanoGPT's.

Started by the supervisor, either forked from its warm fork server (``zygote.py``: torch already
imported, so a restart costs milliseconds, not an interpreter start-up) or cold as
``python -m suanwang.runtime worker``, reading one JSON "go" line: rank, world size, attempt and
the supervisor's TCPStore port.
The process group uses a per-attempt ``PrefixStore``: the restart fix for gloo in torch 2.13
(see notes/local-infrastructure.md section 1).
"""

from __future__ import annotations

import contextlib
import faulthandler
import hashlib
import json
import math
import os
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.distributed.checkpoint.state_dict import get_state_dict
from torch.nn.parallel import DistributedDataParallel as DDP

from suanwang.core.errors import ConfigError
from suanwang.runtime.checkpoint import Checkpointer
from suanwang.runtime.config import ModelConfig, TrainConfig, from_dict
from suanwang.runtime.data import Corpus, ShardedLoader
from suanwang.runtime.faults import WorkerFaults
from suanwang.runtime.hetero import loss_scale, rank_counts
from suanwang.runtime.metrics import EventLog
from suanwang.runtime.model import GPT, flops_per_token
from suanwang.runtime.zygote import PARENT_PID_ENV


def lr_lambda(cfg: TrainConfig):
    """Linear warmup, then cosine decay from ``lr`` to ``min_lr`` (as a factor of ``lr``)."""
    t = cfg.train

    def factor(step: int) -> float:
        if step < t.warmup_steps:
            return (step + 1) / t.warmup_steps
        frac = min(1.0, (step - t.warmup_steps) / max(1, t.steps - t.warmup_steps))
        floor = t.min_lr / t.lr
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * frac))

    return factor


def setup_device(cfg: TrainConfig) -> tuple[torch.device, str, torch.dtype | None]:
    """(device, backend, autocast dtype). bf16 autocast only where the device supports it."""
    cuda = cfg.train.device == "cuda" or (cfg.train.device == "auto" and torch.cuda.is_available())
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        gpus = torch.cuda.device_count()
        if local >= gpus:
            raise ConfigError(f"local rank {local} has no GPU: this node has {gpus}; lower "
                              f"run.nproc to at most {gpus} or set train.device: cpu",
                              entry="run", field="nproc")
        torch.cuda.set_device(local)
        device, backend = torch.device("cuda", local), "cpu:gloo,cuda:nccl"
        bf16 = torch.cuda.is_bf16_supported()
    else:
        device, backend, bf16 = torch.device("cpu"), "gloo", False
    want = cfg.train.precision
    dtype = torch.bfloat16 if (want == "bf16" or (want == "auto" and bf16)) else None
    return device, backend, dtype


def wrap(model: torch.nn.Module, cfg: TrainConfig, device: torch.device, world: int):
    """DDP, or FSDP2 ``fully_shard`` per block then the root."""
    if cfg.train.parallel == "fsdp":
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import fully_shard

        mesh = init_device_mesh(device.type, (world,))
        for block in model.blocks:
            fully_shard(block, mesh=mesh)
        return fully_shard(model, mesh=mesh)
    return DDP(model, device_ids=[device.index] if device.type == "cuda" else None)


def grad_sync(model: torch.nn.Module, enabled: bool):
    """Skip the gradient all-reduce on all but a rank's last micro-batch."""
    if isinstance(model, DDP):
        return contextlib.nullcontext() if enabled else model.no_sync()
    model.set_requires_gradient_sync(enabled)
    return contextlib.nullcontext()


def measured_peak_flops(run_dir: Path, trials: int = 20) -> float:
    """Per-process fp32 matmul rate, measured once per run and cached (the CPU MFU denominator).

    The best of ``trials`` short timings: on a shared machine the other ranks and jobs only ever
    slow a trial down, so the fastest one is the closest to the core's real peak (a mean would
    make MFU exceed 100% whenever the measurement was disturbed).
    """
    cache = run_dir / "peak_flops.json"
    if cache.exists():
        return float(json.loads(cache.read_text())["peak_flops_per_s"])
    a = torch.randn(512, 512)
    best = 0.0
    for _ in range(trials):
        t0 = time.perf_counter()
        for _ in range(4):
            a @ a
        best = max(best, 4 * 2 * 512**3 / (time.perf_counter() - t0))
    cache.write_text(json.dumps({"peak_flops_per_s": best,
                                 "how": f"best of {trials} x 4 fp32 512x512 matmuls"}))
    return best


def train(cfg: TrainConfig, *, rank: int, world: int, attempt: int, deadline_s: float) -> None:
    run_dir = Path(cfg.run.run_dir)
    torch.set_num_threads(cfg.run.threads_per_rank)
    device, _, amp_dtype = setup_device(cfg)
    ckpt_pg = dist.new_group(backend="gloo")  # dedicated group: saves never queue behind grads
    events = EventLog(run_dir / "events.jsonl", attempt=attempt, source="rank0") if rank == 0 \
        else None
    heartbeat = run_dir / "hb" / f"a{attempt}.r{rank}"
    faults = WorkerFaults(cfg.faults, rank=rank, attempt=attempt)

    torch.manual_seed(cfg.train.seed)
    model = wrap(GPT(cfg.model).to(device), cfg, device, world)
    optim = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr, betas=(0.9, 0.95),
                              weight_decay=cfg.train.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lr_lambda(cfg))
    counts = rank_counts(cfg.data, world)
    corpus = Corpus(cfg.data.paths, seq_len=cfg.model.seq_len, seed=cfg.train.seed)
    loader = ShardedLoader(corpus, micro_batch_seqs=cfg.data.micro_batch_seqs, counts=counts,
                           rank=rank)
    identity = {f"model.{k}": v for k, v in cfg.to_dict()["model"].items()}
    identity["data.corpus_sha256"] = corpus.digest
    ckpt = Checkpointer(cfg.ckpt_dir, rank=rank, world=world, pg=ckpt_pg,
                        keep=cfg.checkpoint.keep, async_save=cfg.checkpoint.async_save,
                        events=events, crash_at_step=faults.crash_in_ckpt_step,
                        identity=identity, cuda_rng=device.type == "cuda")
    meta = ckpt.resume(model, optim)
    start = 0
    if meta is not None:
        start = int(meta["step"])
        sched.load_state_dict(meta["scheduler"])
        loader.load_state_dict(meta)
    scale = loss_scale(sum(counts), world)
    tokens_per_step = loader.global_batch_seqs * cfg.model.seq_len
    peak = cfg.run.peak_flops_per_s or (measured_peak_flops(run_dir) if rank == 0 else 0.0)
    fpt = flops_per_token(cfg.model)
    if events:
        events.emit("resume" if meta else "begin", step=start, world=world, counts=counts,
                    parallel=cfg.train.parallel, device=str(device),
                    amp=str(amp_dtype) if amp_dtype else "fp32")
    _beat(heartbeat, start)

    last_ckpt_s = t_prev = time.perf_counter()
    done = start
    for step in range(start, cfg.train.steps):
        faults.before_step(step, done_in_attempt=step - start, settle=ckpt.wait)
        loss_sum = torch.zeros((), device=device)
        batches = loader.next_step()
        for i, (x, y) in enumerate(batches):
            with grad_sync(model, i == len(batches) - 1), \
                    torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                loss = model(x.to(device), y.to(device))
                (loss * scale).backward()
            loss_sum += loss.detach().float()
            faults.after_micro_batch()
        stall = ckpt.wait_staged()  # the weights change next: the host copy must be complete
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.train.grad_clip)
        optim.step()
        sched.step()
        optim.zero_grad(set_to_none=True)
        done = step + 1
        # One small all-reduce carries the loss and rank 0's clock-based decisions, so every
        # rank agrees on when to checkpoint and when to stop.
        now = time.perf_counter()
        flags = [0.0, 0.0]
        if rank == 0:
            every_s = cfg.checkpoint.every_s
            flags = [float(bool(every_s) and now - last_ckpt_s >= every_s),
                     float(bool(deadline_s) and time.time() >= deadline_s)]
        red = torch.stack([loss_sum, torch.tensor(flags[0], device=device),
                           torch.tensor(flags[1], device=device)])
        dist.all_reduce(red)
        stop = red[2].item() > 0 or done in (cfg.train.steps, cfg.run.until_step)
        every = cfg.checkpoint.every_steps
        if red[1].item() > 0 or (every and done % every == 0) or stop:
            if cfg.checkpoint.sync_baseline:
                sync_torch_save(model, optim, run_dir / f"sync_r{rank}.pt", events, done)
            stall += ckpt.save(done, model, optim, {**loader.state_dict(),
                                                    "scheduler": sched.state_dict()})
            last_ckpt_s = time.perf_counter()
        now = time.perf_counter()
        dt, t_prev = now - t_prev, now
        if events:
            tps = tokens_per_step / dt
            events.emit("step", step=done, loss=red[0].item() / sum(counts), step_time_s=dt,
                        tokens_per_s=tps, mfu=fpt * tps / (peak * world) if peak else None,
                        lr=sched.get_last_lr()[0], ckpt_stall_s=stall)
        _beat(heartbeat, done)
        if stop:
            break
    ckpt.close()
    if events:
        events.emit("finish", step=done, weights_sha256=weights_digest(model))


def weights_digest(model: torch.nn.Module) -> str:
    """SHA-256 over this rank's parameter bytes (all of them under DDP): bit-identity check."""
    h = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        local = p.to_local() if hasattr(p, "to_local") else p
        h.update(name.encode())
        h.update(local.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def sync_torch_save(model, optim, path: Path, events: EventLog | None, step: int) -> float:
    """Benchmark baseline: the same state with a blocking ``torch.save`` + fsync."""
    t0 = time.perf_counter()
    msd, osd = get_state_dict(model, optim)
    with open(path, "wb") as f:
        torch.save({"model": msd, "optim": osd, "rng": torch.get_rng_state()}, f)
        f.flush()
        os.fsync(f.fileno())
    dt = time.perf_counter() - t0
    if events:
        events.emit("ckpt_sync_baseline", step=step, sync_save_s=dt, bytes=path.stat().st_size)
    return dt


def _beat(path: Path, step: int) -> None:
    with open(path, "w") as f:
        f.write(str(step))


def prewarm() -> None:
    """Pay lazy first-use costs (DDP pulls in torch._dynamo: ~0.6 s) before the go line."""
    import torch._dynamo

    tiny = GPT(ModelConfig(vocab=16, layers=1, hidden=8, heads=1, ffn_hidden=8, seq_len=4))
    opt = torch.optim.AdamW(tiny.parameters())
    x = torch.zeros(1, 4, dtype=torch.long)
    tiny(x, x).backward()
    opt.step()


def die_with_parent(parent_pid: int | None) -> None:
    """Linux: SIGKILL this process when its parent dies, so no orphan keeps a port or a core.

    ``parent_pid`` is the parent's pid as the parent knew it before starting us: if the parent
    already died before ``prctl`` took effect (the signal would then never come), exit now.
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except OSError:  # not Linux/glibc: the supervisor's SIGKILL of the group still applies
        pass
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)  # orphaned already


def worker_main() -> int:
    """Entry of a cold-started worker process: import, read the go line, train, exit 0."""
    parent = os.environ.get(PARENT_PID_ENV)
    die_with_parent(int(parent) if parent else None)
    line = sys.stdin.readline()
    if not line:
        return 0
    return run_worker(json.loads(line))


CONFIG_ERROR_RC = 2  # a rank refusing the job: the supervisor reports it and does not restart


def run_worker(go: dict[str, Any]) -> int:
    """Join attempt ``go["attempt"]`` as rank ``go["rank"]`` and train; 0 when done, 2 when the
    job is wrong (:class:`ConfigError`, e.g. a checkpoint of another model shape)."""
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # the supervisor's hang probe
    try:
        return _run_worker(go)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr, flush=True)
        return CONFIG_ERROR_RC


def _run_worker(go: dict[str, Any]) -> int:
    cfg = from_dict(json.loads(Path(go["config"]).read_text()))
    rank, world, attempt = go["rank"], go["world"], go["attempt"]
    # one supervisor per node launches every rank of that node: local rank = node-local index
    os.environ["LOCAL_RANK"] = str(go.get("local_rank", rank))
    (Path(cfg.run.run_dir) / "hb").mkdir(parents=True, exist_ok=True)
    _beat(Path(cfg.run.run_dir) / "hb" / f"a{attempt}.r{rank}", -1)
    base = dist.TCPStore("127.0.0.1", go["store_port"], is_master=False,
                         timeout=timedelta(seconds=cfg.run.startup_timeout_s))
    store = dist.PrefixStore(f"attempt_{attempt}", base)
    _, backend, _ = setup_device(cfg)
    dist.init_process_group(backend, store=store, rank=rank, world_size=world,
                            timeout=timedelta(seconds=max(60.0, 4 * cfg.run.heartbeat_timeout_s)))
    try:
        train(cfg, rank=rank, world=world, attempt=attempt, deadline_s=go.get("deadline_s", 0))
    finally:
        dist.destroy_process_group()
    return 0
