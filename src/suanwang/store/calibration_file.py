"""Persistence of the closed-loop calibration: measured run records in one JSON file.

``$SUANWANG_HOME/calibration.json`` (or the path given) holds ``{"records": [RunRecord...]}``;
corrections are never stored, they are refitted from the records on every read
(``plan/calibration.py``), so a reset or a changed fit rule can never leave a stale factor
behind. Writes go to a temporary file that then replaces the old one (atomic on POSIX).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from suanwang.core.errors import ConfigError
from suanwang.plan.calibration import Correction, RunRecord, fit


def default_path() -> Path:
    home = Path(os.environ.get("SUANWANG_HOME", Path.home() / ".suanwang"))
    return home / "calibration.json"


class CalibrationFile:
    """Append measured runs, read corrections, reset (all or one center/accelerator)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_path()

    def records(self) -> list[RunRecord]:
        if not self.path.exists():
            return []
        try:
            raw = json.loads(self.path.read_text())
            return [RunRecord(**r) for r in raw.get("records", [])]
        except (json.JSONDecodeError, TypeError) as exc:
            raise ConfigError(f"unreadable calibration file ({exc}); fix it or run "
                              "'suanwang calibration reset'", file=str(self.path)) from None

    def _write(self, records: list[RunRecord]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"records": [r.to_dict() for r in records]}, indent=1))
        os.replace(tmp, self.path)

    def add(self, record: RunRecord) -> None:
        """Append one record (a record with the same job id replaces the older one)."""
        kept = [r for r in self.records() if r.job_id != record.job_id]
        self._write([*kept, record])

    def reset(self, *, center: str | None = None, accelerator: str | None = None) -> int:
        """Drop the records of one key (or of a center, or all); how many were dropped."""
        recs = self.records()
        kept = [r for r in recs if not ((center is None or r.center == center)
                                        and (accelerator is None or r.accelerator == accelerator))]
        self._write(kept)
        return len(recs) - len(kept)

    def corrections(self, **fit_args) -> dict[tuple[str, str], Correction]:
        return fit(self.records(), **fit_args)
