"""Declarative base, naming convention and the column types the store needs everywhere.

* :class:`Money`: ``Decimal`` stored exactly as a signed integer of micro-units (10^-6), so SQLite
  never converts money through float (SQLAlchemy warns that its Numeric does) and sums and
  comparisons still happen in SQL. Amounts are rounded to 4 dp by ``billing.rounding`` before they
  reach a column; prices may carry up to 6 dp.
* :class:`DecimalText`: exact ``Decimal`` quantities (hours, kWh) as text, never summed in SQL.
* :class:`UTCDateTime`: timezone-aware UTC datetimes on both SQLite and PostgreSQL.

The naming convention makes constraint names stable, which Alembic needs to alter tables on
SQLite (batch mode) and to compare schemas ("The Importance of Naming Constraints", Alembic docs).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, MetaData, String, TypeDecorator
from sqlalchemy.orm import DeclarativeBase

from suanwang.core.errors import ConfigError

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
MICRO = Decimal(1_000_000)
FOUR_DP = Decimal("0.0001")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Money(TypeDecorator):
    """Decimal <-> BIGINT micro-units; raises ConfigError for values finer than 10^-6."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        micro = Decimal(value) * MICRO
        if micro != micro.to_integral_value():
            raise ConfigError(f"money value {value} has more than 6 decimal places")
        return int(micro)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        exact = Decimal(int(value)).scaleb(-6)
        four = exact.quantize(FOUR_DP)
        return four if four == exact else exact


class DecimalText(TypeDecorator):
    """Exact Decimal stored as its string."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else str(Decimal(value))

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetime; SQLite returns naive values, which are UTC by construction."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
