"""Compute selection across a federation: where to train, on which chips, how many, at what cost.

For every node pool of every center and a ladder of device counts (whole nodes, doubling, plus the
whole pool), the planner finds the fastest parallel configuration (:func:`search`), the reliability
model stretches it into a failure-aware time to train at that center (its storage bandwidth for
checkpoints, its failure-rate multipliers), and each option gets three objectives:

* ``time_to_train_s``: failure-aware wall time (checkpoint stalls, restarts, lost work included);
* ``cost``: devices x hours x the center's price per device-hour (federation currency);
* ``energy_kwh``: devices x (TDP + node overhead share) x PUE x hours; TDP is an upper bound of
  the draw of a busy device, so this is a ceiling, comparable across options.

Options are ranked by the chosen objective, filtered by a deadline and a budget, and marked when
they are on the Pareto front of (time, cost, energy). Unlike a price-only optimizer that assumes
a fixed runtime, the time here comes from the performance model for this model on this hardware.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from suanwang.catalog.efficiency import get_efficiency
from suanwang.core.errors import ConfigError, InfeasibleError
from suanwang.core.federation import Center, Federation
from suanwang.core.hardware import Cluster, NodePool
from suanwang.core.model import ModelSpec
from suanwang.perf.stack import Stack
from suanwang.plan.calibration import Correction, calibrate_option
from suanwang.plan.goodput import Goodput, assess_plan
from suanwang.plan.search import Plan, SearchResult, search
from suanwang.reliability.rates import multiplier_for

OBJECTIVES = ("time", "cost", "energy")


@dataclass(frozen=True, kw_only=True)
class Option:
    """One way to run the job: a pool of a center, a device count, its best plan and objectives."""

    center: str
    city: str
    backend: str
    accelerator: str
    devices: int
    plan: Plan
    goodput: Goodput
    cost: float
    energy_kwh: float
    pareto: bool = False

    @property
    def time_to_train_s(self) -> float:
        return self.goodput.time_to_train_s

    def objective(self, name: str) -> float:
        return {"time": self.time_to_train_s, "cost": self.cost, "energy": self.energy_kwh}[name]

    def to_dict(self) -> dict:
        return {"center": self.center, "city": self.city, "backend": self.backend,
                "accelerator": self.accelerator, "devices": self.devices,
                "time_to_train_s": self.time_to_train_s, "cost": self.cost,
                "energy_kwh": self.energy_kwh, "pareto": self.pareto,
                "plan": self.plan.to_dict(), "goodput": self.goodput.to_dict()}


@dataclass(frozen=True, kw_only=True)
class Selection:
    """Ranked options (best first under the objective) and why other pools/sizes were skipped."""

    objective: str
    currency: str
    options: tuple[Option, ...]
    skipped: tuple[tuple[str, str], ...]
    searches: int
    configs_evaluated: int

    @property
    def pareto(self) -> tuple[Option, ...]:
        return tuple(o for o in self.options if o.pareto)

    def to_dict(self) -> dict:
        return {"objective": self.objective, "currency": self.currency,
                "searches": self.searches, "configs_evaluated": self.configs_evaluated,
                "options": [o.to_dict() for o in self.options],
                "skipped": [{"pool": p, "reason": r} for p, r in self.skipped]}


def device_ladder(pool: NodePool, max_devices: int | None = None,
                  min_devices: int = 1) -> list[int]:
    """Device counts to try on a pool: 1 node, 2, 4, ... nodes, and the whole pool."""
    cap = min(pool.devices, max_devices) if max_devices else pool.devices
    counts, nodes = [], 1
    while nodes * pool.devices_per_node <= cap:
        counts.append(nodes * pool.devices_per_node)
        nodes *= 2
    whole = (cap // pool.devices_per_node) * pool.devices_per_node
    if whole and whole not in counts:
        counts.append(whole)
    return [n for n in counts if n >= min_devices]


def pool_cluster(pool: NodePool, devices: int) -> Cluster:
    """The hardware a job of ``devices`` devices sees on ``pool``."""
    return Cluster(accelerator=pool.accelerator, num_devices=devices,
                   devices_per_node=min(pool.devices_per_node, devices),
                   intra_node_bytes_per_s=pool.intra_node_bytes_per_s,
                   inter_node_bits_per_s_per_device=pool.inter_node_bits_per_s_per_device)


def best_on_pool(model: ModelSpec, pool: NodePool, devices: int, *, global_batch_seqs: int,
                 seq_len: int, precision: str, stack: Stack | None = None) -> SearchResult:
    """The planner's search for ``devices`` devices of ``pool`` with the chip's efficiency
    profile (``stack``: attention etc., default ``perf.stack.DEFAULT_STACK``). Raises
    InfeasibleError (nothing fits) or ConfigError (e.g. no such precision)."""
    return search(model, pool_cluster(pool, devices), global_batch_seqs=global_batch_seqs,
                  seq_len=seq_len, precision=precision,
                  profile=get_efficiency(pool.accelerator.name), top=1, stack=stack)


def evaluate(model: ModelSpec, center: Center, pool: NodePool, devices: int, *, tokens: float,
             global_batch_seqs: int, seq_len: int, precision: str,
             stack: Stack | None = None) -> tuple[Option, int]:
    """The best plan for ``devices`` devices of ``pool`` and its objectives (+ configs searched).

    Raises InfeasibleError (nothing fits) or ConfigError (e.g. the chip lacks ``precision``).
    """
    result = best_on_pool(model, pool, devices, global_batch_seqs=global_batch_seqs,
                          seq_len=seq_len, precision=precision, stack=stack)
    plan = result.plans[0]
    good = assess_plan(model, pool_cluster(pool, devices), plan, tokens=tokens,
                       storage_bytes_per_s=center.storage_write_bytes_per_s,
                       failure_multiplier=multiplier_for(center, pool))
    hours = good.time_to_train_s / 3600.0
    option = Option(
        center=center.name, city=center.city, backend=center.backend,
        accelerator=pool.accelerator.name, devices=devices, plan=plan, goodput=good,
        cost=devices * hours * pool.price_per_device_hour,
        energy_kwh=devices * pool.watts_per_device * center.pue * hours / 1000.0)
    return option, result.configs_evaluated


def pareto_front(options: list[Option]) -> set[int]:
    """Indices of options no other option beats on all of time, cost and energy."""
    keys = [(o.time_to_train_s, o.cost, o.energy_kwh) for o in options]
    front = set()
    for i, a in enumerate(keys):
        dominated = any(all(b[k] <= a[k] for k in range(3)) and b != a
                        for j, b in enumerate(keys) if j != i)
        if not dominated:
            front.add(i)
    return front


def select_compute(federation: Federation, model: ModelSpec, *, tokens: float,
                   global_batch_seqs: int, seq_len: int | None = None, precision: str = "bf16",
                   objective: str = "time", max_devices: int | None = None,
                   min_devices: int = 1, deadline_s: float | None = None,
                   budget: float | None = None, centers: tuple[str, ...] = (),
                   on_progress: Callable[[int, int], None] | None = None,
                   stack: Stack | None = None,
                   corrections: dict[tuple[str, str], Correction] | None = None) -> Selection:
    """Rank every (center, pool, device count) for training ``model`` on ``tokens`` tokens.

    ``deadline_s`` / ``budget`` drop options that miss them; ``centers`` restricts the search.
    ``corrections`` (``plan/calibration.py``, from measured runs) scale each option's time, cost
    and energy before ranking.
    ``on_progress(done, total)`` is called after each pool size is evaluated (for progress bars).
    Raises InfeasibleError when no option satisfies the constraints, saying which was closest.
    """
    if objective not in OBJECTIVES:
        raise ConfigError(f"must be one of {', '.join(OBJECTIVES)} (got {objective!r})",
                          field="objective")
    if tokens <= 0:
        raise ConfigError(f"must be > 0 (got {tokens})", field="--tokens")
    for flag, value in (("--global-batch", global_batch_seqs), ("--seq-len", seq_len),
                        ("--max-devices", max_devices), ("--min-devices", min_devices)):
        if value is not None and value < 1:
            raise ConfigError(f"must be >= 1 (got {value})", field=flag)
    s = seq_len if seq_len is not None else model.seq_len
    chosen = [federation.center(name) for name in centers] if centers else federation.centers
    work = [(c, p, n) for c in chosen for p in c.pools
            for n in device_ladder(p, max_devices, min_devices)]
    options: list[Option] = []
    skipped: list[tuple[str, str]] = []
    evaluated = 0
    for done, (center, pool, n) in enumerate(work, start=1):
        label = f"{center.name}/{pool.accelerator.name} x{n}"
        try:
            option, count = evaluate(model, center, pool, n, tokens=tokens,
                                     global_batch_seqs=global_batch_seqs, seq_len=s,
                                     precision=precision, stack=stack)
            options.append(calibrate_option(option, corrections or {}))
            evaluated += count
        except (InfeasibleError, ConfigError) as exc:
            skipped.append((label, str(exc).split("; rejected")[0]))
        if on_progress:
            on_progress(done, len(work))
    return _rank(options, skipped, objective=objective, currency=federation.currency,
                 deadline_s=deadline_s, budget=budget, searches=len(work), evaluated=evaluated)


def _rank(options: list[Option], skipped: list[tuple[str, str]], *, objective: str,
          currency: str, deadline_s: float | None, budget: float | None, searches: int,
          evaluated: int) -> Selection:
    if not options:
        raise InfeasibleError("the model fits on no pool of the federation at any size tried: "
                              + "; ".join(f"{p}: {r}" for p, r in skipped[:5]))
    kept = [o for o in options
            if (deadline_s is None or o.time_to_train_s <= deadline_s)
            and (budget is None or o.cost <= budget)]
    if not kept:
        fastest = min(options, key=lambda o: o.time_to_train_s)
        cheapest = min(options, key=lambda o: o.cost)
        raise InfeasibleError(
            f"no option meets the constraints; fastest is {fastest.center}/"
            f"{fastest.accelerator} x{fastest.devices} at {fastest.time_to_train_s / 86400:.1f} "
            f"days, cheapest {cheapest.center}/{cheapest.accelerator} x{cheapest.devices} at "
            f"{cheapest.cost:,.0f} {currency}; relax --deadline-days or --budget")
    front = pareto_front(kept)
    marked = [Option(**{**o.__dict__, "pareto": i in front}) for i, o in enumerate(kept)]
    marked.sort(key=lambda o: (o.objective(objective), o.time_to_train_s))
    return Selection(objective=objective, currency=currency, options=tuple(marked),
                     skipped=tuple(skipped), searches=searches, configs_evaluated=evaluated)
