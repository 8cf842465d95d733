"""Rounding policy and energy model (pure functions), checked against hand arithmetic."""

from __future__ import annotations

from decimal import Decimal

from suanwang.store.billing import energy, rounding


def test_rounding_policy():
    assert rounding.quantity(1000 / 3600) == Decimal("0.277777")  # down, never up
    assert rounding.amount(Decimal("0.277777"), Decimal("2.5")) == Decimal("0.6944")  # 0.69444
    assert rounding.amount(Decimal("0.00005"), Decimal("1")) == Decimal("0.0001")  # half up
    assert rounding.hold(Decimal("1.00001")) == Decimal("1.0001")  # holds round up


def test_energy_model_by_hand():
    # 3600 device-s at 700 W full load, utilisation 1.0, PUE 1.25:
    # 1 h x 700 W x (0.3 + 0.7 x 1.0) x 1.25 / 1000 = 0.875 kWh
    assert energy.energy_kwh(3600, 700, 1.25) == Decimal("0.875")
    # idle devices still draw 30%: 1 h x 700 W x 0.3 x 1.0 / 1000 = 0.21 kWh
    assert float(energy.energy_kwh(3600, 700, 1.0, utilisation=0.0)) == 0.21


def test_money_column_round_trips_exactly():
    from suanwang.store.base import Money

    m = Money()
    for text in ("0", "0.0001", "123456789.1234", "-0.5", "0.000001"):
        stored = m.process_bind_param(Decimal(text), None)
        assert isinstance(stored, int)
        assert m.process_result_value(stored, None) == Decimal(text)
