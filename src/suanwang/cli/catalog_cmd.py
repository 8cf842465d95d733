"""``suanwang catalog accelerators|models|centers``: print the catalog data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from suanwang.cli.output import CsvOpt, console, print_json, table

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
FileOpt = Annotated[Path | None, typer.Option(
    "--file", "-f", help="Read this YAML file instead of the packaged one.")]

catalog = typer.Typer(help="Show the hardware, model and federation catalog.", no_args_is_help=True)


@catalog.command("accelerators")
def accelerators(json_: JsonOpt = False, file: FileOpt = None,
                 csv_: CsvOpt = False) -> None:
    """Accelerators: dense peak FLOP/s per dtype, memory, links, power, sources."""
    from suanwang.catalog import load_accelerators

    accs = load_accelerators(file)
    if json_:
        print_json({"accelerators": [a.to_dict() for a in accs.values()]})
        return
    rows = []
    for a in accs.values():
        peaks = a.peak_flops_per_s
        rows.append([
            a.name, a.vendor, "yes" if a.domestic else "", a.kind,
            peaks.get("bf16", 0) / 1e12, peaks.get("fp8", 0) / 1e12, peaks.get("fp64", 0) / 1e12,
            a.hbm_bytes / 1e9, a.hbm_bytes_per_s / 1e12, a.intra_node_bytes_per_s / 1e9,
            a.nic_bits_per_s / 1e9, a.tdp_watts, ",".join(a.unverified) or "",
        ])
    table("Accelerators (dense peaks; intra-node link per direction)",
          ["name", "vendor", "domestic", "kind", "bf16 TF/s", "fp8 TF/s", "fp64 TF/s", "HBM GB",
           "HBM TB/s", "intra GB/s", "NIC Gb/s", "TDP W", "unverified"], rows)
    console.print("Sources: suanwang catalog accelerators --json", style="dim")


@catalog.command("models")
def models(json_: JsonOpt = False, file: FileOpt = None,
                 csv_: CsvOpt = False) -> None:
    """Model presets: shape, parameter count, source."""
    from suanwang.catalog import load_models

    specs = load_models(file)
    if json_:
        print_json({"models": [m.to_dict() for m in specs.values()]})
        return
    rows = [[m.name, m.params / 1e9, m.layers, m.hidden, m.heads, m.kv_heads, m.ffn_hidden,
             m.ffn_kind, m.vocab, m.seq_len, m.source] for m in specs.values()]
    table("Model presets", ["name", "params (B)", "layers", "hidden", "heads", "kv heads", "ffn",
                            "ffn kind", "vocab", "seq", "source"], rows)


@catalog.command("centers")
def centers(json_: JsonOpt = False, file: FileOpt = None,
                 csv_: CsvOpt = False) -> None:
    """Centers of a federation (the demo one by default) and their WAN links."""
    from suanwang.catalog import load_federation

    fed = load_federation(file)
    if json_:
        print_json(fed.to_dict())
        return
    rows = []
    for c in fed.centers:
        for p in c.pools:
            rows.append([c.name, c.kind, c.city, c.backend, p.accelerator.name, p.nodes,
                         p.devices_per_node, p.devices, p.price_per_device_hour,
                         p.inter_node_bits_per_s_per_device / 1e9,
                         c.storage_write_bytes_per_s / 1e9, c.pue,
                         c.failure_rate_multiplier * p.failure_rate_multiplier])
    table(f"Federation {fed.name} ({fed.devices} devices, prices in {fed.currency}/device-hour)",
          ["center", "kind", "city", "backend", "accelerator", "nodes", "dev/node", "devices",
           "price", "NIC Gb/s", "storage GB/s", "PUE", "fail x"], rows)
    table("WAN links", ["a", "b", "Gb/s", "latency ms"],
          [[ln.a, ln.b, ln.bits_per_s / 1e9, ln.latency_s * 1e3] for ln in fed.links])


def register(app: typer.Typer, bench: typer.Typer) -> None:
    app.add_typer(catalog, name="catalog")
