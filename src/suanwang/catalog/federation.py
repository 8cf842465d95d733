"""Federation files: centers (node pools, storage, power, price, backend) and WAN links."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from suanwang.catalog.accelerators import load_accelerators
from suanwang.catalog.fields import (
    Entry,
    data_path,
    did_you_mean,
    entry_name,
    read_yaml,
    top_list,
)
from suanwang.core.errors import ConfigError
from suanwang.core.federation import (
    BACKENDS,
    CENTER_KINDS,
    Center,
    Federation,
    Link,
    SlurmSite,
)
from suanwang.core.hardware import NodePool

DEMO_FEDERATION = "federation-demo.yaml"
TOP_KEYS = ("federation", "centers", "links")


def _pool(item: object, *, file: str, entry: str, index: int) -> NodePool:
    e = Entry(item, file=file, entry=f"{entry}: pool #{index + 1}")
    accs = load_accelerators()
    name = e.str("accelerator")
    if name not in accs:
        raise e.error("accelerator", f"unknown accelerator '{name}'; known: {', '.join(accs)}")
    acc = accs[name]
    intra = e.number("intra_node_gb_per_s", acc.intra_node_bytes_per_s / 1e9) * 1e9
    inter = e.number("inter_node_gbps_per_device", acc.nic_bits_per_s / 1e9) * 1e9
    pool = NodePool(
        accelerator=acc,
        nodes=e.integer("nodes"),
        devices_per_node=e.integer("devices_per_node"),
        intra_node_bytes_per_s=intra,
        inter_node_bits_per_s_per_device=inter,
        price_per_device_hour=e.number("price_per_device_hour", minimum=0.0, strict=False),
        node_overhead_watts=e.number("node_overhead_watts", 0.0, minimum=0.0, strict=False),
        failure_rate_multiplier=e.number("failure_rate_multiplier", 1.0),
        weight=e.number("weight", 0.0, minimum=0.0, strict=False),
    )
    e.finish()
    return pool


GRES_RE = re.compile(r"^[a-z][a-z0-9_]*(:[A-Za-z0-9_.-]+)?$")


def _slurm_site(raw: object, *, backend: str, accelerators: tuple[str, ...], file: str,
                entry: str) -> SlurmSite | None:
    """The ``slurm:`` section of a center (Slurm backend settings; see docs/backends.md).

    Checked here, before anything is submitted: only ``backend: slurm`` centers may have one;
    ``slurm_conf`` and ``ssh_host`` are strings (a local cluster needs neither if the client
    default works); ``gres`` keys must be accelerators of this center's pools and values GRES
    names like ``gpu`` or ``gpu:h100`` (no count: the backend adds it).
    """
    if raw is None:
        return None
    where = f"{entry}: slurm"
    if backend != "slurm":
        raise ConfigError(f"a 'slurm:' section needs backend: slurm (this center has "
                          f"backend: {backend}); remove it or change the backend",
                          file=file, entry=entry, field="slurm")
    e = Entry(raw, file=file, entry=where)
    text = {k: (e.str(k) if e.raw(k, "") != "" else "")
            for k in ("slurm_conf", "ssh_host", "partition", "account", "qos", "python")}
    gres_raw = e.raw("gres", {})
    if not isinstance(gres_raw, Mapping):
        raise e.error("gres", "must map accelerator names to GRES names, e.g. {H100-SXM: gpu}")
    for acc, name in gres_raw.items():
        if acc not in accelerators:
            raise e.error("gres", f"'{acc}' is not an accelerator of this center's pools "
                          f"({', '.join(accelerators)})")
        if not isinstance(name, str) or not GRES_RE.match(name):
            raise e.error("gres", f"GRES for '{acc}' must look like 'gpu' or 'gpu:h100' "
                          f"without a count (got {name!r})")
    setup = e.raw("setup", [])
    setup = (setup,) if isinstance(setup, str) else setup
    if not isinstance(setup, list | tuple) or not all(isinstance(x, str) for x in setup):
        raise e.error("setup", "must be a shell line or a list of shell lines")
    site = SlurmSite(**text, gres=tuple(sorted(gres_raw.items())), setup=tuple(setup),
                     release_requeued=e.boolean("release_requeued", False),
                     ssh_options=e.strings("ssh_options", []))
    if site.ssh_options and not site.ssh_host:
        raise e.error("ssh_options", "only used with ssh_host; remove it or set ssh_host")
    e.finish()
    for field, value in (("partition", site.partition), ("account", site.account),
                         ("qos", site.qos), ("ssh_host", site.ssh_host.removeprefix("ssh://"))):
        if value and not re.match(r"^[A-Za-z0-9_.@:-]+$", value):
            raise e.error(field, f"{value!r} has characters Slurm/ssh names cannot have")
    return site


def _center(item: object, *, file: str, index: int) -> Center:
    entry = entry_name(item, index, "center")
    e = Entry(item, file=file, entry=entry)
    mult = e.number("failure_rate_multiplier", 1.0)
    pools = e.items("pools")
    if not pools:
        raise e.error("pools", "a center needs at least one node pool")
    center = Center(
        name=e.str("name"),
        kind=e.str("kind", choices=CENTER_KINDS),
        city=e.str("city"),
        backend=e.str("backend", choices=BACKENDS),
        pools=tuple(_pool(p, file=file, entry=entry, index=j)
                    for j, p in enumerate(pools)),
        storage_write_bytes_per_s=e.number("storage_write_gb_per_s") * 1e9,
        pue=e.number("pue", minimum=1.0, strict=False),
        failure_rate_multiplier=mult,
        energy_price_per_kwh=e.number("energy_price_per_kwh", 0.0, minimum=0.0, strict=False),
        notes=e.str("notes", "") if e.raw("notes", "") else "",
        slurm=_slurm_site(e.raw("slurm", None), backend=e.raw("backend"), file=file,
                          entry=entry, accelerators=tuple(str(p.get("accelerator"))
                                                          for p in pools)),
    )
    e.finish()
    return center


def parse_federation(doc: object, file: str) -> Federation:
    """Parse a federation document; every mistake names file, entry and field."""
    if not isinstance(doc, Mapping):
        raise ConfigError("expected a mapping with 'federation', 'centers' and 'links'", file=file)
    head = Entry(doc.get("federation", {}), file=file, entry="federation")
    centers = [_center(c, file=file, index=i) for i, c in enumerate(top_list(doc, "centers", file))]
    seen: set[str] = set()
    for c in centers:
        if c.name in seen:
            raise ConfigError(f"duplicate center name '{c.name}'; names must be unique",
                              file=file, entry=f"center '{c.name}'", field="name")
        seen.add(c.name)
    links = []
    for i, item in enumerate(doc.get("links") or []):
        e = Entry(item, file=file, entry=f"link #{i + 1}")
        a, b = e.str("a"), e.str("b")
        for field, name in (("a", a), ("b", b)):
            if name not in seen:
                raise e.error(field, f"unknown center '{name}'; known: {', '.join(sorted(seen))}")
        if a == b:
            raise e.error("b", "a link must join two different centers")
        links.append(Link(a=a, b=b, bits_per_s=e.number("gbps") * 1e9,
                          latency_s=e.number("latency_ms", minimum=0.0, strict=False) / 1e3))
        e.finish()
    fed = Federation(name=head.str("name", Path(file).stem), currency=head.str("currency", "CNY"),
                     centers=tuple(centers), links=tuple(links))
    head.finish()
    for key in doc:
        if key not in ("federation", "centers", "links"):
            raise ConfigError("unknown top-level key" + did_you_mean(str(key), TOP_KEYS)
                              + f"; known: {', '.join(TOP_KEYS)}", file=file, field=str(key))
    return fed


@lru_cache(maxsize=16)
def _load(path: str) -> Federation:
    return parse_federation(read_yaml(path), path)


def load_federation(path: str | Path | None = None) -> Federation:
    """The demo federation (or the one in ``path``), parsed once per path."""
    return _load(str(path or data_path(DEMO_FEDERATION)))
