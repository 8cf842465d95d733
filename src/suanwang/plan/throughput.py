"""Cheap per-accelerator throughput for the scheduler and simulator.

``tokens_per_s(model, accelerator, devices)`` is the best plan's training throughput, cached:
the first call for a given (model, accelerator, devices, ...) runs the vectorised search (tens of
milliseconds), repeated calls are dictionary look-ups.
"""

from __future__ import annotations

from functools import lru_cache

from suanwang.catalog import get_accelerator, get_model
from suanwang.catalog.efficiency import get_efficiency
from suanwang.core.errors import InfeasibleError
from suanwang.core.hardware import Cluster
from suanwang.core.model import ModelSpec
from suanwang.plan.search import search


@lru_cache(maxsize=4096)
def tokens_per_s(model: ModelSpec | str, accelerator: str, devices: int, *,
                 devices_per_node: int = 8, global_batch_seqs: int | None = None,
                 seq_len: int | None = None, precision: str = "bf16") -> float:
    """Predicted training tokens/s of the fastest feasible plan; 0.0 when nothing fits.

    ``global_batch_seqs`` defaults to max(devices, 4M tokens / seq_len) rounded to a multiple of
    ``devices`` so that pure data parallelism stays legal.
    """
    spec = get_model(model) if isinstance(model, str) else model
    s = seq_len if seq_len is not None else spec.seq_len
    if global_batch_seqs is None:
        want = max(devices, (4 * 2**20) // s)
        global_batch_seqs = -(-want // devices) * devices
    acc = get_accelerator(accelerator)
    cluster = Cluster.of(acc, devices, min(devices_per_node, devices))
    try:
        best = search(spec, cluster, global_batch_seqs=global_batch_seqs, seq_len=s,
                      precision=precision, profile=get_efficiency(acc.name), top=1)
    except InfeasibleError:
        return 0.0
    return best.plans[0].tokens_per_s
