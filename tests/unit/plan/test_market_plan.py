"""Placement with products (plan.market): software only where installed, WAN transfers add
time and cost, and a cheaper center far from the data can lose."""

from decimal import Decimal

import pytest

from suanwang.catalog import load_federation
from suanwang.core.errors import InfeasibleError
from suanwang.plan.market import Attachment, apply_products, transfer_to, widest_path

FED = load_federation()
PLAN = {"devices": 8, "estimate_s": 3600.0, "source": "batch", "pools": {
    "beijing-ai/A100-SXM-80GB": {"time_s": 3600.0, "cost": 72.0, "nodes": 1},
    "tianjin-sc/A100-SXM-40GB": {"time_s": 3600.0, "cost": 52.0, "nodes": 1},
    "guiyang-ai/H20": {"time_s": 3600.0, "cost": 44.0, "nodes": 1}}}


def test_software_only_where_installed():
    gromacs = Attachment(name="gromacs", kind="software", centers=("tianjin-sc",))
    plan = apply_products(FED, PLAN, [gromacs])
    assert list(plan["pools"]) == ["tianjin-sc/A100-SXM-40GB"]
    nowhere = Attachment(name="x", kind="software", centers=("wuxi-sc",))
    with pytest.raises(InfeasibleError, match="x \\(installed at wuxi-sc\\)"):
        apply_products(FED, PLAN, [nowhere])


def test_widest_path_by_hand():
    # tianjin -> beijing 800 Gb/s, beijing -> guiyang 100 Gb/s direct (30 ms) or via wuhan
    # (200 then 100, 14 + 15 ms): both bottleneck at 100 Gb/s, the lower latency wins
    bps, lat = widest_path(FED, "tianjin-sc", "guiyang-ai")
    assert bps == 100e9 and lat == pytest.approx(0.002 + 0.014 + 0.015)
    assert widest_path(FED, "wuxi-sc", "wuxi-sc") == (float("inf"), 0.0)


def test_data_away_from_home_adds_time_and_cost_and_can_lose():
    corpus = Attachment(name="corpus", kind="dataset", home_center="beijing-ai",
                        size_bytes=10 * 10**12, transfer_price_per_gb=Decimal("0.01"))
    plan = apply_products(FED, PLAN, [corpus])
    home = plan["pools"]["beijing-ai/A100-SXM-80GB"]
    far = plan["pools"]["guiyang-ai/H20"]
    assert home["transfer_s"] == 0 and home["cost"] == 72.0
    # 10 TB over the 100 Gb/s bottleneck = 800 s (+ 29 ms latency via wuhan); 10,000 GB x 0.01 = 100
    assert far["transfer_s"] == pytest.approx(800.029)
    assert far["time_s"] == pytest.approx(4400.029)
    assert Decimal(far["transfer_cost"]) == Decimal(100)
    assert far["cost"] == pytest.approx(144.0)
    cheapest = min(plan["pools"].items(), key=lambda kv: kv[1]["cost"])[0]
    assert cheapest == "beijing-ai/A100-SXM-80GB"  # home: 72 < tianjin 52 + 100 < guiyang 144
    assert min(PLAN["pools"].items(), key=lambda kv: kv[1]["cost"])[0] == "guiyang-ai/H20"
    seconds, gb, charge = transfer_to(FED, [corpus], "beijing-ai")
    assert (seconds, gb, charge) == (0.0, 0, 0)
