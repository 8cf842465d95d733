"""One rank of a training run: set up, then a loop that reads top to bottom, like nanoGPT's.

Started by the supervisor, either forked from its warm fork server (``zygote.py``) or cold as
``python -m suanwang.runtime worker``, reading one JSON "go" line: rank, world size, attempt,
the supervisor's TCPStore port and the address of this rank's persist process. The process
group uses a per-attempt ``PrefixStore`` (the restart fix for gloo in torch 2.13).

Each step: forward/backward over this rank's micro-batches, then one all-gather of a few numbers
per rank (loss, "non-finite", "checkpoint due", "deadline", "preempted", "persist busy",
seconds to reach the gradient sync), from which every rank takes the same decisions:

* non-finite loss or gradient norm on any rank: the update is not applied; the batch is
  recorded in ``CKPT/skip_samples.json``, the ranks exit 3 and the supervisor rolls back to the
  newest committed checkpoint, which then skips that batch (``nonfinite`` event);
* checkpoint due: saved, unless a previous save is still being persisted somewhere
  (``ckpt_skipped``: never two in flight);
* preempted (SIGTERM / SIGUSR1 / SIGINT reached any rank): a final checkpoint, committed, then
  exit 75 (``preempted``);
* straggler detection over the per-rank timings (``stragglers.py``).
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
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from suanwang.core.errors import ConfigError
from suanwang.runtime.checkpoint import atomic_write
from suanwang.runtime.config import RESUME_POLICY, ModelConfig, TrainConfig, from_dict
from suanwang.runtime.data import Corpus, ShardedLoader
from suanwang.runtime.faults import WorkerFaults
from suanwang.runtime.hetero import loss_scale, rank_counts
from suanwang.runtime.metrics import EventLog
from suanwang.runtime.model import GPT, flops_per_token
from suanwang.runtime.peak import measured_peak_flops
from suanwang.runtime.procs import (
    CONFIG_ERROR_RC,
    NONFINITE_RC,
    PARENT_PID_ENV,
    PREEMPT_SIGNALS,
    PREEMPTED_RC,
    STACK_DUMP_SIGNAL,
    die_with_parent,
)
from suanwang.runtime.saver import Checkpointer
from suanwang.runtime.stragglers import StragglerDetector, seconds_per_micro_batch

SKIP_FILE = "skip_samples.json"
# columns of the per-step all-gather
LOSS, NONFINITE, DUE, DEADLINE, PREEMPT, BUSY, ARRIVE, STALL, NCOLS = range(9)


class Preemption:
    """Set by a preemption signal; read once per step (signal handlers only set a flag)."""

    def __init__(self) -> None:
        self.signum = 0

    def install(self) -> None:
        for sig in PREEMPT_SIGNALS:
            signal.signal(sig, self._handler)

    def _handler(self, signum: int, _frame: Any) -> None:
        self.signum = self.signum or signum


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


@dataclass
class Rank:
    """Everything one rank trains with, built by :func:`setup`."""

    cfg: TrainConfig
    rank: int
    world: int
    device: torch.device
    amp_dtype: torch.dtype | None
    model: torch.nn.Module
    optim: torch.optim.Optimizer
    sched: Any
    loader: ShardedLoader
    ckpt: Checkpointer
    events: EventLog | None
    faults: WorkerFaults
    heartbeat: Path
    start: int = 0
    skip: set[int] = field(default_factory=set)
    peak: float = 0.0

    def emit(self, event: str, **fields: Any) -> None:
        if self.events is not None:
            self.events.emit(event, **fields)

    def beat(self, step: int) -> None:
        _beat(self.heartbeat, step)

    def train_state(self) -> dict[str, Any]:
        return {**self.loader.state_dict(), "scheduler": self.sched.state_dict(),
                "hparams": _hparams(self.cfg), "counts": list(self.loader.counts)}


def _hparams(cfg: TrainConfig) -> dict[str, Any]:
    return {k: v for k, v in cfg.to_dict()["train"].items() if k in RESUME_POLICY}


def setup(cfg: TrainConfig, *, rank: int, world: int, attempt: int, go: dict[str, Any]) -> Rank:
    """Model, optimiser, data, checkpointer; resumed from the newest intact checkpoint."""
    run_dir = Path(cfg.run.run_dir)
    torch.set_num_threads(cfg.run.threads_per_rank)
    device, _, amp_dtype = setup_device(cfg)
    ckpt_pg = dist.new_group(backend="gloo")  # resume's broadcast never queues behind grads
    events = EventLog(run_dir / "events.jsonl", attempt=attempt, source="rank0") if rank == 0 \
        else None
    heartbeat = run_dir / "hb" / f"a{attempt}.r{rank}"
    torch.manual_seed(cfg.train.seed)
    model = wrap(GPT(cfg.model).to(device), cfg, device, world)
    optim = torch.optim.AdamW(model.parameters(), lr=cfg.train.lr, betas=(0.9, 0.95),
                              weight_decay=cfg.train.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lr_lambda(cfg))
    corpus = Corpus(cfg.data.paths, seq_len=cfg.model.seq_len, seed=cfg.train.seed)
    loader = ShardedLoader(corpus, micro_batch_seqs=cfg.data.micro_batch_seqs,
                           counts=rank_counts(cfg.data, world), rank=rank)
    identity = {f"model.{k}": v for k, v in cfg.to_dict()["model"].items()}
    identity["data.corpus_sha256"] = corpus.digest
    ckpt = Checkpointer(cfg.ckpt_dir, rank=rank, world=world, pg=ckpt_pg,
                        keep=cfg.checkpoint.keep, async_save=cfg.checkpoint.async_save,
                        events=events, identity=identity, cuda_rng=device.type == "cuda",
                        addr=go.get("persist_addr"), token=go.get("token"),
                        tick=lambda: _beat(heartbeat, -2),
                        connect_timeout_s=cfg.run.startup_timeout_s)
    r = Rank(cfg=cfg, rank=rank, world=world, device=device, amp_dtype=amp_dtype, model=model,
             optim=optim, sched=sched, loader=loader, ckpt=ckpt, events=events,
             faults=WorkerFaults(cfg.faults, rank=rank, attempt=attempt), heartbeat=heartbeat)
    meta = ckpt.resume(model, optim)
    if meta is not None:
        r.start = int(meta["step"])
        loader.load_state_dict(meta)
        apply_resume_config(r, meta)
    r.skip = read_skips(cfg.ckpt_dir)
    r.peak = cfg.run.peak_flops_per_s or (measured_peak_flops(run_dir) if rank == 0 else 0.0)
    r.emit("resume" if meta else "begin", step=r.start, world=world, counts=loader.counts,
           parallel=cfg.train.parallel, device=str(device),
           amp=str(amp_dtype) if amp_dtype else "fp32", skip_samples=sorted(r.skip))
    return r


def apply_resume_config(r: Rank, meta: dict[str, Any]) -> None:
    """Compare the checkpoint's hyper-parameters with the job's: apply or refuse per field
    (:data:`~suanwang.runtime.config.RESUME_POLICY`), one ``config_change`` event each.

    The scheduler and optimiser state restore the *old* base LR and weight decay, so the new
    ones are written back here; the LR becomes ``lr x factor(step)`` of the new schedule.
    """
    old, new = meta.get("hparams") or {}, _hparams(r.cfg)
    for key in sorted(k for k in new if k in old and old[k] != new[k]):
        action = RESUME_POLICY[key]
        r.emit("config_change", field=f"train.{key}", old=old[key], new=new[key], action=action)
        if action == "refused":
            raise ConfigError(f"the checkpoint was trained with {key} = {old[key]!r}; changing "
                              f"it on resume is refused; set it back to {old[key]!r} or start "
                              "a fresh run directory", entry="train", field=key)
    r.sched.load_state_dict(meta["scheduler"])
    factor = lr_lambda(r.cfg)(r.sched.last_epoch)
    r.sched.base_lrs = [r.cfg.train.lr for _ in r.optim.param_groups]
    for group in r.optim.param_groups:
        group["initial_lr"] = r.cfg.train.lr
        group["lr"] = r.cfg.train.lr * factor
        group["weight_decay"] = r.cfg.train.weight_decay
    r.sched._last_lr = [g["lr"] for g in r.optim.param_groups]
    counts = meta.get("counts")
    if r.cfg.data.adapt_split and counts and len(counts) == r.world:
        r.loader.counts = list(counts)  # the split measured before, kept across the restart


def read_skips(ckpt_dir: Path) -> set[int]:
    path = ckpt_dir / SKIP_FILE
    return set(json.loads(path.read_text())["samples"]) if path.exists() else set()


def record_skip(ckpt_dir: Path, first_sample: int) -> None:
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    skips = read_skips(ckpt_dir) | {first_sample}
    atomic_write(ckpt_dir / SKIP_FILE, json.dumps({"samples": sorted(skips)}))


def compute(r: Rank, step: int) -> tuple[torch.Tensor, float]:
    """Forward/backward over this rank's micro-batches; (summed loss, seconds to the sync)."""
    t0 = time.perf_counter()
    loss_sum = torch.zeros((), device=r.device)
    batches = r.loader.next_step()
    poisoned = r.faults.poisoned(r.loader.samples_seen - r.loader.global_batch_seqs,
                                 r.loader.global_batch_seqs)
    scale = loss_scale(sum(r.loader.counts), r.world)
    arrive = 0.0
    for i, (x, y) in enumerate(batches):
        last = i == len(batches) - 1
        r.faults.before_micro_batch()
        with grad_sync(r.model, last), torch.autocast(
                r.device.type, dtype=r.amp_dtype, enabled=r.amp_dtype is not None):
            loss = r.model(x.to(r.device), y.to(r.device))
            if poisoned:
                loss = loss * float("nan")
            if last:
                arrive = time.perf_counter() - t0
            (loss * scale).backward()
        loss_sum += loss.detach().float()
    return loss_sum, arrive


