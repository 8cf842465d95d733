"""Runtime benchmarks, each a real supervised run measured from its own event timeline.

* ``checkpoint``: a blocking ``torch.save`` + fsync of the model and AdamW state
  (``sync_save_s``, median of 3, measured in the bench process, outside any training loop),
  then a supervised run of the same model checkpointing every ``every`` steps through the
  async path (shared-memory staging, persist process). ``async_stall_s``: per checkpoint the
  time a training step was blocked by it, on every rank (its ``save`` call plus the wait for
  staging before the next ``optimizer.step``; the slowest rank, since a step is synchronous),
  median over checkpoints; ``ratio`` = stall / sync save. The stall is not the whole cost:
  staging and persisting use memory bandwidth and cores while the next steps compute.
  ``step_slowdown_s`` = per checkpoint, the sum over the steps that overlap its persist of
  (step time - stall in it - median clean step time), median over checkpoints;
  ``effective_ratio`` = (stall + slowdown) / sync save.
* ``recovery``: SIGKILL one rank mid-run; ``recovery_s`` = failure to first completed step after
  the resume; ``lost_steps`` = steps computed twice.
* ``ettr``: ``minutes`` of training with a SIGKILL every ``fail_every_s``; ``ettr`` net of
  checkpoint cost and ``ettr_gross`` (``metrics.summarize``).
* ``preempt``: ``minutes`` of training, SIGTERM every ``every_s`` to a process of the job (the
  supervisor, then rank 0, then rank 1, ...), each time relaunched on the same run directory, as
  a requeued job; ``lost_steps`` over all invocations, ETTR over the whole time including the
  relaunches.
* ``overhead``: plain DDP loop vs the runtime on the same model and data, alternated.

Model presets: ``tiny`` (the default 0.87 M-parameter GPT, ~10 MB of state) and ``ckpt-256mb``
(2 layers x 1024 hidden, 25.8 M parameters: 295 MiB of fp32 weights + AdamW moments per save,
one sequence of 64 bytes per micro-batch so that it trains at ~1-2 s a step on one core).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from suanwang.runtime.checkpoint import checkpoint_bytes, committed
from suanwang.runtime.config import TrainConfig, from_dict
from suanwang.runtime.metrics import _median, read_events, summarize
from suanwang.runtime.supervisor import Supervisor

HUGE_STEPS = 1_000_000
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "tiny": {},
    "ckpt-256mb": {"model": {"layers": 2, "hidden": 1024, "heads": 8, "ffn_hidden": 4096,
                             "seq_len": 64},
                   "data": {"micro_batch_seqs": 1}},
}


def bench_job(run_dir: Path, nproc: int = 2, preset: str = "tiny",
              **sections: dict[str, Any]) -> TrainConfig:
    """The benchmark job: a preset model, 2 ranks on CPU by default."""
    raw: dict[str, Any] = {"name": "bench", "run": {"nproc": nproc, "run_dir": str(run_dir),
                                                    "heartbeat_timeout_s": 20}}
    for section, values in {**PRESETS[preset]}.items():
        raw.setdefault(section, {}).update(values)
    if preset != "tiny":
        raw["data"]["global_micro_batches"] = nproc
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return from_dict(raw)


def _run(cfg: TrainConfig) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    summary = Supervisor(cfg, quiet=True).run()
    return summary, read_events(Path(cfg.run.run_dir) / "events.jsonl")


def sync_save_seconds(cfg: TrainConfig, path: Path, repeats: int = 3) -> tuple[float, int]:
    """Median seconds of a blocking ``torch.save`` + fsync of the model and AdamW state after
    one training step (what a rank would write), and its size in bytes."""
    import torch
    from torch.distributed.checkpoint.state_dict import get_state_dict

    from suanwang.runtime.model import GPT

    torch.manual_seed(0)
    model = GPT(cfg.model)
    optim = torch.optim.AdamW(model.parameters())
    x = torch.randint(0, cfg.model.vocab, (1, cfg.model.seq_len))
    model(x, x).backward()
    optim.step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        msd, osd = get_state_dict(model, optim)
        with open(path, "wb") as f:
            torch.save({"model": msd, "optim": osd, "rng": torch.get_rng_state()}, f)
            f.flush()
            os.fsync(f.fileno())
        times.append(time.perf_counter() - t0)
    size = path.stat().st_size
    path.unlink()
    return _median(times), size


def bench_checkpoint(work: Path, *, nproc: int = 1, preset: str = "ckpt-256mb",
                     checkpoints: int = 4, every: int = 5) -> dict[str, Any]:
    cfg = bench_job(work / "checkpoint", nproc, preset,
                    train={"steps": checkpoints * every + 2, "warmup_steps": 2},
                    checkpoint={"every_steps": every, "keep": 2})
    work.mkdir(parents=True, exist_ok=True)
    sync_s, sync_bytes = sync_save_seconds(cfg, work / "sync.pt")
    summary, ev = _run(cfg)
    last = committed(cfg.ckpt_dir)[-1][1]
    return {**checkpoint_costs(ev, sync_s), "bytes": checkpoint_bytes(last),
            "sync_bytes": sync_bytes, "nproc": nproc, "preset": preset,
            "ckpt_skipped": summary["ckpt_skipped"], "ok": summary["ok"]}


def checkpoint_costs(ev: list[dict[str, Any]], sync_s: float, warmup_steps: int = 2
                     ) -> dict[str, Any]:
    """Stall (every rank), slowdown of the steps that overlap a persist, and the ratios."""
    steps = [e for e in ev if e["event"] == "step"]
    at = {e["step"]: e for e in steps}
    started = {e["step"]: e["t"] for e in ev if e["event"] == "ckpt_start"}
    persisted = {e["step"]: e for e in ev if e["event"] == "ckpt_persisted"}
    final = max(at) if at else -1
    saved = [s for s in started if s + 1 in at and s in persisted and s != final]
    # checkpoint s's stall on each rank: its save() call (step s) + the wait for staging
    # (step s + 1), gathered in step s + 1; the step waits for the slowest rank
    per_rank = {s: at[s + 1].get("rank_ckpt_stall_s") or [at[s]["ckpt_stall_s"]
                                                          + at[s + 1]["ckpt_stall_s"]]
                for s in saved}
    stalls = [max(per_rank[s]) for s in saved]
    overlap = {s: [e for e in steps if e["step"] > s
                   and e["t"] - e["step_time_s"] < persisted[s]["t"]] for s in saved}
    dirty = {e["step"] for s in saved for e in overlap[s]} | set(started)
    clean = [e["step_time_s"] for e in steps if e["step"] > warmup_steps
             and e["step"] not in dirty]
    clean_s = _median(clean) if clean else float("nan")
    slowdowns = [sum(e["step_time_s"] - e["ckpt_stall_s"] - clean_s for e in overlap[s])
                 for s in saved]
    if not saved:
        raise RuntimeError("no checkpoint completed inside the run; lengthen it")
    stall_s, slow_s = _median(stalls), _median(slowdowns)
    return {"sync_save_s": round(sync_s, 4), "async_stall_s": round(stall_s, 5),
            "ratio": round(stall_s / sync_s, 4),
            "step_slowdown_s": round(slow_s, 4),
            "effective_ratio": round((stall_s + slow_s) / sync_s, 3),
            "clean_step_s": round(clean_s, 4), "clean_steps": len(clean),
            "steps_overlapping_persist": round(_median([len(overlap[s]) for s in saved]), 1),
            "persist_s": round(_median([persisted[s]["persist_s"] for s in saved]), 4),
            "checkpoints": len(stalls), "async_stall_s_max": round(max(stalls), 5),
            "async_stall_s_per_rank": [[round(x, 5) for x in per_rank[s]] for s in saved],
            "step_slowdown_each_s": [round(x, 4) for x in slowdowns]}


def bench_recovery(work: Path, *, nproc: int = 2, kill_after_s: float = 15.0,
                   ckpt_every_s: float = 2.0) -> dict[str, Any]:
    cfg = bench_job(work / "recovery", nproc, train={"steps": HUGE_STEPS},
                    checkpoint={"every_steps": 0, "interval_s": ckpt_every_s},
                    run={"max_seconds": kill_after_s + 15.0},
                    faults={"kill_every_s": kill_after_s, "kill_max": 1, "kill_seed": 1})
    summary, ev = _run(cfg)
    fail = next(e for e in ev if e["event"] == "failure")
    resume = next(e for e in ev if e["event"] == "resume")
    return {"recovery_s": summary["recovery_s"][0] if summary["recovery_s"] else None,
            "lost_steps": summary["lost_steps"], "lost_s": summary["lost_s"],
            "detect_to_resume_s": round(resume["t"] - fail["t"], 3),
            "resumed_from_step": resume["step"], "killed_rank": fail["rank"],
            "failures": summary["failures"], "ok": summary["ok"]}


def bench_ettr(work: Path, *, minutes: float = 5.0, fail_every_s: float = 60.0,
               ckpt_every_s: float = 5.0, nproc: int = 2) -> dict[str, Any]:
    cfg = bench_job(work / "ettr", nproc, train={"steps": HUGE_STEPS},
                    checkpoint={"every_steps": 0, "interval_s": ckpt_every_s},
                    run={"max_seconds": minutes * 60, "max_restarts": 10_000},
                    faults={"kill_every_s": fail_every_s, "kill_seed": 2})
    s, _ = _run(cfg)
    return {"ettr": s["ettr"], "ettr_gross": s["ettr_gross"], "failures": s["failures"],
            "restarts": s["restarts"], "checkpoints": s["checkpoints"],
            "ckpt_skipped": s["ckpt_skipped"], "wall_s": s["wall_s"],
            "productive_s": s["productive_s"], "clean_step_s": s["clean_step_s"],
            "lost_steps": s["lost_steps"], "lost_s": s["lost_s"],
            "recovery_s": s["recovery_s"], "steps": s["final_step"],
            "ckpt_every_s": ckpt_every_s, "ok": s["ok"]}


def bench_preempt(work: Path, *, minutes: float = 5.0, every_s: float = 60.0, nproc: int = 2,
                  ckpt_every_s: float = 5.0) -> dict[str, Any]:
    """SIGTERM a process of the job every ``every_s``; relaunch; count lost steps."""
    cfg = bench_job(work / "preempt", nproc, train={"steps": HUGE_STEPS},
                    checkpoint={"every_steps": 0, "interval_s": ckpt_every_s},
                    run={"preempt_grace_s": 30})
    run_dir = Path(cfg.run.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    job = run_dir.parent / "preempt.json"
    job.write_text(json.dumps(cfg.to_dict()))
    t0, codes, targets, i = time.time(), [], [], 0
    while time.time() - t0 < minutes * 60:
        proc = subprocess.Popen([sys.executable, "-m", "suanwang.runtime", "run", str(job),
                                 "--quiet"], stdout=subprocess.DEVNULL)
        time.sleep(min(every_s, max(1.0, minutes * 60 - (time.time() - t0))))
        target = _preempt_target(run_dir, i, proc.pid)
        targets.append(target[0])
        os.kill(target[1], signal.SIGTERM)
        codes.append(proc.wait(timeout=cfg.run.preempt_grace_s + 60))
        i += 1
    elapsed = time.time() - t0
    timelines = [*sorted(run_dir.glob("events.*.jsonl")), run_dir / "events.jsonl"]
    ev = [e for path in timelines for e in read_events(path)]
    s = summarize(ev)
    return {"preemptions": i, "exit_codes": sorted(set(codes)), "targets": targets,
            "lost_steps": s["lost_steps"], "ettr": round(s["productive_s"] / elapsed, 4),
            "ettr_gross": round(s["ettr_gross"] * s["wall_s"] / elapsed, 4),
            "elapsed_s": round(elapsed, 1), "supervised_s": s["wall_s"],
            "steps": s["final_step"], "checkpoints": s["checkpoints"],
            "preempted_events": sum(1 for e in ev if e["event"] == "preempted")}


def _preempt_target(run_dir: Path, i: int, supervisor: int) -> tuple[str, int]:
    """The i-th victim: the supervisor, then each rank in turn (pids from the launch event)."""
    launches = [e for e in read_events(run_dir / "events.jsonl") if e["event"] == "launch"]
    ranks = launches[-1]["pids"] if launches else []
    k = i % (1 + len(ranks))
    return ("supervisor", supervisor) if k == 0 else (f"rank{k - 1}", ranks[k - 1])


def bench_overhead(work: Path, *, steps: int = 60, rounds: int = 2, nproc: int = 2,
                   ckpt_every_s: float = 5.0) -> dict[str, Any]:
    from suanwang.runtime.baseline import WARMUP_STEPS, run_plain

    plain, ours = [], []
    for i in range(rounds):
        cfg = bench_job(work / f"overhead{i}", nproc, train={"steps": steps},
                        checkpoint={"every_steps": 0, "interval_s": ckpt_every_s})
        plain.append(run_plain(cfg)["tokens_per_s"])
        _, ev = _run(cfg)
        times = [e["step_time_s"] for e in ev if e["event"] == "step"][WARMUP_STEPS:]
        tokens = cfg.global_batch_seqs * cfg.model.seq_len
        ours.append(len(times) * tokens / sum(times))
    p, o = _median(plain), _median(ours)
    return {"plain_tokens_per_s": round(p, 1), "runtime_tokens_per_s": round(o, 1),
            "ratio": round(o / p, 4), "rounds": rounds, "steps": steps,
            "ckpt_every_s": ckpt_every_s, "plain_each": [round(x) for x in plain],
            "runtime_each": [round(x) for x in ours]}
