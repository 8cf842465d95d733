"""The CPU MFU denominator: a matmul rate measured once per run and cached in the run dir."""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch


def measured_peak_flops(run_dir: Path, trials: int = 20) -> float:
    """Per-process fp32 matmul rate in FLOP/s (best of ``trials`` x 4 512x512 matmuls).

    On a shared machine other processes only ever slow a trial down, so the fastest trial is
    the closest to the core's real peak (a mean would let MFU exceed 100% whenever the
    measurement was disturbed). Cached in ``run_dir/peak_flops.json``.
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