def train(cfg: TrainConfig, *, rank: int, world: int, attempt: int, deadline_s: float = 0.0,
          go: dict[str, Any] | None = None, preempt: Preemption | None = None) -> int:
    """Train until done, preempted or non-finite; the rank's exit code (0, 3 or 75).

    ``go``: the supervisor's go line (persist process address); without it (``elastic``) each
    rank forks its own persist process. ``preempt``: installed here when not given.
    """
    go = go or {}
    if cfg.sync.cross_center:  # replicas in several centers / DiLoCo: runtime/xc_train.py
        from suanwang.runtime.xc_train import train_xc

        train_xc(cfg, rank=rank, world=world, attempt=attempt,
                 deadline_s=go.get("deadline_s", deadline_s), go=go)
        return 0
    if preempt is None:
        preempt = Preemption()
        preempt.install()
    r = setup(cfg, rank=rank, world=world, attempt=attempt, go=go)
    deadline_s = go.get("deadline_s", deadline_s)
    stragglers = StragglerDetector(world, window=cfg.run.straggler_window,
                                   ratio=cfg.run.straggler_ratio)
    fpt = flops_per_token(cfg.model)
    r.beat(r.start)
    last_ckpt_s = t_prev = time.perf_counter()
    done, rc, save_stall = r.start, 0, 0.0
    for step in range(r.start, cfg.train.steps):
        skip_poisoned_batches(r, step)
        r.faults.before_step(step, done_in_attempt=step - r.start, settle=r.ckpt.wait)
        loss_sum, arrive = compute(r, step)
        stall = r.ckpt.wait_staged()  # the weights change next: the host copy must be complete
        norm = torch.nn.utils.clip_grad_norm_(r.model.parameters(), cfg.train.grad_clip)
        mine = torch.zeros(NCOLS, device=r.device)
        mine[LOSS] = loss_sum
        mine[NONFINITE] = float(not (math.isfinite(loss_sum.item())
                                     and math.isfinite(float(norm))))
        now = time.perf_counter()
        if rank == 0:
            every_s = cfg.checkpoint.interval_s
            mine[DUE] = float(bool(every_s) and now - last_ckpt_s >= every_s)
            mine[DEADLINE] = float(bool(deadline_s) and time.time() >= deadline_s)
        mine[PREEMPT] = float(preempt.signum)  # the signal number, 0 if none
        mine[BUSY] = float(r.ckpt.busy())
        mine[ARRIVE] = seconds_per_micro_batch(arrive, r.loader.counts[rank])
        mine[STALL] = save_stall + stall  # the last save's stall, on this rank
        gathered = [torch.zeros_like(mine) for _ in range(world)]
        dist.all_gather(gathered, mine)
        rows = torch.stack(gathered).cpu()
        if rows[:, NONFINITE].max() > 0:
            return nonfinite(r, step, rows, float(norm))
        r.optim.step()
        r.sched.step()
        r.optim.zero_grad(set_to_none=True)
        done = step + 1
        preempted = rows[:, PREEMPT].max() > 0
        stop = preempted or rows[:, DEADLINE].max() > 0 or done in (cfg.train.steps,
                                                                       cfg.run.until_step)
        every = cfg.checkpoint.every_steps
        due = rows[:, DUE].max() > 0 or bool(every and done % every == 0)
        save_stall = 0.0
        if stop:  # final checkpoint: wait for one in flight, save, wait for the commit
            save_stall = r.ckpt.save(done, r.model, r.optim, r.train_state())
            r.ckpt.wait()
            last_ckpt_s = time.perf_counter()
        elif due and rows[:, BUSY].max() > 0:
            r.emit("ckpt_skipped", step=done, in_flight=r.ckpt.in_flight,
                   busy_ranks=[i for i in range(world) if rows[i, BUSY] > 0],
                   reason="the previous checkpoint is still being persisted")
        elif due:
            save_stall = r.ckpt.save(done, r.model, r.optim, r.train_state())
            last_ckpt_s = time.perf_counter()
        stall += save_stall
        now = time.perf_counter()
        dt, t_prev = now - t_prev, now
        watch_stragglers(r, stragglers, rows[:, ARRIVE].tolist(), done)
        if r.events:
            tps = r.loader.global_batch_seqs * cfg.model.seq_len / dt
            r.emit("step", step=done, loss=rows[:, LOSS].sum().item() / sum(r.loader.counts),
                   step_time_s=dt, tokens_per_s=tps,
                   mfu=fpt * tps / (r.peak * world) if r.peak else None,
                   lr=r.sched.get_last_lr()[0], ckpt_stall_s=stall,
                   rank_mb_s=[round(x, 5) for x in rows[:, ARRIVE].tolist()],
                   rank_ckpt_stall_s=[round(x, 6) for x in rows[:, STALL].tolist()],
                   stragglers=sorted(stragglers.flagged))
        r.beat(done)
        if preempted:
            r.emit("preempted", step=done,
                   signal=signal.Signals(int(rows[:, PREEMPT].max())).name,
                   ranks=[i for i in range(world) if rows[i, PREEMPT] > 0],
                   committed=r.ckpt.last_committed)
            rc = PREEMPTED_RC
            break
        if stop:
            break
    r.ckpt.close()
    r.emit("finish", step=done, weights_sha256=weights_digest(r.model), rc=rc)
    return rc


