"""``suanwang bench wan`` (measurement side): sync DDP vs DiLoCo over an emulated WAN link.

Three real supervised runs of the tiny model, 2 centers x 1 rank, on CPU/gloo:

1. two probes, the cross-center loop in each mode with the link switched off, a few steps: the
   step time without the WAN (``ddp``: compute + loopback exchange, ranks waiting for each other
   every step; ``diloco``: compute, no cross-rank wait), the only measured inputs the plan's
   predictions take (``cli/crosscenter_cmd.py`` feeds them to ``plan/crosscenter.py``);
2. ``ddp``: every step's gradients over the emulated link (``runtime/wan.py``);
3. ``diloco``: outer step every ``H`` inner steps over the same link, same tokens.

Measured: tokens/s (steps 2..N, checkpoint stalls removed), the final loss (mean training loss
over all centers across the last ``H`` steps, the same window for both modes) and the WAN bytes
center 0 sent (its leader is rank 0, which logs the events).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from suanwang.runtime.config import TrainConfig, from_dict
from suanwang.runtime.metrics import _median, read_events
from suanwang.runtime.supervisor import Supervisor

MICRO_BATCH_SEQS = 2


def wan_job(run_dir: Path, mode: str, *, steps: int, outer_every_steps: int,
            bits_per_s: float, latency_s: float, centers: int = 2, batch_seqs: int = 8,
            **sections: Any) -> TrainConfig:
    """The bench job: default tiny model, ``centers`` centers x 1 rank, a global batch of
    ``batch_seqs`` sequences of 128 tokens, checkpoint at the end."""
    raw: dict[str, Any] = {
        "name": f"wan-{mode}",
        "run": {"nproc": centers, "run_dir": str(run_dir), "heartbeat_timeout_s": 30},
        "data": {"micro_batch_seqs": MICRO_BATCH_SEQS,
                 "global_micro_batches": max(centers, batch_seqs // MICRO_BATCH_SEQS)},
        "train": {"steps": steps}, "checkpoint": {"every_steps": 0},
        "sync": {"mode": mode, "centers": list(range(centers)),
                 "outer_every_steps": outer_every_steps, "wan_bits_per_s": bits_per_s,
                 "wan_latency_s": latency_s}}
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return from_dict(raw)


def measure(cfg: TrainConfig, *, window: int, skip: int = 1) -> dict[str, Any]:
    """Run ``cfg`` under the supervisor; throughput, final loss and WAN traffic from events
    (the first ``skip`` steps, which pay first-touch costs, are left out of the timings)."""
    summary = Supervisor(cfg, quiet=True).run()
    if not summary["ok"]:
        raise RuntimeError(f"bench run {cfg.name} failed: see {cfg.run.run_dir}/events.jsonl")
    ev = read_events(Path(cfg.run.run_dir) / "events.jsonl")
    steps = [e for e in ev if e["event"] == "step"]
    timed = steps[skip:]
    seconds = sum(e["step_time_s"] - e["ckpt_stall_s"] for e in timed)
    tokens_per_step = cfg.global_batch_seqs * cfg.model.seq_len
    windows = [e["window_loss"] for e in steps if e.get("window_loss") is not None]
    last = [e["loss"] for e in steps[-window:]]
    return {
        "steps": len(steps), "tokens": len(steps) * tokens_per_step,
        "tokens_per_s": len(timed) * tokens_per_step / seconds,
        "step_time_s_median": _median([e["step_time_s"] for e in timed]),
        "step_time_s_mean": seconds / len(timed),
        "step_time_s_p90": sorted(e["step_time_s"] for e in timed)[int(0.9 * len(timed))],
        "final_loss": windows[-1] if cfg.sync.mode == "diloco" else sum(last) / len(last),
        "wan_bytes": sum(e.get("wan_bytes", 0.0) for e in steps),
        "wan_s": sum(e.get("wan_s", 0.0) for e in steps)}


def bench_wan(work: Path, *, steps: int = 100, outer_every_steps: int = 20,
              bits_per_s: float = 1e8, latency_s: float = 0.03, probe_steps: int = 30,
              batch_seqs: int = 8) -> dict[str, Any]:
    """Probe each mode with the link off, then run sync DDP and DiLoCo for the same ``steps``
    over the link; measured numbers only."""
    out: dict[str, Any] = {"steps": steps, "outer_every_steps": outer_every_steps,
                           "link_bits_per_s": bits_per_s, "latency_s": latency_s}
    for mode in ("ddp", "diloco"):
        # same loop and sync pattern, no link, no outer step before the end: the step time
        # without the WAN (ddp: ranks wait for each other every step; diloco: they do not)
        probe_cfg = wan_job(work / f"probe-{mode}", mode, steps=probe_steps,
                            batch_seqs=batch_seqs, outer_every_steps=probe_steps,
                            bits_per_s=0.0, latency_s=0.0)
        out[f"probe_{mode}_step_s"] = measure(probe_cfg, window=1, skip=5)["step_time_s_mean"]
    out["tokens_per_step"] = probe_cfg.global_batch_seqs * probe_cfg.model.seq_len
    for mode in ("ddp", "diloco"):
        cfg = wan_job(work / mode, mode, steps=steps, outer_every_steps=outer_every_steps,
                      bits_per_s=bits_per_s, latency_s=latency_s, batch_seqs=batch_seqs)
        m = measure(cfg, window=outer_every_steps)
        out.update({f"{mode}_{k}": v for k, v in m.items()})
    from suanwang.runtime.model import GPT, param_count

    out["params"] = param_count(GPT(probe_cfg.model))
    out["wan_bytes"] = {"ddp": out["ddp_wan_bytes"], "diloco": out["diloco_wan_bytes"]}
    return out
