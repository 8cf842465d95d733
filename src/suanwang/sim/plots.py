"""Matplotlib figures of simulation results (Agg backend, imported lazily: only ``--plot``).

* ``jct_cdf.png``: CDF of job completion time per policy (log x axis; JCTs under 1 s are drawn
  at 1 s and the share of such jobs is written on the figure, so the step at the left edge is
  explained, not mistaken for a bug).
* ``utilization.png``: busy devices / all devices over time, one panel per policy, as the
  time-weighted mean over equal time bins (a raw busy-device step trace of thousands of events
  is unreadable), with time in seconds like the table's ``makespan s``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from suanwang.sim.metrics import SimResult


def binned_utilization(timeline: np.ndarray, devices: int, bins: int = 200
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(bin centres in s, mean busy/devices in each bin) of a busy-devices step function.

    ``timeline`` is (N, 2): event time (s, ascending) and busy devices from then on; the mean
    in each bin is the exact integral of the step function over the bin / bin width.
    """
    t, busy = timeline[:, 0], timeline[:, 1]
    if len(t) == 0 or devices <= 0 or t[-1] <= t[0]:
        return np.zeros(0), np.zeros(0)
    edges = np.linspace(t[0], t[-1], bins + 1)
    area = np.concatenate(([0.0], np.cumsum(busy[:-1] * np.diff(t))))  # integral up to t[i]
    seg = np.clip(np.searchsorted(t, edges, side="right") - 1, 0, len(t) - 1)
    integral = area[seg] + busy[seg] * (edges - t[seg])
    return (edges[:-1] + edges[1:]) / 2, np.diff(integral) / np.diff(edges) / devices


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
    short = []
    for r in results:
        jct = np.sort(r.jct_s)
        if len(jct):
            ax.plot(np.maximum(jct, 1.0), np.arange(1, len(jct) + 1) / len(jct),
                    label=f"{r.policy} (mean {r.mean_jct_s:,.0f} s)")
            if np.any(jct <= 1.0):
                short.append(f"{r.policy} {np.mean(jct <= 1.0):.1%}")
    ax.set_xscale("log")
    if short:
        ax.text(0.99, 0.02, "JCT ≤ 1 s drawn at 1 s (jobs that ran ≤ 1 s without waiting): "
                + ", ".join(short), transform=ax.transAxes, ha="right", va="bottom",
                fontsize=7, wrap=True)
    paths.append(_finish(fig, ax, out / "jct_cdf.png", xlabel="job completion time (s)",
                         ylabel="fraction of jobs", title=f"CDF of JCT {title}"))

    with_tl = [r for r in results if len(r.timeline) and r.devices]
    fig, axes = plt.subplots(max(len(with_tl), 1), 1, figsize=(7, 1.6 + 1.4 * len(with_tl)),
                             sharex=True, squeeze=False)
    for ax, r in zip(axes[:, 0], with_tl, strict=False):
        x, u = binned_utilization(r.timeline, r.devices)
        ax.fill_between(x, u, step="mid", alpha=0.35)
        ax.step(x, u, where="mid", linewidth=0.8,
                label=f"{r.policy} (mean {r.utilization:.3f})")
        ax.set_ylim(0, 1.05)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    paths.append(_finish(fig, axes[-1, 0], out / "utilization.png", xlabel="time (s)",
                         ylabel="busy / all devices",
                         title=f"Utilization (mean per time bin) {title}", top=axes[0, 0]))
    return paths


def _finish(fig, ax, path: Path, *, xlabel: str, ylabel: str, title: str, top=None) -> Path:
    """Label, grid, legend and save one figure, then free it (``top``: the panel that carries
    the title when there are several)."""
    import matplotlib.pyplot as plt

    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    (top or ax).set_title(title.strip())
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
