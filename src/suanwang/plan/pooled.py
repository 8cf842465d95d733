"""One job over several pools: mixed chips in one center, or two centers in different cities.

Shape (the one heterogeneous systems such as Metis and Sailor also start from): each part (a pool
of one chip type, in one center) runs its own full model replica group with its own best
parallel layout; parts are data-parallel to each other. The global batch is split unevenly, in
proportion to each part's throughput, so all parts finish their share of a step together (the
runtime's uneven work split, ``runtime/hetero.py``, does the same across ranks). After every step
the parts all-reduce their gradients over the link that joins them:

    sync_s = 2 (p - 1) / p * G / W + 2 (p - 1) * latency       (ring all-reduce, p parts)

with G the gradient bytes of one full replica (2 bytes per parameter in bf16) and W the slowest
link of the ring: the WAN link between two centers, or, inside one center, the smaller side's
aggregate NIC bandwidth. The sync is counted as NOT overlapped with compute (each part can only
start it once its local reduction is done; a conservative bound). Gradient accumulation over more
micro-batches (a larger global batch) amortizes it; the planner reports the batch that would hide
it behind 10% overhead.
"""

from __future__ import annotations

from dataclasses import dataclass

from suanwang.core.errors import ConfigError, InfeasibleError
from suanwang.core.federation import Federation
from suanwang.core.model import ModelSpec
from suanwang.plan.placement import best_on_pool
from suanwang.plan.search import Plan

GRAD_BYTES_PER_PARAM = 2.0  # bf16 gradients exchanged between parts


@dataclass(frozen=True, kw_only=True)
class Part:
    """A slice of a pool given to the pooled job: ``devices`` devices of ``accelerator``."""

    center: str
    accelerator: str
    devices: int

    @property
    def label(self) -> str:
        return f"{self.center}/{self.accelerator} x{self.devices}"


@dataclass(frozen=True, kw_only=True)
class PartPlan:
    part: Part
    batch_seqs: int
    plan: Plan

    def to_dict(self) -> dict:
        return {"center": self.part.center, "accelerator": self.part.accelerator,
                "devices": self.part.devices, "batch_seqs": self.batch_seqs,
                "step_time_s": self.plan.step_time_s, "plan": self.plan.to_dict()}


@dataclass(frozen=True, kw_only=True)
class PooledPlan:
    """The pooled job: per-part plans, the cross-part sync and the comparison with going alone."""

    parts: tuple[PartPlan, ...]
    global_batch_seqs: int
    seq_len: int
    sync_s: float
    link_bits_per_s: float
    step_time_s: float
    tokens_per_s: float
    best_single: PartPlan
    best_single_tokens_per_s: float
    batch_for_10pct_sync: int

    @property
    def speedup_vs_best_single(self) -> float:
        return self.tokens_per_s / self.best_single_tokens_per_s

    @property
    def worth_it(self) -> bool:
        return self.speedup_vs_best_single > 1.05

    def to_dict(self) -> dict:
        return {"parts": [p.to_dict() for p in self.parts],
                "global_batch_seqs": self.global_batch_seqs, "seq_len": self.seq_len,
                "sync_s": self.sync_s, "link_bits_per_s": self.link_bits_per_s,
                "step_time_s": self.step_time_s, "tokens_per_s": self.tokens_per_s,
                "best_single": self.best_single.to_dict(),
                "best_single_tokens_per_s": self.best_single_tokens_per_s,
                "speedup_vs_best_single": self.speedup_vs_best_single,
                "worth_it": self.worth_it, "batch_for_10pct_sync": self.batch_for_10pct_sync}


def parse_part(text: str) -> Part:
    """``CENTER:ACCELERATOR:DEVICES`` -> Part (the CLI's ``--part`` syntax)."""
    fields = text.split(":")
    if len(fields) != 3 or not fields[2].isdigit() or int(fields[2]) < 1:
        raise ConfigError(f"expected CENTER:ACCELERATOR:DEVICES, e.g. beijing-ai:H100-SXM:512 "
                          f"(got {text!r})", field="--part")
    return Part(center=fields[0], accelerator=fields[1], devices=int(fields[2]))


def _best(model: ModelSpec, fed: Federation, part: Part, batch: int, seq_len: int,
          precision: str) -> Plan:
    pool = fed.center(part.center).pool(part.accelerator)
    return best_on_pool(model, pool, part.devices, global_batch_seqs=batch, seq_len=seq_len,
                        precision=precision).plans[0]


def _check_capacity(fed: Federation, parts: tuple[Part, ...]) -> None:
    """Parts drawn from one pool must not book more devices than it has."""
    booked: dict[tuple[str, str], int] = {}
    for part in parts:
        key = (part.center, part.accelerator)
        booked[key] = booked.get(key, 0) + part.devices
    for (center, acc), n in booked.items():
        pool = fed.center(center).pool(acc)
        if n > pool.devices:
            raise ConfigError(f"{center}/{acc}: the parts book {n} devices but the pool has "
                              f"only {pool.devices}; shrink the parts", field="--part")


