"""The one rounding policy for money (after OpenSCOW's ``bl/jobPrice.ts``).

* quantities (hours, kWh) round DOWN to 6 decimal places: the customer never pays for a
  fraction of a micro-hour the meter did not see;
* an amount (quantity x unit price) rounds HALF_UP to 4 decimal places (the currency's
  ten-thousandth, the precision of balances);
* a hold (a quote) rounds UP (CEILING) to 4 dp, so the held money always covers the quote.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_UP, Decimal

QUANTITY_DP = Decimal("0.000001")
MONEY_DP = Decimal("0.0001")


def quantity(value: Decimal | float | int | str) -> Decimal:
    """A metered quantity, rounded down to 10^-6. Floats go through ``str`` (shortest repr)."""
    return Decimal(str(value)).quantize(QUANTITY_DP, rounding=ROUND_DOWN)


def amount(qty: Decimal, unit_price: Decimal) -> Decimal:
    """``qty`` x ``unit_price`` rounded half-up to 4 dp."""
    return (qty * unit_price).quantize(MONEY_DP, rounding=ROUND_HALF_UP)


def hold(value: Decimal) -> Decimal:
    """A predicted cost rounded up to 4 dp."""
    return value.quantize(MONEY_DP, rounding=ROUND_CEILING)


def money(value: Decimal | int | str) -> Decimal:
    """Parse a user-given amount; more than 4 dp is an error (raised by the caller's schema)."""
    return Decimal(str(value)).quantize(MONEY_DP, rounding=ROUND_HALF_UP)
