"""From a stored job spec to what the scheduler and the backends need: the job's plan.

A plan (stored as JSON in ``jobs.plan`` at admission, so a restarted controller never re-plans)
says, for the gang size the job will run at, which pools may host it and how:

``{"devices": N, "estimate_s": E, "pools": {POOL_KEY: {"checkpoint_interval_s": C,
"time_s": T, "cost": K, "nodes": n, "step_time_s": S}}, "source": "planner" | "batch"}``
(``S``, training only: the planner's step time there, which ``control/calibrate.py`` compares
with the measured one when the job succeeds)

* Training: :func:`suanwang.plan.placement.select_compute` ranks every (center, pool, size)
  under the job's constraints (centers, accelerators, deadline, budget, min/max devices). The
  gang size N is the fastest option's; the pools are those with a feasible option at N. ``T`` is
  the planner's failure-aware time to train there, ``C`` its failure-aware checkpoint interval
  for that center (Young/Daly on the center's storage and failure rates, :mod:`reliability`) —
  this is what reaches the runtime as ``checkpoint.interval_s``. ``E`` is the time in speed-1.0
  seconds (``T x pool speed`` of the fastest option), the unit ``sched.JobView.estimate_s`` uses.
* Batch: N = ``devices``, or ``nodes`` x the pool's devices per node; the pools are those whose
  accelerator matches ``accelerator``/``node_type`` (any when neither is given) and whose
  devices per node give the same N; ``T`` = ``walltime_s`` (a batch job is predicted to use its
  limit) and there is no checkpoint.

Pool keys are ``"center/accelerator"`` (``sim.cluster.from_federation`` names pools the same way).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from suanwang.core.errors import InfeasibleError
from suanwang.core.federation import Federation
from suanwang.core.jobspec import BatchSpec, TrainingSpec, load_job_spec
from suanwang.plan.spec_search import accelerator_filter, allowed_centers, search_kwargs


def pool_key(center: str, accelerator: str) -> str:
    return f"{center}/{accelerator}"


def checkpoint_interval_s(pool: dict[str, Any]) -> float:
    """A plan pool's (or attempt detail's) checkpoint interval, s (0 = none). Plans and attempts
    stored before the rename carry it as ``checkpoint_every_s``; both spellings are read."""
    value = pool.get("checkpoint_interval_s", pool.get("checkpoint_every_s"))
    return float(value or 0.0)


def plan_training(fed: Federation, spec: TrainingSpec) -> dict[str, Any]:
    """The plan of a training job (see module doc). Raises InfeasibleError when nothing fits."""
    from suanwang.plan.placement import select_compute
    from suanwang.sim.cluster import from_federation

    c = spec.constraints
    sel = select_compute(fed, objective="time",
                         **search_kwargs(spec, allowed_centers(fed, c)))
    ok = accelerator_filter(fed, c)
    options = [o for o in sel.options if ok(o.accelerator)]
    if not options:
        raise InfeasibleError("no planner option satisfies the accelerator constraints")
    best = options[0]
    speeds = {p.name: p.speed for p in from_federation(fed).pools}
    pools = {}
    for o in options:
        key = pool_key(o.center, o.accelerator)
        if o.devices == best.devices and key not in pools:
            dpn = fed.center(o.center).pool(o.accelerator).devices_per_node
            pools[key] = {"checkpoint_interval_s": o.goodput.checkpoint_interval_s,
                          "time_s": o.time_to_train_s, "cost": o.cost,
                          "nodes": -(-o.devices // dpn),
                          "step_time_s": o.plan.step_time_s}  # calibration: control/calibrate
    est = best.time_to_train_s * speeds.get(pool_key(best.center, best.accelerator), 1.0)
    return {"devices": best.devices, "estimate_s": est, "pools": pools, "source": "planner"}


def plan_batch(fed: Federation, spec: BatchSpec) -> dict[str, Any]:
    """The plan of a batch job (see module doc). Raises InfeasibleError when no pool fits."""
    want = spec.accelerator or spec.node_type
    pools: dict[str, dict[str, Any]] = {}
    size = None
    ok = accelerator_filter(fed, spec.constraints)
    for name in allowed_centers(fed, spec.constraints):
        center = fed.center(name)
        for p in center.pools:
            acc = p.accelerator.name
            if (want and acc != want) or not ok(acc):
                continue
            n = spec.devices if spec.devices is not None else spec.node_count * p.devices_per_node
            if n > p.devices or (size is not None and n != size):
                continue
            size = n
            pools[pool_key(name, acc)] = {"checkpoint_interval_s": 0.0,
                                          "time_s": spec.walltime_s,
                                          "cost": n * spec.walltime_s / 3600.0
                                          * p.price_per_device_hour,
                                          "nodes": -(-n // p.devices_per_node)}
    if not pools or size is None:
        raise InfeasibleError(f"no pool of the allowed centers offers {want or 'any device'} "
                              f"x {spec.devices or spec.node_count} "
                              f"{'devices' if spec.devices else 'nodes'}")
    return {"devices": size, "estimate_s": spec.walltime_s, "pools": pools, "source": "batch"}


@lru_cache(maxsize=512)
def _cached(fed: Federation, spec_json: str) -> str:
    spec = load_job_spec(json.loads(spec_json))
    plan = plan_training(fed, spec) if isinstance(spec, TrainingSpec) else plan_batch(fed, spec)
    return json.dumps(plan)


def plan_job(fed: Federation, spec: dict[str, Any]) -> dict[str, Any]:
    """Plan of a stored spec (cached on the spec without its name: identical jobs plan once)."""
    body = {k: v for k, v in spec.items() if k != "name"}
    body["name"] = "x"
    return json.loads(_cached(fed, json.dumps(body, sort_keys=True)))
