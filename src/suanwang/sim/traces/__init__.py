"""Trace loaders: each turns a file into a :class:`suanwang.sim.workload.Workload`.

Formats: ``dirlab`` (DIR-LAB Gen-Parallel-Workloads CSV, e.g. Helios), ``alibaba2023`` (Alibaba
PAI 2023 pod list with GPU-type constraints), ``swf`` (Standard Workload Format, Parallel
Workloads Archive) and ``synthetic`` (generated LLM training jobs). Malformed rows raise
:class:`suanwang.core.errors.ConfigError` with the file and line number.
"""

from suanwang.sim.traces.registry import TRACE_FORMATS, load_trace

__all__ = ["TRACE_FORMATS", "load_trace"]
