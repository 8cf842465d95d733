"""ORM tables of the platform (import this package to register every table on ``Base``)."""

from suanwang.store.models.billing import Invoice, InvoiceLine, LedgerEntry, PriceItem
from suanwang.store.models.center import CenterRow
from suanwang.store.models.job import Attempt, Job, JobEvent, JobMetric
from suanwang.store.models.market import Lease, Product, ProductCharge
from suanwang.store.models.tenant import ApiToken, Balance, Quota, Tenant
from suanwang.store.models.usage import UsageRecord

__all__ = [
    "ApiToken", "Attempt", "Balance", "CenterRow", "Invoice", "InvoiceLine", "Job", "JobEvent",
    "JobMetric", "Lease", "LedgerEntry", "PriceItem", "Product", "ProductCharge", "Quota", "Tenant",
    "UsageRecord",
]
