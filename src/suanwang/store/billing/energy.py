"""Energy model for metering and quotes.

energy_kWh = device_seconds / 3600 x P_device x PUE / 1000, with the device's power under load
P_device = W_device x (IDLE_FRACTION + (1 - IDLE_FRACTION) x utilisation),
where W_device = the accelerator's TDP + its share of node overhead (``NodePool.watts_per_device``)
and the linear idle-to-peak power model is the standard server power model of Fan, Weber and
Barroso, "Power Provisioning for a Warehouse-sized Computer" (ISCA 2007, section 4.1:
P(u) = P_idle + (P_busy - P_idle) u). ``IDLE_FRACTION`` = 0.3 is an assumption (accelerators idle
at roughly 20-40% of TDP); ``utilisation`` defaults to 1.0 for metering (a running job keeps its
devices busy; the power draw, not MFU, matters) and the center's PUE scales IT power to facility
power (The Green Grid, "PUE: a comprehensive examination of the metric", WP#49, 2012).
"""

from __future__ import annotations

from decimal import Decimal

IDLE_FRACTION = 0.3
DEFAULT_UTILISATION = 1.0


def device_power_watts(watts_per_device: float, utilisation: float = DEFAULT_UTILISATION
                       ) -> float:
    """Power of one busy device (W) under the linear model; ``utilisation`` in [0, 1]."""
    u = min(max(utilisation, 0.0), 1.0)
    return watts_per_device * (IDLE_FRACTION + (1.0 - IDLE_FRACTION) * u)


def energy_kwh(device_seconds: float, watts_per_device: float, pue: float,
               utilisation: float = DEFAULT_UTILISATION) -> Decimal:
    """Facility energy (kWh) for ``device_seconds`` of devices drawing ``watts_per_device`` at
    full load, in a center with power usage effectiveness ``pue``."""
    kwh = device_seconds / 3600.0 * device_power_watts(watts_per_device, utilisation) * pue / 1000
    return Decimal(repr(kwh))