def skip_poisoned_batches(r: Rank, step: int) -> None:
    """Advance past batches a rollback marked bad (their first global sample is recorded)."""
    while r.loader.samples_seen in r.skip:
        r.emit("batch_skipped", step=step, first_sample=r.loader.samples_seen,
               samples=r.loader.global_batch_seqs)
        r.loader.samples_seen += r.loader.global_batch_seqs


def nonfinite(r: Rank, step: int, rows: torch.Tensor, norm: float) -> int:
    """Leave without applying the step: record the batch to skip, let in-flight saves finish
    (they hold earlier, finite state), exit 3 so the supervisor rolls back."""
    first = r.loader.samples_seen - r.loader.global_batch_seqs
    record_skip(r.cfg.ckpt_dir, first)  # every rank (same content): recorded before any exits
    r.emit("nonfinite", step=step + 1, first_sample=first, grad_norm=norm,
           loss=rows[:, LOSS].sum().item(),
           ranks=[i for i in range(r.world) if rows[i, NONFINITE] > 0])
    r.ckpt.close()
    return NONFINITE_RC


def watch_stragglers(r: Rank, det: StragglerDetector, per_mb_s: list[float], step: int) -> None:
    new, cleared = det.update(per_mb_s)
    for rank, ratio in new:
        r.emit("straggler", step=step, rank=rank, ratio=round(ratio, 3),
               s_per_micro_batch=det.medians(), window=det.window)
    for rank in cleared:
        r.emit("straggler_cleared", step=step, rank=rank)
    if det.flagged and r.cfg.data.adapt_split:  # after a full window; once per window
        counts = det.adapted_counts(sum(r.loader.counts))
        if counts and counts != r.loader.counts:
            r.emit("split_adapted", step=step, old=r.loader.counts, counts=counts,
                   s_per_micro_batch=det.medians())
            r.loader.counts = counts
            det.reset()


