"""Money: price items, the ledger (holds, charges, top-ups), quotes, settlement, invoices.

What the controller calls (docs/billing.md):
``quote(session, spec, placement)`` -> Decimal, ``place_hold(session, tenant_id, job_id, amount)``
-> bool (in bulk: ``HoldBatch`` / ``place_holds``, same rules), ``settle(session, job_id)`` ->
Decimal (idempotent per job).
"""

from suanwang.store.billing.hold_batch import HoldBatch, place_holds
from suanwang.store.billing.ledger import (
    InsufficientBalance,
    balance_of,
    place_hold,
    release_hold,
    top_up,
)
from suanwang.store.billing.quote import quote
from suanwang.store.billing.settle import settle

__all__ = ["HoldBatch", "InsufficientBalance", "balance_of", "place_hold", "place_holds", "quote",
           "release_hold", "settle", "top_up"]
