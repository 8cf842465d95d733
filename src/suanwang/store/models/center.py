"""Centers as the platform knows them: static facts from the federation file, live capacity."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from suanwang.store.base import Base, UTCDateTime, utcnow


class CenterRow(Base):
    """``pools`` is the federation file's pools (``NodePool.to_dict()``); ``capacity`` maps
    accelerator -> {"free": n, "total": n} as last reported by the center's backend."""

    __tablename__ = "centers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    city: Mapped[str] = mapped_column(String(64))
    backend: Mapped[str] = mapped_column(String(16))
    pue: Mapped[float] = mapped_column(Float)
    pools: Mapped[list] = mapped_column(JSON, default=list)
    capacity: Mapped[dict] = mapped_column(JSON, default=dict)
    capacity_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
