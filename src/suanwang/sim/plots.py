"""Matplotlib figures of simulation results (Agg backend, imported lazily: only ``--plot``).

* ``jct_cdf.png``: CDF of job completion time per policy (log x axis).
* ``utilization.png``: busy devices / all devices over time per policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from suanwang.sim.metrics import SimResult


def _downsample(tl: np.ndarray, points: int = 2000) -> np.ndarray:
    if len(tl) <= points:
        return tl
    idx = np.linspace(0, len(tl) - 1, points).astype(int)
    return tl[idx]


def write_plots(results: Sequence[SimResult], out_dir: str | Path, *, title: str = ""
                ) -> list[Path]:
    """Write the figures into ``out_dir`` (created); returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in results:
        jct = np.sort(r.jct_s)
        if len(jct):
            ax.plot(np.maximum(jct, 1.0), np.arange(1, len(jct) + 1) / len(jct),
                    label=f"{r.policy} (mean {r.mean_jct_s:,.0f} s)")
    ax.set_xscale("log")
    paths.append(_finish(fig, ax, out / "jct_cdf.png", xlabel="job completion time (s)",
                         ylabel="fraction of jobs", title=f"CDF of JCT {title}"))

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in results:
        tl = _downsample(r.timeline)
        if len(tl) and r.devices:
            ax.step(tl[:, 0] / 86400.0, tl[:, 1] / r.devices, where="post", label=r.policy,
                    linewidth=0.8)
    ax.set_ylim(0, 1.05)
    paths.append(_finish(fig, ax, out / "utilization.png", xlabel="time (days)",
                         ylabel="utilization (busy / all devices)",
                         title=f"Utilization over time {title}"))
    return paths


def _finish(fig, ax, path: Path, *, xlabel: str, ylabel: str, title: str) -> Path:
    """Label, grid, legend and save one figure, then free it."""
    import matplotlib.pyplot as plt

    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title.strip())
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
