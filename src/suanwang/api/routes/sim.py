"""``/api/v1/sim``: run a policy comparison on a trace for the dashboard's Simulator page.

* ``GET /sim/options`` -> the traces and policies a comparison may use.
* ``POST /sim/compare`` {trace, jobs, policies, cluster_gpus, seed} -> per policy the summary
  metrics of :class:`suanwang.sim.metrics.SimResult` (JCT, wait, utilisation = busy device-s /
  (devices x makespan), ETTR, cost, energy), the JCT CDF (``points`` quantiles) and busy/all
  devices over time (downsampled to ``points`` samples).

Traces: ``synthetic`` (the shipped generator, :func:`suanwang.sim.traces.synthetic.synthetic_llm`,
seeded) and ``helios-15k`` (SenseTime Helios, SC'21, dirlab format), read from the folder named
by ``SUANWANG_TRACE_DIR`` (default ``../shared/data/traces`` beside the working directory) when
present. The first ``jobs`` jobs are replayed on one homogeneous cluster of ``cluster_gpus``
devices, node-aware, with online (history) run-time estimates: the same simulator as
``suanwang simulate``. The work runs in FastAPI's thread pool (a plain ``def`` handler).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Literal

import numpy as np
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from suanwang.core.errors import ConfigError
from suanwang.sched.registry import POLICIES, get_policy

POINTS = 200
FILE_TRACES = {"helios-15k": ("helios_15k.csv", "dirlab")}


def trace_dir() -> Path:
    """Folder of the file traces: ``$SUANWANG_TRACE_DIR`` or ``../shared/data/traces``."""
    return Path(os.environ.get("SUANWANG_TRACE_DIR", Path.cwd().parent / "shared/data/traces"))


def available_traces() -> list[str]:
    """``synthetic`` always; file traces whose file exists in :func:`trace_dir`."""
    found = [name for name, (file, _) in FILE_TRACES.items() if (trace_dir() / file).is_file()]
    return ["synthetic", *found]


class CompareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trace: str = "synthetic"
    jobs: int = Field(2000, ge=10, le=20_000)
    policies: list[Literal["fifo", "backfill", "fairshare", "priority", "suanwang"]] = Field(
        default_factory=lambda: ["fifo", "backfill", "suanwang"], min_length=1, max_length=5)
    cluster_gpus: int = Field(512, ge=8, le=100_000)
    seed: int = Field(0, ge=0, le=2**31)


def _head(workload, n: int):
    """The first ``n`` jobs of a workload (columns sliced; name tables kept)."""
    if n >= len(workload):
        return workload
    cols = {f.name: getattr(workload, f.name) for f in dataclasses.fields(workload)}
    sliced = {k: (v[:n] if isinstance(v, np.ndarray) else v) for k, v in cols.items()}
    sliced["name"] = f"{workload.name} (first {n})"
    return type(workload)(**sliced)


def _workload(req: CompareRequest):
    if req.trace == "synthetic":
        from suanwang.sim.traces.synthetic import synthetic_llm

        return synthetic_llm(req.jobs, req.cluster_gpus, seed=req.seed,
                             max_size=req.cluster_gpus)
    if req.trace not in available_traces():
        raise ConfigError(f"unknown or absent trace '{req.trace}'; available: "
                          f"{', '.join(available_traces())}", field="trace")
    from suanwang.sim.traces import load_trace

    file, fmt = FILE_TRACES[req.trace]
    return _head(load_trace(trace_dir() / file, fmt), req.jobs)


def _cdf(jct_s: np.ndarray) -> dict:
    if not len(jct_s):
        return {"jct_s": [], "fraction": []}
    q = np.linspace(0.0, 1.0, POINTS)
    return {"jct_s": np.quantile(np.maximum(jct_s, 1.0), q).round(1).tolist(),
            "fraction": q.round(4).tolist()}


def _utilisation(timeline: np.ndarray, devices: int) -> dict:
    """Busy/all devices averaged over ``POINTS`` equal time bins (``t_s`` = bin starts).

    ``timeline`` rows are (t_s, busy devices from t on): a step function, so its integral is
    piecewise linear and each bin's mean is (integral at bin end - at bin start) / bin width.
    """
    if len(timeline) < 2 or not devices:
        return {"t_s": [], "utilisation": []}
    t, busy = timeline[:, 0], timeline[:, 1]
    integral = np.concatenate([[0.0], np.cumsum(busy[:-1] * np.diff(t))])
    edges = np.linspace(t[0], t[-1], POINTS + 1)
    width = np.diff(edges)
    if not np.all(width > 0):
        return {"t_s": [], "utilisation": []}
    mean = np.diff(np.interp(edges, t, integral)) / width / devices
    return {"t_s": edges[:-1].round(1).tolist(), "utilisation": mean.round(4).tolist()}


def compare(req: CompareRequest) -> dict:
    """Simulate each policy on the trace; JSON-able results (see the module docstring)."""
    from suanwang.sim.cluster import homogeneous
    from suanwang.sim.engine import SimOptions, simulate

    workload = _workload(req)
    cluster = homogeneous(req.cluster_gpus)
    out = {}
    for name in req.policies:
        res = simulate(workload, cluster, get_policy(name),
                       SimOptions(seed=req.seed, timeline=True, node_aware=True))
        out[name] = {"summary": res.to_dict(), "jct_cdf": _cdf(res.jct_s),
                     "utilisation": _utilisation(res.timeline, res.devices)}
    return {"trace": workload.name, "jobs": len(workload), "cluster": cluster.name,
            "devices": cluster.devices, "policies": out}


def build_router(*dependencies) -> APIRouter:
    """The ``/sim`` router; ``dependencies`` (e.g. the API's bearer-token check) guard it."""
    router = APIRouter(prefix="/sim", tags=["sim"], dependencies=list(dependencies))

    @router.get("/options")
    def sim_options() -> dict:
        return {"traces": available_traces(), "policies": list(POLICIES)}

    @router.post("/compare")
    def sim_compare(req: CompareRequest) -> dict:
        return compare(req)

    return router
