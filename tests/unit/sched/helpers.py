"""Small hand-built scheduling scenarios."""

from __future__ import annotations

from suanwang.sched.state import ClusterState, FixedEstimator, JobView, PoolView, RunningView


def job(job_id: int, n: int, *, est: float = 100.0, submit: float = 0.0, tenant: str = "a",
        priority: int = 0, **kw) -> JobView:
    return JobView(job_id=job_id, user=kw.pop("user", tenant), tenant=tenant, num_devices=n,
                   submit_s=submit, estimate_s=est, priority=priority, **kw)


def pool(devices: int, *, name: str = "p", speed: float = 1.0, center: str = "c",
         accelerator: str = "A100-SXM-80GB", price: float = 1.0) -> PoolView:
    return PoolView(name=name, center=center, accelerator=accelerator, devices=devices,
                    speed=speed, price_per_device_hour=price)


def state(pools: list[PoolView], running: list[RunningView] = (), **kw) -> ClusterState:
    free = [p.devices for p in pools]
    tenant_devices: dict[str, int] = {}
    for r in running:
        free[r.pool] -= r.job.num_devices
        tenant_devices[r.job.tenant] = tenant_devices.get(r.job.tenant, 0) + r.job.num_devices
    kw.setdefault("estimator", FixedEstimator())
    return ClusterState(pools=pools, free=free, running={r.job.job_id: r for r in running},
                        tenant_devices=tenant_devices, **kw)


def run(j: JobView, start: float = 0.0, pool_idx: int = 0) -> RunningView:
    return RunningView(job=j, pool=pool_idx, start_s=start)
