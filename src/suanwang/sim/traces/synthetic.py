"""Synthetic LLM-training workload: Poisson arrivals, power-of-two gangs, heavy-tailed lengths.

Shape (assumptions, documented so results can be read against them): gang sizes 1..1024 devices
with weight halving per doubling beyond 8 (many fine-tunes, few pre-training runs); run times
log-normal (median 1 h, sigma 1.5, capped at 14 days) on a speed-1.0 device, as in published
GPU-cluster characterizations (Jeon et al., ATC'19 Philly; Hu et al., SC'21 Helios: heavy tails,
median well under an hour). Arrival rate is set so offered load = ``load`` x ``devices``.
Each job carries a planner-like prediction ``estimate_s`` = true run time x log-normal noise
(sigma ``estimate_sigma``): a stand-in for the performance model's step-time prediction
(errors of tens of percent), never the truth itself.
"""

from __future__ import annotations

import numpy as np

from suanwang.core.errors import ConfigError
from suanwang.sim.workload import Workload

SIZES = np.array([1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024])
# Model trained by a job of each gang size (``with_models``): larger gangs, larger models.
MODEL_BY_SIZE = {1: "gpt-1.7b", 2: "gpt-1.7b", 4: "gpt-3.6b", 8: "llama3-8b", 16: "llama3-8b",
                 32: "llama2-13b", 64: "llama2-13b", 128: "llama3-70b", 256: "llama3-70b",
                 512: "llama3-70b", 1024: "llama3-405b"}
_WEIGHTS = np.array([0.16, 0.08, 0.12, 0.24, 0.16, 0.10, 0.06, 0.04, 0.02, 0.01, 0.01])


MIN_LOAD, MAX_LOAD = 0.001, 1000.0  # offered load; outside, arrivals span ~1e5 years or 0 s

def synthetic_llm(jobs: int, devices: int, *, load: float = 0.9, seed: int = 0,
                  tenants: int = 16, users: int = 256, estimate_sigma: float = 0.3,
                  max_size: int | None = None, centers: list[str] | None = None,
                  with_models: bool = False, user_sigma: float | None = None) -> Workload:
    """``jobs`` jobs for a federation of ``devices`` devices at offered ``load``.

    ``with_models`` names the model each job trains (:data:`MODEL_BY_SIZE`), so the simulator
    derives its speed on each accelerator from the planner's throughput model.
    ``user_sigma`` ties lengths to users, as in real traces: each user has a characteristic
    median (log-normal across users, median 1 h, sigma 1.5) and each job varies around it with
    log-normal sigma ``user_sigma`` (None = lengths independent of users).
    """
    if jobs < 1:
        raise ConfigError(f"must be >= 1 (got {jobs})", field="jobs")
    if devices < 1:
        raise ConfigError(f"must be >= 1 (got {devices})", field="devices")
    if not (MIN_LOAD <= load <= MAX_LOAD):
        raise ConfigError(f"must be between {MIN_LOAD} and {MAX_LOAD} of the capacity "
                          f"(got {load})", field="load")
    if seed < 0:
        raise ConfigError(f"must be >= 0 (got {seed})", field="seed")
    rng = np.random.default_rng(seed)
    cap = min(max_size or devices, devices)
    keep = cap >= SIZES
    sizes, weights = SIZES[keep], _WEIGHTS[keep] / _WEIGHTS[keep].sum()
    num = rng.choice(sizes, size=jobs, p=weights)
    user = rng.integers(0, users, size=jobs)
    if user_sigma is None:
        runtime = rng.lognormal(np.log(3600.0), 1.5, size=jobs)
    else:
        median = rng.lognormal(np.log(3600.0), 1.5, size=users)
        runtime = median[user] * rng.lognormal(0.0, user_sigma, size=jobs)
    runtime = np.maximum(np.round(np.minimum(runtime, 14 * 86400.0)), 1.0)
    mean_work = float(np.mean(num * runtime))
    rate = load * devices / mean_work
    submit = np.cumsum(rng.exponential(1.0 / rate, size=jobs))
    tenant = user % tenants
    estimate = runtime * rng.lognormal(0.0, estimate_sigma, size=jobs)
    priority = (rng.random(jobs) < 0.05).astype(np.int64)  # 5% urgent jobs
    wl = Workload(
        name=f"synthetic-llm-{jobs}", submit_s=submit, runtime_s=runtime,
        num_devices=num.astype(np.int64), user=user, users=[f"u{i}" for i in range(users)],
        tenant=tenant, tenants=[f"t{i}" for i in range(tenants)], estimate_s=estimate,
        priority=priority, checkpoint_stall_s=60.0, restart_cost_s=300.0)
    if with_models:
        names = sorted(set(MODEL_BY_SIZE.values()))
        wl.models = names
        wl.model = np.array([names.index(MODEL_BY_SIZE[int(k)]) for k in num], dtype=np.int64)
    if centers:
        wl.data_center = rng.integers(0, len(centers), size=jobs)
        wl.centers = list(centers)
        wl.data_bytes = rng.lognormal(np.log(200e9), 1.0, size=jobs)
    return wl
