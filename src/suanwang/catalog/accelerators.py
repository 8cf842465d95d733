"""Accelerator catalog: ``catalog/data/accelerators.yaml`` -> ``{name: Accelerator}``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from suanwang.catalog.fields import Entry, data_path, parse_named, read_yaml
from suanwang.core.errors import ConfigError
from suanwang.core.hardware import DTYPES, Accelerator

KINDS = ("gpu", "npu", "cpu")


def parse_accelerator(item: object, *, file: str, entry: str) -> Accelerator:
    """One accelerator mapping -> Accelerator (vendor units converted to SI once, here)."""
    e = Entry(item, file=file, entry=entry)
    tflops = e.raw("tflops")
    if not isinstance(tflops, dict) or not tflops:
        raise e.error("tflops", "must be a mapping dtype -> TFLOP/s, e.g. {bf16: 312}")
    peaks = {}
    for dtype in tflops:
        if dtype not in DTYPES:
            raise e.error("tflops", f"unknown dtype '{dtype}'; use {', '.join(DTYPES)}")
        peaks[dtype] = Entry(tflops, file=file, entry=e.entry).number(dtype) * 1e12
    sources = e.strings("sources")
    if not sources:
        raise e.error("sources", "every accelerator needs at least one source")
    return Accelerator(
        name=e.str("name"),
        vendor=e.str("vendor"),
        domestic=e.boolean("domestic", False),
        kind=e.str("kind", choices=KINDS),
        peak_flops_per_s=peaks,
        hbm_bytes=e.number("hbm_gb") * 1e9,
        hbm_bytes_per_s=e.number("hbm_tb_per_s") * 1e12,
        intra_node_bytes_per_s=e.number("intra_node_gb_per_s") * 1e9,
        nic_bits_per_s=e.number("nic_gbps") * 1e9,
        tdp_watts=e.number("tdp_watts"),
        sources=sources,
        unverified=e.strings("unverified", []),
        notes=e.str("notes", "") if e.raw("notes", "") else "",
    )


def parse_accelerators(doc: object, file: str) -> dict[str, Accelerator]:
    """Parse an accelerators document (already loaded YAML) into Accelerator values."""
    return parse_named(doc, "accelerators", file, "accelerator", parse_accelerator)


@lru_cache(maxsize=8)
def _load(path: str) -> dict[str, Accelerator]:
    return parse_accelerators(read_yaml(path), path)


def load_accelerators(path: str | Path | None = None) -> dict[str, Accelerator]:
    """All accelerators of the packaged catalog (or of ``path``), parsed once per path."""
    return dict(_load(str(path or data_path("accelerators.yaml"))))


def get_accelerator(name: str, path: str | Path | None = None) -> Accelerator:
    """One accelerator by name; an unknown name is a ConfigError listing the known ones."""
    accs = load_accelerators(path)
    if name not in accs:
        lower = {k.lower(): k for k in accs}
        if name.lower() in lower:
            return accs[lower[name.lower()]]
        raise ConfigError(f"unknown accelerator '{name}'; known: {', '.join(accs)}",
                          field="accelerator")
    return accs[name]
