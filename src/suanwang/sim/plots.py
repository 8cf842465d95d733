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
    ax.set_xlabel("job completion time (s)")
    ax.set_ylabel("fraction of jobs")
    ax.set_title(f"CDF of JCT {title}".strip())
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    paths.append(out / "jct_cdf.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in results:
        tl = _downsample(r.timeline)
        if len(tl) and r.devices:
            ax.step(tl[:, 0] / 86400.0, tl[:, 1] / r.devices, where="post", label=r.policy,
                    linewidth=0.8)
    ax.set_xlabel("time (days)")
    ax.set_ylabel("utilization (busy / all devices)")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Utilization over time {title}".strip())
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    paths.append(out / "utilization.png")
    fig.savefig(paths[-1], dpi=120)
    plt.close(fig)
    return paths
