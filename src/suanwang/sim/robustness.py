"""``suanwang bench sched``: every shipped policy on workloads the default was not tuned on,
checked against the scheduling targets (issue #14), one verdict per case.

Cases: Helios at other cluster sizes (pooled; node-aware at 256 and 512 GPUs), the Alibaba 2023
pods on their own node types scaled down to 97 GPUs (at full size, 6,212 GPUs, nothing waits),
synthetic workloads on one 512-GPU cluster whose lengths are unpredictable from history
(``hist``), tied to users (``user``: no priorities, history predicts) or carry planner-like
predictions (``plan``), and contended synthetic workloads on the heterogeneous demo federation
(``demo``: scaled to 312 and 1,000 GPUs, node-aware, failures drawn from the reliability
model; 5% priority-1 jobs, planner-like predictions).

Targets per case (:data:`TARGETS`): ``suanwang``'s mean JCT <= 0.8x EASY backfill's and the
lowest of all shipped policies; its p99 wait and max wait <= EASY's. A case where no job
waits under EASY has no tail to lose (ratios of 0 waits are reported as 1.0). Wait is
submission to first start, as the targets define it; beside it each row gives the p99 and
max *queued* time (all time in the queue, including a preempted job's wait to resume) as
ratios to EASY's, which a policy that preempts must also be judged on.

Two references say how far a case lets any policy go: the no-wait lower bound on mean JCT
(:func:`suanwang.sim.bounds.no_wait_mean_jct_s`; above 0.8x EASY's mean, the mean target is
infeasible for every policy) and ``sjf-unguarded`` — shortest predicted device-time first with
no starvation guard (no anchor, no aging, no overdue guard): roughly how much mean JCT ordering
alone can win, and what it costs at the tail.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path

from suanwang.sched.registry import POLICIES, get_policy
from suanwang.sched.suanwang_policy import SuanwangPolicy
from suanwang.sim.bounds import no_wait_mean_jct_s
from suanwang.sim.cluster import SimCluster, homogeneous, load_cluster, scaled_accelerator_pools
from suanwang.sim.engine import SimOptions, simulate
from suanwang.sim.traces import load_trace
from suanwang.sim.traces.alibaba2023 import load_alibaba_nodes
from suanwang.sim.traces.synthetic import synthetic_llm
from suanwang.sim.workload import Workload

Build = Callable[[int], tuple[Workload, SimCluster]]
"""Builds a case's workload and cluster; the argument offsets the synthetic seed (trace cases
ignore it)."""
Case = tuple[str, Build, SimOptions]

TARGETS = {"mean_jct_vs_backfill": 0.8, "p99_wait_vs_backfill": 1.0,
           "max_wait_vs_backfill": 1.0}
"""Upper bounds on ``suanwang`` / EASY backfill ratios (issue #14)."""
LABELS = {"mean_jct_vs_backfill": "mean JCT", "p99_wait_vs_backfill": "p99 wait",
          "max_wait_vs_backfill": "max wait", "lowest_mean_jct": "lowest mean"}
"""How a failed target reads in the verdict (``failed`` in the row keeps the keys)."""

POOLED = SimOptions()
NODES = SimOptions(node_aware=True)
CONTENDED = SimOptions(node_aware=True, failures=True)


def _helios(path: Path, gpus: int) -> Build:
    return lambda _seed: (load_trace(path, "dirlab"), homogeneous(gpus))


def _demo(jobs: int, gpus: int, load: float, seed: int) -> Build:
    def build(offset: int) -> tuple[Workload, SimCluster]:
        cluster = scaled_accelerator_pools(load_cluster(None), gpus)
        capacity = max(int(sum(p.devices * p.speed for p in cluster.pools)), 1)
        w = synthetic_llm(jobs, capacity, load=load, seed=seed + offset,
                          centers=sorted({p.center for p in cluster.pools}),
                          max_size=max(p.devices for p in cluster.pools))
        return w, cluster
    return build


def _synthetic(kind: str, load: float) -> Build:
    def build(offset: int) -> tuple[Workload, SimCluster]:
        if kind == "user":
            w = synthetic_llm(6000, 512, load=load, seed=3 + offset, max_size=256, users=64,
                              user_sigma=0.5)
            w.priority = None
        else:
            w = synthetic_llm(6000, 512, load=load, seed=2 + offset, max_size=256)
        if kind != "plan":
            w.estimate_s = None
        return w, homogeneous(512)
    return build


TRACE_FILES = {"helios": ("helios_15k.csv",),
               "alibaba": ("alibaba2023_pods_gpuspec33.csv", "alibaba2023_gpu_nodes.csv")}
"""Files each family of trace cases needs in the traces folder."""
HELIOS_POOLED = (384, 512, 768)
HELIOS_NODES = (256, 512)
"""GPU counts of the Helios cases (pooled; node-aware)."""
TRACE_CASES = {**{f"helios-{n}": "helios" for n in HELIOS_POOLED},
               **{f"helios-{n}-nodes": "helios" for n in HELIOS_NODES},
               "alibaba-97": "alibaba"}
"""Case name -> its trace family (the cases that exist only when the traces are found)."""


def missing_traces(traces_dir: Path | None) -> list[str]:
    """The trace files :func:`cases` looks for that ``traces_dir`` lacks (all when None)."""
    return [f for files in TRACE_FILES.values() for f in files
            if traces_dir is None or not (traces_dir / f).is_file()]


def cases(traces_dir: Path | None) -> list[Case]:
    """(name, builder, options); trace cases only when ``traces_dir`` holds the traces."""
    out: list[Case] = []
    if traces_dir is not None and (traces_dir / "helios_15k.csv").exists():
        helios = traces_dir / "helios_15k.csv"
        out += [(f"helios-{n}", _helios(helios, n), POOLED) for n in HELIOS_POOLED]
        out += [(f"helios-{n}-nodes", _helios(helios, n), NODES) for n in HELIOS_NODES]
    if traces_dir is not None and all((traces_dir / f).exists() for f in TRACE_FILES["alibaba"]):
        pods = traces_dir / "alibaba2023_pods_gpuspec33.csv"
        nodes = traces_dir / "alibaba2023_gpu_nodes.csv"
        out.append(("alibaba-97", lambda _seed: (load_trace(pods, "alibaba2023"),
                                           scaled_accelerator_pools(load_alibaba_nodes(nodes),
                                                                    64)), POOLED))
    for load in (1.0, 1.4):
        for kind in ("hist", "user", "plan"):
            out.append((f"synth-{kind}-{load}", _synthetic(kind, load), POOLED))
    out.append(("demo-312-1.1", _demo(3000, 312, 1.1, 0), CONTENDED))
    out.append(("demo-1000-1.1", _demo(10000, 1000, 1.1, 0), CONTENDED))
    return out


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else (1.0 if a <= 0 else float("inf"))


def sjf_unguarded() -> SuanwangPolicy:
    """The reference policy: ``suanwang``'s shortest-first order without its starvation guards
    (no anchor, no aging, no overdue guard)."""
    return SuanwangPolicy(name="sjf-unguarded", patience_s=math.inf, age_half_life_s=0.0,
                          aging_factor=math.inf, preempt_after_s=math.inf)


def judge(results: dict, no_wait_bound_s: float = math.nan) -> dict:
    """The target row for one case from its per-policy :class:`SimResult` s (by policy name;
    must include ``backfill`` and ``suanwang``): ratios, the lowest-mean check and a verdict
    (``met`` or the failed targets, comma-separated). With ``no_wait_bound_s`` (seconds), a
    failed mean target that no policy could meet is marked ``(infeasible: no-wait bound ...)``."""
    sw, bf = results["suanwang"], results["backfill"]
    row = {
        "mean_jct_vs_backfill": _ratio(sw.mean_jct_s, bf.mean_jct_s),
        "p99_wait_vs_backfill": _ratio(sw.p99_wait_s, bf.p99_wait_s),
        "max_wait_vs_backfill": _ratio(sw.max_wait_s, bf.max_wait_s),
        "p99_jct_vs_backfill": _ratio(sw.p99_jct_s, bf.p99_jct_s),
        "p99_queued_vs_backfill": _ratio(sw.p99_queued_s, bf.p99_queued_s),
        "max_queued_vs_backfill": _ratio(sw.max_queued_s, bf.max_queued_s),
        "makespan_vs_backfill": _ratio(sw.makespan_s, bf.makespan_s),
        "best_other_mean_jct": min((r.policy for r in results.values()
                                    if r.policy != "suanwang"),
                                   key=lambda p: results[p].mean_jct_s, default=None),
    }
    others = [r.mean_jct_s for r in results.values() if r.policy != "suanwang"]
    row["lowest_mean_jct"] = all(sw.mean_jct_s <= m * (1 + 1e-9) for m in others)
    failed = [k for k, bound in TARGETS.items() if not row[k] <= bound + 1e-9]
    if not row["lowest_mean_jct"]:
        failed.append("lowest_mean_jct")
    row["failed"] = failed
    bound = math.nan if math.isnan(no_wait_bound_s) else _ratio(no_wait_bound_s, bf.mean_jct_s)
    row["no_wait_bound_vs_backfill"] = bound
    row["mean_target_feasible"] = not bound > TARGETS["mean_jct_vs_backfill"]
    row["verdict"] = "met" if not failed else "failed: " + ", ".join(LABELS[k] for k in failed)
    if "mean_jct_vs_backfill" in failed and not row["mean_target_feasible"]:
        row["verdict"] += f" (mean infeasible: no-wait bound {bound:.2f}x)"
    return row


def _case_row(name: str, build: Build, opts: SimOptions, names: list[str], seed: int) -> dict:
    workload, cluster = build(seed)
    res = {p: simulate(workload, cluster, get_policy(p), opts) for p in names}
    ref = simulate(workload, cluster, sjf_unguarded(), opts)
    bound = no_wait_mean_jct_s(workload, cluster)
    bf = res["backfill"]
    row = {"case": name, "seed": seed, "jobs": len(workload), "devices": cluster.devices,
           "node_aware": opts.node_aware, "failures": opts.failures,
           "finished": res["suanwang"].finished,
           "policies": {p: {"mean_jct_s": r.mean_jct_s, "p99_wait_s": r.p99_wait_s,
                            "max_wait_s": r.max_wait_s, "p99_jct_s": r.p99_jct_s,
                            "utilization": r.utilization, "makespan_s": r.makespan_s,
                            "preemptions": r.preemptions, "ettr": r.ettr,
                            "p99_queued_s": r.p99_queued_s, "max_queued_s": r.max_queued_s}
                        for p, r in res.items()},
           "no_wait_mean_jct_s": bound,
           "sjf_unguarded": {"mean_jct_vs_backfill": _ratio(ref.mean_jct_s, bf.mean_jct_s),
                             "p99_wait_vs_backfill": _ratio(ref.p99_wait_s, bf.p99_wait_s),
                             "max_wait_vs_backfill": _ratio(ref.max_wait_s, bf.max_wait_s)}}
    row.update(judge(res, bound))
    return row


QUEUED = ("p99_queued_vs_backfill", "max_queued_vs_backfill")
"""The queued-time ratios reported beside the targets (every wait, including resuming)."""


def summary(rows: list[dict]) -> list[dict]:
    """Per case over its seeds: the median of each target ratio and of the queued-time ratios,
    how many seeds met every target, and how many also had queued-time ratios <= 1 (a single
    run of a chaotic schedule can land either side of a bound)."""
    by_case: dict[str, list[dict]] = {}
    for r in rows:
        by_case.setdefault(r["case"], []).append(r)
    return [{"case": case, "seeds": len(rs),
             "met": sum(r["verdict"] == "met" for r in rs),
             "met_with_queued": sum(r["verdict"] == "met" and all(
                 r[k] <= 1.0 + 1e-9 for k in QUEUED) for r in rs),
             **{f"median_{k}": statistics.median(r[k] for r in rs)
                for k in (*TARGETS, *QUEUED)}}
            for case, rs in by_case.items()]


def robustness(traces_dir: Path | None, progress=None, *, only: Sequence[str] = (),
               policies: Sequence[str] = tuple(POLICIES), seeds: int = 1) -> list[dict]:
    """One row per case (and per seed of a synthetic case when ``seeds`` > 1: seeds offset
    0 .. seeds-1; trace cases run once): every policy's mean JCT, p99 and max wait and
    utilization, and :func:`judge`'s target row. ``only`` restricts to the named cases (all
    when empty); unknown names raise ``ValueError`` listing the known ones."""
    if seeds < 1:
        raise ValueError(f"seeds must be >= 1 (got {seeds})")
    all_cases = cases(traces_dir)
    known = [c[0] for c in all_cases]
    need = [n for n in only if n not in known and n in TRACE_CASES]
    if need:
        files = sorted({f for n in need for f in TRACE_FILES[TRACE_CASES[n]]})
        raise ValueError(f"case(s) {', '.join(need)} need {', '.join(files)} in the traces "
                         f"folder {traces_dir}; pass --traces DIR")
    unknown = [n for n in only if n not in known]
    if unknown:
        raise ValueError(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(known)}")
    names = list(dict.fromkeys(["backfill", "suanwang", *policies]))
    rows = []
    for name, build, opts in all_cases:
        if only and name not in only:
            continue
        for seed in range(1 if name in TRACE_CASES else seeds):
            rows.append(_case_row(name, build, opts, names, seed))
            if progress is not None:
                progress(name if seeds == 1 or name in TRACE_CASES else f"{name} seed {seed}")
    return rows
