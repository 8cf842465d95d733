"""Validation of the numbers the reliability model takes, with ConfigErrors naming the field.

Field names are the keyword arguments of the public functions (``job_mtbf_s``, ``stall_s``, ...);
the CLI maps them to its flags (``--mtbf-s``, ``--ckpt-stall-s``, ...).
"""

from __future__ import annotations

import math

from suanwang.core.errors import ConfigError


def positive(value: float, field: str, hint: str = "") -> float:
    """``value`` as a float; ConfigError unless it is finite and > 0."""
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ConfigError(f"must be a finite number > 0 (got {value!r}){hint}", field=field)
    return v


def non_negative(value: float, field: str, hint: str = "") -> float:
    """``value`` as a float; ConfigError unless it is finite and >= 0."""
    v = float(value)
    if not math.isfinite(v) or v < 0:
        raise ConfigError(f"must be a finite number >= 0 (got {value!r}){hint}", field=field)
    return v


def stall_below_mtbf(stall_s: float, job_mtbf_s: float) -> None:
    """A checkpoint stall as long as the job MTBF leaves no room for progress: reject it."""
    if stall_s >= job_mtbf_s:
        raise ConfigError(
            f"checkpoint stall {stall_s:g} s is >= the job MTBF {job_mtbf_s:g} s: the job would "
            "fail during most checkpoints; use async/in-memory checkpoints or fewer devices",
            field="stall_s",
        )
