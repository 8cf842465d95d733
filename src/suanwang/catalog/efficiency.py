"""Efficiency profiles: ``catalog/data/efficiency.yaml`` -> ``{name: EfficiencyProfile}``.

Accelerators without an entry of their own inherit the default profile of their kind:
``default-cpu`` for catalog accelerators of kind ``cpu``, ``default`` (a GPU stack) for the rest
(see the data file for why their numbers are what they are); :func:`get_efficiency` says which
one it used in ``name``.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from suanwang.catalog.accelerators import load_accelerators
from suanwang.catalog.fields import Entry, data_path, parse_named, read_yaml
from suanwang.core.efficiency import EfficiencyProfile
from suanwang.core.errors import ConfigError

DEFAULT = "default"
DEFAULT_BY_KIND = {"cpu": "default-cpu"}  # accelerator kind -> its default profile


def parse_profile(item: object, *, file: str, entry: str) -> EfficiencyProfile:
    """One mapping -> EfficiencyProfile, errors located at file/entry/field."""
    e = Entry(item, file=file, entry=entry)
    try:
        profile = EfficiencyProfile(
            name=e.str("name"),
            gemm_max_fraction=e.number("gemm_max_fraction"),
            gemm_half_flops=e.number("gemm_half_tflop", strict=False) * 1e12,
            elementwise_bytes_per_token_hidden=e.number("elementwise_bytes_per_token_hidden",
                                                        strict=False),
            hbm_fraction=e.number("hbm_fraction"),
            attention_factor=e.number("attention_factor", 0.5),
            score_bytes_per_element=e.number("score_bytes_per_element", strict=False),
            intra_link_fraction=e.number("intra_link_fraction"),
            inter_link_fraction=e.number("inter_link_fraction"),
            intra_latency_s=e.number("intra_latency_us", strict=False) * 1e-6,
            inter_latency_s=e.number("inter_latency_us", strict=False) * 1e-6,
            tp_comm_overlap=e.boolean("tp_comm_overlap"),
            dp_comm_overlap=e.boolean("dp_comm_overlap"),
            tp_overlap_fraction=e.number("tp_overlap_fraction", 1.0),
            micro_batch_overhead_s=e.number("micro_batch_overhead_ms", 0.0, strict=False) * 1e-3,
            step_overhead_s=e.number("step_overhead_s", 0.0, strict=False),
            attention_max_fraction=e.number("attention_max_fraction", 0.5),
            fp8_gemm_relative=e.number("fp8_gemm_relative", 0.9),
            calibrated_on=e.strings("calibrated_on", []),
            notes=e.str("notes", "") if e.raw("notes", "") else "",
        )
        e.finish()  # unknown keys named with a "did you mean"
        return profile
    except ConfigError as exc:
        if exc.file:
            raise
        raise ConfigError(exc.detail, file=file, entry=entry, field=exc.field) from None


def parse_profiles(doc: object, file: str) -> dict[str, EfficiencyProfile]:
    out = parse_named(doc, "profiles", file, "profile", parse_profile)
    if DEFAULT not in out:
        raise ConfigError(f"needs a '{DEFAULT}' profile for accelerators without measurements",
                          file=file)
    return out


@lru_cache(maxsize=8)
def _load(path: str) -> dict[str, EfficiencyProfile]:
    return parse_profiles(read_yaml(path), path)


def load_efficiency(path: str | Path | None = None) -> dict[str, EfficiencyProfile]:
    """All efficiency profiles (packaged, or of ``path``), parsed once per path."""
    return dict(_load(str(path or data_path("efficiency.yaml"))))


def get_efficiency(accelerator: str, path: str | Path | None = None) -> EfficiencyProfile:
    """The profile measured on ``accelerator``, else the documented default for its kind (renamed
    ``<default> (for <accelerator>)`` so outputs show that it was inherited)."""
    profiles = load_efficiency(path)
    if accelerator in profiles:
        return profiles[accelerator]
    acc = load_accelerators().get(accelerator)
    name = DEFAULT_BY_KIND.get(acc.kind, DEFAULT) if acc is not None else DEFAULT
    if name not in profiles:
        name = DEFAULT
    return replace(profiles[name], name=f"{name} (for {accelerator})")
