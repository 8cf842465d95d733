"""The execution-backend protocol, re-exported from :mod:`suanwang.core.backend`.

The protocol and its values live in ``core`` because two layers implement it side by side:
``backends`` (local processes, Slurm) and ``sim`` (the simulated center,
:mod:`suanwang.sim.backend`), and a layer never imports its sibling. Import from here or from
``suanwang.core.backend``; they are the same objects. See that module for the contract.
"""

from suanwang.core.backend import (
    AttemptSpec,
    AttemptState,
    Backend,
    BackendStatus,
    Capability,
    Handle,
    PoolCapacity,
    Usage,
    attempt_key,
    read_jsonl_from,
    require,
    tail_text,
    usage_from,
)

__all__ = ["AttemptSpec", "AttemptState", "Backend", "BackendStatus", "Capability", "Handle",
           "PoolCapacity", "Usage", "attempt_key", "read_jsonl_from", "require", "tail_text",
           "usage_from"]
