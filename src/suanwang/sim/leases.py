"""Leases in the simulator: judge a reservation policy on a trace, and what it costs others.

:class:`LeasePolicy` wraps any policy with :func:`suanwang.sched.leases.decide_with_leases`
for the leases in force at each decision instant (holders first, reserved capacity, borrowing
by preemptible jobs, reclaim by preemption: the same code the live controller runs).
:func:`lease_impact` replays one workload twice on one cluster, without and with the leases,
and reports the mean/p99 wait (submission -> first start, seconds) of the holders' jobs and of
every other tenant's jobs in both runs: the difference is what the leases cost the others.

The engine's shortcut "no gang fits the free devices, so no decision" is skipped while a lease
is in force (a holder's job may need borrowers preempted even when nothing fits).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from suanwang.core.errors import ConfigError
from suanwang.sched.decisions import Preempt
from suanwang.sched.leases import LeaseView, decide_with_leases
from suanwang.sim.cluster import SimCluster
from suanwang.sim.engine import SimOptions, _Sim
from suanwang.sim.workload import Workload


@dataclass(frozen=True)
class SimLease:
    """``devices`` of the pool named ``pool`` for ``tenant`` over [start_s, end_s)."""

    tenant: str
    pool: str
    devices: int
    start_s: float
    end_s: float


class LeasePolicy:
    """``inner`` with the leases honoured (module doc). Declares ``preempts`` (reclaim)."""

    preempts = True

    def __init__(self, inner, leases: Sequence[SimLease], cluster: SimCluster) -> None:
        index = {p.name: i for i, p in enumerate(cluster.pools)}
        for lz in leases:
            if lz.pool not in index:
                raise ConfigError(f"no pool {lz.pool!r}; pools: {', '.join(index)}",
                                  field="pool")
            if lz.devices > cluster.pools[index[lz.pool]].devices:
                raise ConfigError(f"lease of {lz.devices} devices exceeds pool {lz.pool}",
                                  field="devices")
        self.inner = inner
        self.name = f"{inner.name}+leases"
        self.views = [(lz, LeaseView(lease_id=k, pool=index[lz.pool], tenant=lz.tenant,
                                     devices=lz.devices)) for k, lz in enumerate(leases)]

    def active(self, now: float) -> list[LeaseView]:
        return [v for lz, v in self.views if lz.start_s <= now < lz.end_s]

    def decide(self, state, queue: Iterable, now: float) -> list:
        return decide_with_leases(self.inner, state, list(queue), now, self.active(now))


class _LeaseSim(_Sim):
    def _decide(self, t: float) -> None:
        if not self.queue:
            return
        if not self.policy.active(t):
            super()._decide(t)
            return
        decisions = self.policy.decide(self.state, self.queue.values(), t)
        starts = []
        for d in decisions:
            if isinstance(d, Preempt):
                self._interrupt(d.job_id, t, failed=False)
            else:
                starts.append(d)
        for d in starts:
            self._start(d, t)


def _times(sim: _Sim, workload: Workload) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(wait s = first start - submit, completion s = end - submit, tenant) per job."""
    submit = np.array(sim.log.submit)
    names = (workload.tenants if workload.tenants is not None else workload.users)
    idx = workload.tenant if workload.tenant is not None else workload.user
    return (np.array(sim.log.first_start) - submit, np.array(sim.log.end) - submit,
            np.array([names[int(i)] for i in idx]))


def _stats(wait: np.ndarray, jct: np.ndarray) -> dict[str, float]:
    ok = ~np.isnan(wait)
    if not ok.any():
        return {"jobs": 0, "mean_wait_s": 0.0, "p99_wait_s": 0.0, "mean_jct_s": 0.0}
    w, c = wait[ok], jct[~np.isnan(jct)]
    return {"jobs": int(ok.sum()), "mean_wait_s": float(np.mean(w)),
            "p99_wait_s": float(np.percentile(w, 99)),
            "mean_jct_s": float(np.mean(c)) if len(c) else 0.0}


def lease_impact(workload: Workload, cluster: SimCluster, make_policy, leases: Sequence[SimLease],
                 opts: SimOptions | None = None) -> dict:
    """Replay without and with ``leases`` (``make_policy()`` gives a fresh inner policy each
    run). Returns ``{"policy", "leases", "without": {"holders": stats, "others": stats},
    "with": {...}, "others_extra_mean_wait_s", "holders_mean_wait_saved_s", "preemptions"}``
    where stats = {jobs, mean_wait_s, p99_wait_s, mean_jct_s} (JCT = submit -> end, so work
    lost to preemption shows there, not in the wait)."""
    opts = opts or SimOptions()
    holders = {lz.tenant for lz in leases}
    out: dict = {"policy": f"{make_policy().name}+leases",
                 "leases": [lz.__dict__ for lz in leases]}
    for label, sim in (("without", _Sim(workload, cluster, make_policy(), opts)),
                       ("with", _LeaseSim(workload, cluster,
                                          LeasePolicy(make_policy(), leases, cluster), opts))):
        sim.run()
        wait, jct, tenant = _times(sim, workload)
        mine = np.isin(tenant, list(holders))
        out[label] = {"holders": _stats(wait[mine], jct[mine]),
                      "others": _stats(wait[~mine], jct[~mine]),
                      "preemptions": sim.log.preemptions}
    out["others_extra_mean_wait_s"] = (out["with"]["others"]["mean_wait_s"]
                                       - out["without"]["others"]["mean_wait_s"])
    out["others_extra_mean_jct_s"] = (out["with"]["others"]["mean_jct_s"]
                                      - out["without"]["others"]["mean_jct_s"])
    out["holders_mean_wait_saved_s"] = (out["without"]["holders"]["mean_wait_s"]
                                        - out["with"]["holders"]["mean_wait_s"])
    return out


__all__ = ["LeasePolicy", "SimLease", "lease_impact"]
