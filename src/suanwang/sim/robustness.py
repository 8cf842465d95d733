"""``suanwang bench sched``: the default policy against FIFO and EASY on workloads it was not
tuned on: other cluster sizes for Helios (pooled capacity, and node-aware at 512 GPUs), the
Alibaba 2023 trace on its own node types scaled down to 97 GPUs (at full size, 6,212 GPUs, it
runs at 0.3% utilization and no policy matters), and synthetic workloads whose
lengths are unpredictable from history (``hist``), tied to users as in real traces (``user``:
no priorities, history predicts) or carry planner-like predictions (``plan``). Reported as
ratios to backfill (mean JCT, makespan, p99 JCT, max wait) and to FIFO.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from suanwang.sched.registry import get_policy
from suanwang.sim.cluster import SimCluster, homogeneous, scaled_accelerator_pools
from suanwang.sim.engine import SimOptions, simulate
from suanwang.sim.traces import load_trace
from suanwang.sim.traces.alibaba2023 import load_alibaba_nodes
from suanwang.sim.traces.synthetic import synthetic_llm
from suanwang.sim.workload import Workload

Case = tuple[str, Callable[[], tuple[Workload, SimCluster]]]

NODE_AWARE_SUFFIX = "-nodes"
"""Cases whose name ends so run with node-aware placement (``SimOptions.node_aware``)."""


def cases(traces_dir: Path | None) -> list[Case]:
    """(name, builder) pairs; trace cases only when ``traces_dir`` holds the shipped traces."""
    out: list = []
    if traces_dir is not None and (traces_dir / "helios_15k.csv").exists():
        helios = traces_dir / "helios_15k.csv"
        for n in (384, 512, 768):
            out.append((f"helios-{n}", lambda n=n: (load_trace(helios, "dirlab"),
                                                    homogeneous(n))))
        out.append((f"helios-512{NODE_AWARE_SUFFIX}",
                    lambda: (load_trace(helios, "dirlab"), homogeneous(512))))
    if traces_dir is not None and (traces_dir / "alibaba2023_gpu_nodes.csv").exists():
        pods = traces_dir / "alibaba2023_pods_gpuspec33.csv"
        nodes = traces_dir / "alibaba2023_gpu_nodes.csv"
        out.append(("alibaba-97", lambda: (load_trace(pods, "alibaba2023"),
                                           scaled_accelerator_pools(load_alibaba_nodes(nodes),
                                                                    64))))
    for load in (1.0, 1.4):
        def hist(load=load):
            w = synthetic_llm(6000, 512, load=load, seed=2, max_size=256)
            w.estimate_s = None
            return w, homogeneous(512)

        def plan(load=load):
            return synthetic_llm(6000, 512, load=load, seed=2, max_size=256), homogeneous(512)

        def user(load=load):
            w = synthetic_llm(6000, 512, load=load, seed=3, max_size=256, users=64,
                              user_sigma=0.5)
            w.estimate_s = None
            w.priority = None
            return w, homogeneous(512)

        out.append((f"synth-hist-{load}", hist))
        out.append((f"synth-user-{load}", user))
        out.append((f"synth-plan-{load}", plan))
    return out


def robustness(traces_dir: Path | None, progress=None) -> list[dict]:
    """One row per case: absolute mean JCTs and the ratios of ``suanwang`` to the baselines."""
    rows = []
    for name, build in cases(traces_dir):
        workload, cluster = build()
        opts = SimOptions(node_aware=name.endswith(NODE_AWARE_SUFFIX))
        res = {p: simulate(workload, cluster, get_policy(p), opts)
               for p in ("fifo", "backfill", "suanwang")}
        f, bf, sw = res["fifo"], res["backfill"], res["suanwang"]
        rows.append({
            "case": name, "fifo_mean_jct_s": f.mean_jct_s, "backfill_mean_jct_s": bf.mean_jct_s,
            "suanwang_mean_jct_s": sw.mean_jct_s,
            "jct_vs_backfill": sw.mean_jct_s / bf.mean_jct_s,
            "jct_vs_fifo": sw.mean_jct_s / f.mean_jct_s,
            "makespan_vs_backfill": sw.makespan_s / bf.makespan_s,
            "p99_vs_backfill": sw.p99_jct_s / bf.p99_jct_s,
            "max_wait_vs_backfill": sw.max_wait_s / bf.max_wait_s if bf.max_wait_s else 1.0,
            "finished": sw.finished, "jobs": sw.jobs})
        if progress is not None:
            progress(name)
    return rows
