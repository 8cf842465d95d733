"""Helpers for runtime integration tests: run a job under the supervisor with a hard timeout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from suanwang.runtime.metrics import loss_curve, read_events

TIMEOUT_S = 120


def small_job(run_dir: Path, **sections) -> dict:
    """A fast job: default ~0.87M model, 2 ranks, 2-sequence micro-batches, short run."""
    job = {
        "name": "t",
        "data": {"micro_batch_seqs": 2, "global_micro_batches": 4},
        "train": {"steps": 10, "warmup_steps": 2},
        "checkpoint": {"every_steps": 3, "keep": 2},
        "run": {"nproc": 2, "run_dir": str(run_dir), "heartbeat_timeout_s": 20,
                "startup_timeout_s": 60, "max_restarts": 2, "peak_flops_per_s": 1e10},
    }
    for section, values in sections.items():
        job.setdefault(section, {}).update(values)
    return job


def run_job(job: dict, *, timeout_s: float = TIMEOUT_S, codes: tuple[int, ...] = (0, 1)) -> dict:
    """Run ``python -m suanwang.runtime run`` on ``job``; returns summary + events + losses."""
    run_dir = Path(job["run"]["run_dir"])
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir.parent / f"{run_dir.name}.json"
    path.write_text(json.dumps(job))
    try:
        proc = subprocess.run([sys.executable, "-m", "suanwang.runtime", "run", str(path),
                               "--quiet"], capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        pytest.fail(f"runtime did not finish within {timeout_s} s (a hang); see {run_dir}")
    assert proc.returncode in codes, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    events = read_events(run_dir / "events.jsonl")
    finish = [e for e in events if e["event"] == "finish"]
    return {"summary": summary, "events": events, "losses": loss_curve(events),
            "rc": proc.returncode, "stderr": proc.stderr,
            "weights": finish[-1]["weights_sha256"] if finish else None}


@pytest.fixture(scope="session")
def reference(tmp_path_factory) -> dict:
    """The uninterrupted 2-rank run every fault test is compared against."""
    return run_job(small_job(tmp_path_factory.mktemp("ref") / "run"))
