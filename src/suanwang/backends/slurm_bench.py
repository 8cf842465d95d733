"""``suanwang bench slurm``: submit -> RUNNING latency and node-failure recovery on a real cluster.

Targets (issue #11): submit -> RUNNING <= 5 s on a local cluster; after a node goes down under a
2-node training job, training resumed <= 30 s after Slurm requeued it (with
``release_requeued``: ``scontrol update jobid=J StartTime=now``, since Slurm otherwise holds a
requeued job ~120 s).

* submit: ``jobs`` one-core batch jobs (``sleep 1``), one after the other; each sample is the
  wall time from calling ``submit`` to the first poll that reports RUNNING (polls every 50 ms).
  Reported: every sample, median, p90, max.
* node failure: a 2-node tiny training job (:func:`tiny_training`, torchrun across the nodes);
  once a checkpoint at step >= 8 is committed, ``scontrol update nodename=X state=down`` on its
  last node. Reported: down -> requeue seen by poll, requeue -> the runtime's ``resume`` event
  (its own timestamp), the resumed step vs the newest committed step when the failed run
  stopped (``lost_committed_steps`` must be 0). The job is cancelled afterwards and the node
  resumed.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from suanwang.backends.base import AttemptSpec, AttemptState, BackendStatus, Handle
from suanwang.backends.slurm import SlurmBackend
from suanwang.core.errors import BackendError

POLL_S = 0.05


def tiny_training(steps: int, *, every_steps: int = 4, slow_s: float = 0.0) -> dict[str, Any]:
    """A ~20k-parameter GPT on the byte corpus, one micro-batch per rank per step, 2 ranks;
    ``slow_s`` > 0 sleeps that long per step on rank 0 (so a short run lasts long enough)."""
    return {"name": "slurm-tiny",
            "model": {"layers": 1, "hidden": 32, "heads": 2, "ffn_hidden": 64, "seq_len": 32},
            "data": {"micro_batch_seqs": 2, "global_micro_batches": 2},
            "train": {"steps": steps, "warmup_steps": 1},
            "checkpoint": {"every_steps": every_steps, "keep": 3},
            "run": {"nproc": 2, "max_restarts": 0, "peak_flops_per_s": 1e10,
                    "startup_timeout_s": 60},
            "faults": {"slow_rank": 0, "slow_delay_s": slow_s} if slow_s else {}}


def _until(backend: SlurmBackend, h: Handle, done: Callable[[BackendStatus], bool],
           timeout_s: float) -> BackendStatus:
    deadline = time.monotonic() + timeout_s
    while True:
        st = backend.poll([h])[h.key]
        if done(st):
            return st
        if time.monotonic() > deadline:
            raise BackendError(f"{h.key}: still {st.state} after {timeout_s} s")
        time.sleep(POLL_S)


def newest_committed_step(ckpt_dir: Path) -> int:
    """Newest ``step_N`` with the runtime's commit marker ``COMMITTED.json`` (-1 if none)."""
    steps = [int(d.name.split("_")[1]) for d in ckpt_dir.glob("step_*")
             if (d / "COMMITTED.json").is_file()]
    return max(steps, default=-1)


def _stats(samples: list[float]) -> dict[str, Any]:
    xs = sorted(samples)
    p90 = xs[min(len(xs) - 1, round(0.9 * (len(xs) - 1)))]
    return {"samples_s": [round(x, 3) for x in samples],
            "median_s": round(statistics.median(xs), 3), "p90_s": round(p90, 3),
            "max_s": round(xs[-1], 3)}


def bench_submit(backend: SlurmBackend, *, jobs: int, accelerator: str, root: Path,
                 prefix: str) -> dict[str, Any]:
    """Submit -> RUNNING seconds for ``jobs`` sequential one-device batch jobs."""
    samples = []
    for i in range(jobs):
        a = AttemptSpec(key=f"{prefix}-j{i + 1}-a1", job_id=i + 1, n=1, kind="batch",
                        center=backend.center, accelerator=accelerator, devices=1,
                        command="sleep 1", run_dir=str(root / f"submit{i}"))
        t0 = time.monotonic()
        h = backend.submit(a)
        _until(backend, h, lambda s: s.state is not AttemptState.PENDING, 60)
        samples.append(time.monotonic() - t0)
        backend.cancel(h)
    return _stats(samples)


def _events_until(backend: SlurmBackend, h: Handle, want: Callable[[dict], bool], cursor: int,
                  timeout_s: float) -> tuple[dict[str, Any], int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        recs, cursor = backend.events(h, cursor)
        for r in recs:
            if want(r):
                return r, cursor
        time.sleep(0.1)
    raise BackendError(f"{h.key}: runtime event not seen within {timeout_s} s; log tail: "
                       f"{backend.logs(h, 1500)}")


def bench_node_failure(backend: SlurmBackend, *, accelerator: str, root: Path,
                       prefix: str) -> dict[str, Any]:
    """Down one node of a running 2-node training job; time requeue and resume (module doc)."""
    run_dir = root / "train"
    a = AttemptSpec(key=f"{prefix}-j1000-a1", job_id=1000, n=1, kind="training",
                    center=backend.center, accelerator=accelerator, devices=2, nodes=2,
                    runtime_config=tiny_training(60, slow_s=0.25), run_dir=str(run_dir))
    h = backend.submit(a)
    _, cursor = _events_until(backend, h, lambda e: e["event"] == "ckpt_persisted"
                              and e.get("step", 0) >= 8, 0, 180)
    job = backend.cli.run(["scontrol", "-o", "show", "job", h.native_id]).stdout
    nodelist = job.split(" NodeList=")[1].split()[0]
    victim = backend.cli.run(["scontrol", "show", "hostnames", nodelist]).stdout.split()[-1]
    try:
        t_down = time.time()
        backend.cli.run(["scontrol", "update", f"nodename={victim}", "state=down",
                         "reason=suanwang-bench"])
        _until(backend, h, lambda s: s.state is AttemptState.PENDING, 120)
        t_requeued = time.time()
        committed = newest_committed_step(run_dir / "ckpt")
        resume, _ = _events_until(backend, h, lambda e: e["event"] == "resume", cursor, 180)
    finally:
        backend.cancel(h)
        backend.cli.run(["scontrol", "update", f"nodename={victim}", "state=resume"],
                        check=False)
    return {"node": victim, "down_to_requeued_s": round(t_requeued - t_down, 3),
            "requeued_to_resumed_s": round(resume["t"] - t_requeued, 3),
            "committed_step": committed, "resumed_step": resume["step"],
            "lost_committed_steps": committed - resume["step"]}


def run_bench(backend: SlurmBackend, *, jobs: int, accelerator: str, node_failure: bool,
              root: Path | None = None) -> dict[str, Any]:
    """Both measurements (module doc) against ``backend``'s cluster."""
    root = Path(root or tempfile.mkdtemp(prefix="suanwang-slurm-bench-"))
    prefix = f"swb{int(time.time()) % 100000}"  # fresh attempt keys: never re-attach
    out: dict[str, Any] = {"cluster": backend.cluster, "accounting":
                           "slurmdbd" if backend.has_dbd else "jobcomp (sacct -c)",
                           "submit_to_running": bench_submit(backend, jobs=jobs,
                                                             accelerator=accelerator, root=root,
                                                             prefix=prefix)}
    if node_failure:
        out["node_failure"] = bench_node_failure(backend, accelerator=accelerator, root=root,
                                                 prefix=prefix)
    return out
