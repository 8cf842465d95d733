"""One error hierarchy for suanwang.

User mistakes raise :class:`ConfigError` whose message names what was wrong and how to fix it.
"""

from __future__ import annotations


class SuanwangError(Exception):
    """Base of every error suanwang raises on purpose."""


class ConfigError(SuanwangError):
    """A user-supplied file, flag or field is wrong.

    ``file``, ``entry`` and ``field`` (all optional) locate the mistake; they are prefixed to the
    message so the user sees e.g. ``federation.yaml: center 'wuxi': field 'nodes': must be > 0``.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        entry: str | None = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        self.file = file
        self.entry = entry
        self.field = field
        self.line = line
        self.detail = message
        parts = []
        if file:
            parts.append(f"{file}:{line}" if line is not None else file)
        if entry:
            parts.append(entry)
        if field:
            parts.append(f"field '{field}'")
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class InfeasibleError(SuanwangError):
    """A request is well-formed but cannot be satisfied (no plan fits, not enough devices)."""


class NotFoundError(SuanwangError):
    """A named object (job, center, tenant, checkpoint) does not exist."""


class BackendError(SuanwangError):
    """An execution backend (local processes, Slurm) failed to do what was asked."""


class UnsupportedError(SuanwangError):
    """A backend or component was asked for a capability it declares it lacks."""
