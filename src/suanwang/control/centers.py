"""One execution backend per center of the federation, chosen by the center's ``backend`` field.

``local`` -> :class:`~suanwang.backends.local.LocalBackend` (state under
``DATA_DIR/centers/NAME``); ``sim`` -> :class:`~suanwang.sim.backend.SimBackend` (virtual clock,
``sim_speedup`` x); ``slurm`` -> the Slurm backend when ``slurm`` is true and the center's
cluster answers, else the center is treated as ``sim`` and a note says so (the demo runs on a
machine without Slurm). The notes are shown by ``suanwang controller`` and the demo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from suanwang.backends.base import Backend
from suanwang.backends.local import LocalBackend
from suanwang.core.federation import Center, Federation
from suanwang.sim.backend import SimBackend


@dataclass
class Centers:
    """Backends by center name, and one line per center whose backend was substituted."""

    backends: dict[str, Backend]
    notes: list[str] = field(default_factory=list)
    effective: dict[str, str] = field(default_factory=dict)  # center -> backend kind in use


def _slurm_backend(center: Center, data_dir: Path) -> tuple[Backend | None, str]:
    """The center's Slurm backend if its cluster answers ``scontrol show config``."""
    try:
        from suanwang.backends.slurm import SlurmBackend
    except ImportError as exc:
        return None, f"the Slurm backend is not installed ({exc})"
    try:
        backend = SlurmBackend(center, data_dir / "centers" / center.name)
        backend.config()  # one round trip: is the controller daemon there?
        return backend, ""
    except Exception as exc:  # no site section, no slurm binaries, daemon down, ssh refused
        text = str(exc).strip().splitlines()
        return None, text[0][:200] if text else type(exc).__name__


def make_centers(federation: Federation, data_dir: Path, *, sim_speedup: float = 60.0,
                 sim_failures: bool = False, slurm: bool = True) -> Centers:
    """Backends for every center (see module doc)."""
    out = Centers(backends={})
    for c in federation.centers:
        backend: Backend | None = None
        if c.backend == "local":
            backend = LocalBackend(c, data_dir / "centers" / c.name)
        elif c.backend == "slurm" and slurm:
            backend, why = _slurm_backend(c, data_dir)
            if backend is None:
                out.notes.append(f"{c.name}: Slurm not available ({why}); treated as sim")
        elif c.backend == "slurm":
            out.notes.append(f"{c.name}: Slurm disabled; treated as sim")
        if backend is None:
            backend = SimBackend(c, speedup=sim_speedup, failures=sim_failures)
        out.backends[c.name] = backend
        out.effective[c.name] = backend.kind
    return out