def _link(fed: Federation, parts: tuple[Part, ...]) -> tuple[float, float]:
    """Slowest link (bits/s) and largest latency (s) of the ring through the parts."""
    bits, latency = float("inf"), 0.0
    for a, b in zip(parts, parts[1:] + parts[:1], strict=True):
        if a.center == b.center:
            pa = fed.center(a.center).pool(a.accelerator)
            pb = fed.center(b.center).pool(b.accelerator)
            bw = min(a.devices * pa.inter_node_bits_per_s_per_device,
                     b.devices * pb.inter_node_bits_per_s_per_device)
            bits, latency = min(bits, bw), max(latency, 10e-6)
            continue
        link = fed.link(a.center, b.center)
        if link is None:
            raise ConfigError(f"no WAN link between '{a.center}' and '{b.center}' in the "
                              "federation file; add one under links:", field="--part")
        bits, latency = min(bits, link.bits_per_s), max(latency, link.latency_s)
    return bits, latency


def _split(total: int, weights: list[float], unit: int) -> list[int]:
    """Split ``total`` into multiples of ``unit`` proportional to ``weights`` (each >= unit)."""
    chunks = total // unit
    if chunks < len(weights):
        raise ConfigError(f"global batch {total} is too small to give each of {len(weights)} "
                          f"parts at least {unit} sequences", field="global_batch")
    raw = [w / sum(weights) * chunks for w in weights]
    counts = [max(1, int(r)) for r in raw]
    while sum(counts) < chunks:
        i = max(range(len(raw)), key=lambda k: raw[k] - counts[k])
        counts[i] += 1
    while sum(counts) > chunks:
        i = max(range(len(raw)), key=lambda k: counts[k] - raw[k] if counts[k] > 1 else -1e9)
        counts[i] -= 1
    return [c * unit for c in counts]


def _slowest(planned: tuple[PartPlan, ...]) -> float:
    return max(pp.plan.step_time_s for pp in planned)


def pooled_plan(fed: Federation, model: ModelSpec, parts: tuple[Part, ...], *,
                global_batch_seqs: int, seq_len: int | None = None,
                precision: str = "bf16", batch_unit: int = 8) -> PooledPlan:
    """Plan one data-parallel job over ``parts`` (>= 2), batch split by throughput."""
    if len(parts) < 2:
        raise ConfigError("a pooled plan needs at least two parts", field="--part")
    if global_batch_seqs < 1:
        raise ConfigError(f"must be >= 1 (got {global_batch_seqs})", field="--global-batch")
    if seq_len is not None and seq_len < 1:
        raise ConfigError(f"must be >= 1 (got {seq_len})", field="--seq-len")
    s = seq_len if seq_len is not None else model.seq_len
    _check_capacity(fed, parts)
    bits, latency = _link(fed, parts)
    # Throughput of each part alone at an even share, then the proportional split.
    even = _split(global_batch_seqs, [p.devices for p in parts], batch_unit)
    rates = [b * s / _best(model, fed, p, b, s, precision).step_time_s
             for p, b in zip(parts, even, strict=True)]
    planned: tuple[PartPlan, ...] = ()
    for _ in range(3):  # re-split with the rates of the plans each share actually gets
        shares = _split(global_batch_seqs, rates, batch_unit)
        try:
            trial = tuple(PartPlan(part=p, batch_seqs=b, plan=_best(model, fed, p, b, s, precision))
                          for p, b in zip(parts, shares, strict=True))
        except InfeasibleError as exc:
            raise InfeasibleError(f"a part cannot run its share of the batch: {exc}") from None
        if not planned or _slowest(trial) < _slowest(planned):
            planned = trial
        rates = [pp.plan.tokens_per_s for pp in trial]
    n = len(parts)
    grad_bytes = GRAD_BYTES_PER_PARAM * model.params
    sync = 2 * (n - 1) / n * grad_bytes * 8 / bits + 2 * (n - 1) * latency
    compute = _slowest(planned)
    step = compute + sync
    singles = [PartPlan(part=p, batch_seqs=global_batch_seqs,
                        plan=_best(model, fed, p, global_batch_seqs, s, precision))
               for p in parts]
    best_single = min(singles, key=lambda x: x.plan.step_time_s)
    # Per-sequence compute time is ~constant, so a batch k times larger makes compute k times
    # longer while the sync stays: sync <= 10% of the step needs k >= 9 sync / compute.
    k = max(1.0, 9.0 * sync / compute)
    return PooledPlan(
        parts=planned, global_batch_seqs=global_batch_seqs, seq_len=s, sync_s=sync,
        link_bits_per_s=bits, step_time_s=step, tokens_per_s=global_batch_seqs * s / step,
        best_single=best_single, best_single_tokens_per_s=best_single.plan.tokens_per_s,
        batch_for_10pct_sync=int(-(-global_batch_seqs * k // batch_unit) * batch_unit))
