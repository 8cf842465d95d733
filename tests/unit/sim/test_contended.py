"""The contended bench case at a small size, checked against an independent brute-force replay.

The replay below shares no code with the engine's event loop, node bookkeeping or the policy's
memo: at every event instant it rebuilds the whole state from plain per-node records (no queue
or running feed, so the policy takes its fresh path: :meth:`SuanwangPolicy.order`, a fresh sort,
through a plain pass, after the overdue guard), applies preemptions (requeued with their work
up to one checkpoint save before the stop: the final checkpoint on the signal; failures from
their last periodic checkpoint), places gangs on nodes by scanning them, and draws failures
from its own :class:`FailureModel` with the same seed. Same decisions => same start and end times.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from suanwang.sched.decisions import Preempt
from suanwang.sched.state import ClusterState, JobView, RunningView
from suanwang.sched.suanwang_policy import SHORT_QUEUE, SuanwangPolicy
from suanwang.sim.bench import bench_case, bench_sim
from suanwang.sim.engine import _Sim
from suanwang.sim.failures import FailureModel


def _place(free: list[int], n: int, per_node: int) -> list[tuple[int, int]]:
    """Best fit within a node for n <= per_node (fewest free, lowest index), else the lowest
    indexed wholly free nodes."""
    if n <= per_node:
        node = min((f, k) for k, f in enumerate(free) if f >= n)[1]
        return [(node, n)]
    whole = [k for k, f in enumerate(free) if f == per_node][:math.ceil(n / per_node)]
    return [(k, min(per_node, n - per_node * i)) for i, k in enumerate(whole)]


def brute_force(workload, cluster, *, seed: int, patience_s: float, preempt_after_s: float):
    """Replay; returns (first start, end per job, preemptions, time queued per job)."""
    pools = cluster.pools
    nodes = [[p.devices_per_node] * (p.devices // p.devices_per_node) for p in pools]
    fm = FailureModel(cluster, seed=seed)
    policy = SuanwangPolicy(patience_s=patience_s, preempt_after_s=preempt_after_s)
    n_jobs = len(workload)
    submit = workload.submit_s.tolist()
    users = [workload.users[u] for u in workload.user.tolist()]
    tenants = [workload.tenants[t] for t in workload.tenant.tolist()]
    queue: dict[int, JobView] = {}
    running: dict[int, dict] = {}  # id -> view, pool, start, alloc, event time, kind, seq
    first = [math.nan] * n_jobs
    end = [math.nan] * n_jobs
    i, seq, preemptions = 0, 0, 0
    since = [math.nan] * n_jobs  # when each job last entered the queue
    queued = [0.0] * n_jobs  # its time queued so far (all attempts)

    def stop(jid: int, t: float, *, failed: bool) -> None:
        """Free a run's nodes and requeue it: a failure from its last periodic checkpoint, a
        preemption from its final checkpoint (one save before the stop, never less)."""
        r = running.pop(jid)
        for node, k in r["alloc"]:
            nodes[r["pool"]][node] += k
        jv = r["job"]
        worked = max(t - r["start"] - r["over"], 0.0)
        tau = jv.checkpoint_interval_s
        saved = math.floor(worked / tau) * tau
        if not failed:
            saved = max(saved, worked - workload.checkpoint_stall_s)
        since[jid] = t
        queue[jid] = JobView(**{**_fields(jv), "done_s": jv.done_s + saved * pools[
            r["pool"]].speed, "restarts": jv.restarts + 1})

    while i < n_jobs or running:
        t = min([submit[i] if i < n_jobs else math.inf, *(r["at"] for r in running.values())])
        for jid in sorted((j for j, r in running.items() if r["at"] <= t),
                          key=lambda j: (running[j]["at"], running[j]["seq"])):
            if running[jid]["kind"] == "end":
                r = running.pop(jid)
                for node, k in r["alloc"]:
                    nodes[r["pool"]][node] += k
                end[jid] = t
            else:
                stop(jid, t, failed=True)
        while i < n_jobs and submit[i] <= t:
            queue[i] = JobView(job_id=i, user=users[i], tenant=tenants[i],
                               num_devices=int(workload.num_devices[i]), submit_s=submit[i],
                               priority=int(workload.priority[i]),
                               estimate_s=float(workload.estimate_s[i]),
                               restart_cost_s=workload.restart_cost_s,
                               preempt_save_s=workload.checkpoint_stall_s)
            since[i] = submit[i]
            i += 1
        state = _state(pools, nodes, running)
        ordered = sorted(queue.values(), key=lambda j: (j.submit_s, j.job_id))
        decisions = policy.decide(state, ordered, t)
        for d in decisions:
            if isinstance(d, Preempt):
                stop(d.job_id, t, failed=False)
                preemptions += 1
        for d in decisions:
            if isinstance(d, Preempt):
                continue
            jv = queue.pop(d.job_id)
            p = pools[d.pool]
            alloc = _place(nodes[d.pool], jv.num_devices, p.devices_per_node)
            assert sum(k for _, k in alloc) == jv.num_devices
            for node, k in alloc:
                nodes[d.pool][node] -= k
            tau = fm.checkpoint_interval_s(d.pool, jv.num_devices, workload.checkpoint_stall_s)
            jv = JobView(**{**_fields(jv), "checkpoint_interval_s": tau})
            over = jv.restart_cost_s if jv.restarts else 0.0
            at = t + over + max(workload.runtime_s[d.job_id] - jv.done_s, 0.0) / p.speed
            kind = "end"
            if jv.num_devices:
                tf = t + fm.time_to_failure_s(d.pool, jv.num_devices)
                if tf < at:
                    at, kind = tf, "fail"
            seq += 1
            if math.isnan(first[d.job_id]):
                first[d.job_id] = t
            queued[d.job_id] += t - since[d.job_id]
            running[d.job_id] = {"job": jv, "pool": d.pool, "start": t, "alloc": alloc,
                                 "at": at, "kind": kind, "seq": seq, "over": over}
    return first, end, preemptions, queued


def _fields(jv: JobView) -> dict:
    return {f: getattr(jv, f) for f in JobView.__dataclass_fields__}


def _state(pools, nodes, running) -> ClusterState:
    free = [sum(ns) for ns in nodes]
    node_free = []
    for p, ns in zip(pools, nodes, strict=True):
        counts = [0] * (p.devices_per_node + 1)
        for f in ns:
            counts[f] += 1
        node_free.append(counts)
    views = {j: RunningView(job=r["job"], pool=r["pool"], start_s=r["start"],
                            nodes=tuple(r["alloc"]))
             for j, r in running.items()}
    return ClusterState(pools=pools, free=free, running=views, node_free=node_free,
                        node_devices=[list(ns) for ns in nodes])


@pytest.mark.parametrize(("patience_s", "preempt_after_s"),
                         [(6 * 86400.0, 2 * 86400.0), (4 * 3600.0, 2 * 86400.0),
                          (6 * 86400.0, 6 * 3600.0)])
def test_contended_case_matches_brute_force_replay(patience_s, preempt_after_s):
    workload, cluster, opts = bench_case(jobs=1000, gpus=400, load=1.6, seed=4, contended=True)
    # 30x the catalog failure rates, so this small case sees many failures and restarts.
    cluster.failure_multipliers = [30.0 * m for m in cluster.failure_multipliers]
    policy = SuanwangPolicy(patience_s=patience_s, preempt_after_s=preempt_after_s)
    sim = _Sim(workload, cluster, policy, opts)
    sim.run()
    first, end, preemptions, queued = brute_force(workload, cluster, seed=opts.seed,
                                                  patience_s=patience_s,
                                                  preempt_after_s=preempt_after_s)
    assert sim.log.first_start == pytest.approx(first, rel=1e-9, abs=1e-6)
    assert sim.log.end == pytest.approx(end, rel=1e-9, abs=1e-6)
    assert sim.log.preemptions == preemptions
    assert sim.log.queued == pytest.approx(queued, rel=1e-9, abs=1e-6)
    if preempt_after_s < 86400.0:
        assert preemptions > 0  # the guard preempted by nodes, and the replay agreed
    assert sim.log.failures > 10  # failures were drawn and replayed
    assert sim.queue_peak > 2 * SHORT_QUEUE  # long enough for the memoized path


def test_bench_contended_small_reports_queue_and_speed():
    res = bench_sim(jobs=400, gpus=400, load=1.2, contended=True)
    assert res["case"] == "contended" and res["node_aware"] and res["failures"]
    assert res["finished"] == 400
    assert res["peak_queue_len"] >= res["mean_queue_len"] > 1.0
    assert res["jobs_per_s"] > 0 and res["events_per_s"] > res["jobs_per_s"]
    wl, _, _ = bench_case(jobs=400, gpus=400, load=1.2, seed=0, contended=True)
    assert np.isfinite(res["mean_jct_s"]) and len(wl) == 400