def weights_digest(model: torch.nn.Module) -> str:
    """SHA-256 over this rank's parameter bytes (all of them under DDP): bit-identity check."""
    h = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        local = p.to_local() if hasattr(p, "to_local") else p
        h.update(name.encode())
        h.update(local.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def _beat(path: Path, step: int) -> None:
    """Heartbeat: the file's mtime is what the supervisor watches (-2: waiting on storage)."""
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


def worker_main() -> int:
    """Entry of a cold-started process (rank or persist): import, read the go line, run."""
    parent = os.environ.get(PARENT_PID_ENV)
    line = sys.stdin.readline()
    if not line:
        return 0
    go = json.loads(line)
    if "persist" in go:  # outlives a dead trainer; dies with the supervisor
        die_with_parent(int(parent) if parent else None)
        from suanwang.runtime.persist import run_persister

        return run_persister(go)
    die_with_parent(int(parent) if parent else None)
    return run_worker(go)


def run_worker(go: dict[str, Any]) -> int:
    """Join attempt ``go["attempt"]`` as rank ``go["rank"]`` and train; 0 when done, 2 when the
    job is wrong (:class:`ConfigError`), 3 on non-finite numerics, 75 when preempted."""
    faulthandler.register(STACK_DUMP_SIGNAL, all_threads=True)  # the supervisor's hang probe
    preempt = Preemption()
    preempt.install()  # first thing: a SIGTERM during set-up is not lost
    try:
        return _run_worker(go, preempt)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr, flush=True)
        return CONFIG_ERROR_RC


def _run_worker(go: dict[str, Any], preempt: Preemption) -> int:
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
        return train(cfg, rank=rank, world=world, attempt=attempt, go=go, preempt=preempt)
    finally:
        dist.destroy_process_group()
