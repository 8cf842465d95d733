"""Demo marketplace: a provider tenant and five products on chosen centers of the demo
federation (docs/marketplace.md). Prices are illustrative, not quotes from real vendors.

| product | kind | where | price |
|---|---|---|---|
| gromacs (molecular dynamics) | software | wuxi-sc, tianjin-sc | 0.8 / node-hour |
| openfoam (CFD) | software | wuxi-sc | 0.5 / node-hour |
| pytorch-train (training image) | software | the four AI centers | 0.2 / device-hour |
| qwen-7b-base (base model, 15.2 GB) | model | home shanghai-ai | 50 / use |
| zh-web-tokens (tokenised corpus, 2.4 TB) | dataset | home guiyang-ai | 0.01 / GB |

Plus a WAN transfer price (``transfer_gb``, all centers) of 0.02 per GB.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from suanwang.store import market
from suanwang.store.billing.prices import ANY, add_price, history
from suanwang.store.models import Tenant
from suanwang.store.tenants import create_tenant

PROVIDER = "demo-provider"
DEMO_PRODUCTS = (
    {"name": "gromacs", "kind": "software", "title": "GROMACS molecular dynamics",
     "release": "2024.3", "centers": ["wuxi-sc", "tianjin-sc"], "price_unit": "node_hour",
     "price": Decimal("0.8"), "description": "MPI + OpenMP build for the CPU partitions."},
    {"name": "openfoam", "kind": "software", "title": "OpenFOAM CFD", "release": "v2312",
     "centers": ["wuxi-sc"], "price_unit": "node_hour", "price": Decimal("0.5"),
     "description": "Finite-volume CFD solvers (simpleFoam, pisoFoam, ...)."},
    {"name": "pytorch-train", "kind": "software", "title": "PyTorch training image",
     "release": "2.13-cuda", "centers": ["beijing-ai", "shanghai-ai", "wuhan-ai", "guiyang-ai"],
     "price_unit": "device_hour", "price": Decimal("0.2"),
     "description": "PyTorch with FSDP2, DCP checkpoints and the suanwang runtime."},
    {"name": "qwen-7b-base", "kind": "model", "title": "7B base model (bf16 weights)",
     "release": "1.0", "home_center": "shanghai-ai", "size_bytes": 15_200_000_000,
     "price_unit": "use", "price": Decimal("50"),
     "description": "Decoder-only base model weights for continued pre-training."},
    {"name": "zh-web-tokens", "kind": "dataset", "title": "Tokenised Chinese web corpus",
     "release": "2026-10", "home_center": "guiyang-ai", "size_bytes": 2_400_000_000_000,
     "price_unit": "gb", "price": Decimal("0.01"),
     "description": "Deduplicated, tokenised (uint32) shards."},
)
TRANSFER_PRICE_PER_GB = Decimal("0.02")


def seed_demo_products(session: Session, centers: list[str]) -> int:
    """Create the demo provider and products that are missing (idempotent); returns how many
    products were created. Products naming a center not in ``centers`` are skipped."""
    provider = session.execute(select(Tenant).where(Tenant.name == PROVIDER)
                               ).scalar_one_or_none()
    if provider is None:
        provider = create_tenant(session, PROVIDER)[0]
        session.flush()
    made = 0
    for doc in DEMO_PRODUCTS:
        where = doc.get("centers") or [doc.get("home_center")]
        if market.latest(session, doc["name"]) is not None or any(c not in centers
                                                                  for c in where):
            continue
        market.create_product(session, provider.id, dict(doc), centers)
        made += 1
    if not history(session, kind="transfer_gb", center=ANY, resource=ANY):
        add_price(session, kind="transfer_gb", center=ANY, resource=ANY,
                  price=TRANSFER_PRICE_PER_GB, valid_from=datetime(2000, 1, 1, tzinfo=UTC),
                  note="demo WAN transfer price")
    return made
