"""Planning: the fastest parallel configuration for a job on a pool (uses perf and reliability).

Public API:

- :func:`search` -> :class:`SearchResult` (ranked :class:`Plan` values + rejection counts).
- :func:`tokens_per_s` (cached) for schedulers/simulators that need per-accelerator throughput.
- :func:`assess_plan` -> :class:`Goodput` (checkpoint interval, failures, ETTR, time to train).
"""

from suanwang.plan.goodput import Goodput, assess_plan
from suanwang.plan.search import Plan, SearchResult, search
from suanwang.plan.throughput import tokens_per_s

__all__ = ["Goodput", "Plan", "SearchResult", "assess_plan", "search", "tokens_per_s"]
