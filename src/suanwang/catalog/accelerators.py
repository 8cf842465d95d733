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
    acc = Accelerator(
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
    e.finish()  # a typo ('hbm_gbs') is named with a suggestion, never silently ignored
    return acc


def parse_accelerators(doc: object, file: str) -> dict[str, Accelerator]:
    """Parse an accelerators document (already loaded YAML) into Accelerator values."""
    return parse_named(doc, "accelerators", file, "accelerator", parse_accelerator)


@lru_cache(maxsize=8)
def _load(path: str) -> dict[str, Accelerator]:
    return parse_accelerators(read_yaml(path), path)


_USER_FILES: list[str] = []


def use_accelerator_file(path: str | Path | None) -> None:
    """Merge a user's accelerators file over the packaged catalog for this process (the CLI's
    ``--accelerators FILE``; entries with a catalog name replace it). ``None`` clears it. The
    file is parsed (and checked) now, so a mistake fails at once with its location."""
    _USER_FILES.clear()
    if path is not None:
        if not Path(path).is_file():
            raise ConfigError(f"accelerators file not found: {path}", field="accelerators")
        _load(str(path))
        _USER_FILES.append(str(path))


def load_accelerators(path: str | Path | None = None) -> dict[str, Accelerator]:
    """All accelerators of the packaged catalog merged with the user file of
    :func:`use_accelerator_file` (or only those of ``path``), parsed once per path."""
    if path is not None:
        return dict(_load(str(path)))
    out = dict(_load(str(data_path("accelerators.yaml"))))
    for user in _USER_FILES:
        out.update(_load(user))
    return out


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
