"""Trace format name -> loader."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from suanwang.core.errors import ConfigError
from suanwang.sim.workload import Workload


def _dirlab(path: str | Path) -> Workload:
    from suanwang.sim.traces.dirlab import load_dirlab

    return load_dirlab(path)


def _alibaba(path: str | Path) -> Workload:
    from suanwang.sim.traces.alibaba2023 import load_alibaba2023

    return load_alibaba2023(path)


def _swf(path: str | Path) -> Workload:
    from suanwang.sim.traces.swf import load_swf

    return load_swf(path)


TRACE_FORMATS: dict[str, Callable[[str | Path], Workload]] = {
    "dirlab": _dirlab, "alibaba2023": _alibaba, "swf": _swf,
}


def load_trace(path: str | Path, fmt: str) -> Workload:
    """Load ``path`` as trace format ``fmt`` (see :data:`TRACE_FORMATS`)."""
    loader = TRACE_FORMATS.get(fmt)
    if loader is None:
        raise ConfigError(f"unknown trace format '{fmt}'; use one of: "
                          f"{', '.join([*TRACE_FORMATS, 'synthetic'])}", field="trace-format")
    return loader(path)
