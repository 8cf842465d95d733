"""Failure-rate catalog: ``catalog/data/failure_rates.yaml`` -> per-accelerator rates.

Each accelerator class records the published device-hours per unexpected job interruption (with
its source row in ``shared/data/failure_stats.md``) and how much of it the device itself causes;
the rest is charged per node. Accelerators in no class get the file's ``default`` (marked
``assumed``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from suanwang.catalog.fields import Entry, data_path, read_yaml
from suanwang.core.errors import ConfigError
from suanwang.core.units import HOUR_S


@dataclass(frozen=True, kw_only=True)
class FailureRate:
    """Failure rates of one accelerator class.

    ``device_mtbf_s`` is the mean time between interruptions caused by one device;
    ``node_mtbf_s`` the mean time between node-level interruptions (network, host, software) of
    one node. A job on N devices in n nodes sees rate ``N / device_mtbf_s + n / node_mtbf_s``.
    ``device_hours_per_interruption`` is the published (derived) job-level figure they come from.
    """

    accelerator_class: str
    device_hours_per_interruption: float
    device_share: float
    reference_devices_per_node: int
    device_mtbf_s: float
    node_mtbf_s: float
    sources: tuple[str, ...]
    derivation: str
    assumed: bool = False

    def to_dict(self) -> dict:
        return {
            "accelerator_class": self.accelerator_class,
            "device_hours_per_interruption": self.device_hours_per_interruption,
            "device_share": self.device_share,
            "reference_devices_per_node": self.reference_devices_per_node,
            "device_mtbf_s": self.device_mtbf_s,
            "node_mtbf_s": self.node_mtbf_s,
            "sources": list(self.sources),
            "derivation": self.derivation,
            "assumed": self.assumed,
        }


@dataclass(frozen=True, kw_only=True)
class FailureRateCatalog:
    """All classes of a failure-rate file: ``by_accelerator`` name -> rate, plus the default."""

    by_accelerator: Mapping[str, FailureRate]
    default: FailureRate

    def for_accelerator(self, name: str) -> FailureRate:
        """The rate of ``name`` (case-insensitive); the default for accelerators in no class."""
        if name in self.by_accelerator:
            return self.by_accelerator[name]
        lower = {k.lower(): v for k, v in self.by_accelerator.items()}
        return lower.get(name.lower(), self.default)


def _parse_rate(e: Entry, class_name: str) -> FailureRate:
    hours = e.number("device_hours_per_interruption")
    share = e.number("device_share")
    if share > 1.0:
        raise e.error("device_share", f"must be a fraction in (0, 1] (got {share!r})")
    per_node = e.integer("reference_devices_per_node", 8)
    sources = e.strings("sources")
    if not sources:
        raise e.error("sources", "every failure rate needs at least one source")
    derivation = e.str("derivation")
    node_share = 1.0 - share
    node_mtbf_s = (hours * HOUR_S / (node_share * per_node)) if node_share > 0 else float("inf")
    return FailureRate(
        accelerator_class=class_name,
        device_hours_per_interruption=hours,
        device_share=share,
        reference_devices_per_node=per_node,
        device_mtbf_s=hours * HOUR_S / share,
        node_mtbf_s=node_mtbf_s,
        sources=sources,
        derivation=" ".join(derivation.split()),
        assumed=e.boolean("assumed", False),
    )


def parse_failure_rates(doc: object, file: str) -> FailureRateCatalog:
    """Parse a failure-rates document (already loaded YAML)."""
    if not isinstance(doc, Mapping):
        raise ConfigError("expected a mapping with 'default:' and 'classes:'", file=file)
    if "default" not in doc:
        raise ConfigError("expected a top-level 'default:' entry", file=file, field="default")
    top = Entry(doc, file=file, entry="top level")
    top.raw("default")
    top.raw("classes", None)
    top.finish()
    head = Entry(doc["default"], file=file, entry="default")
    default = _parse_rate(head, "default")
    head.finish()
    classes = doc.get("classes") or []
    if not isinstance(classes, list):
        raise ConfigError("must be a list of classes", file=file, field="classes")
    by_acc: dict[str, FailureRate] = {}
    seen: set[str] = set()
    for i, item in enumerate(classes):
        name = item.get("name") if isinstance(item, Mapping) else None
        e = Entry(item, file=file, entry=f"class '{name}'" if isinstance(name, str)
                  else f"class #{i + 1}")
        cls = e.str("name")
        if cls in seen:
            raise e.error("name", f"duplicate class name '{cls}'")
        seen.add(cls)
        rate = _parse_rate(e, cls)
        for acc in e.strings("accelerators"):
            if acc in by_acc:
                raise e.error("accelerators",
                              f"'{acc}' is already in class '{by_acc[acc].accelerator_class}'")
            by_acc[acc] = rate
        e.finish()
    return FailureRateCatalog(by_accelerator=by_acc, default=default)


@lru_cache(maxsize=8)
def _load(path: str) -> FailureRateCatalog:
    return parse_failure_rates(read_yaml(path), path)


def load_failure_rates(path: str | Path | None = None) -> FailureRateCatalog:
    """The packaged failure-rate catalog (or the one at ``path``), parsed once per path."""
    return _load(str(path or data_path("failure_rates.yaml")))


def get_failure_rate(accelerator: str, path: str | Path | None = None) -> FailureRate:
    """Failure rate of one accelerator by name (the catalog default when it is in no class)."""
    return load_failure_rates(path).for_accelerator(accelerator)
