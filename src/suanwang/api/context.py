"""What the API needs at run time, built once per app (no module globals)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from suanwang.api.batcher import SubmitBatcher
from suanwang.core.federation import Federation


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant a token belongs to."""

    tenant_id: int
    name: str
    is_admin: bool


@dataclass
class TokenCache:
    """token hash -> Principal for ``ttl_s`` seconds, so a hot client costs one DB read per
    ``ttl_s`` instead of one per request. A revoked token keeps working at most ``ttl_s``."""

    ttl_s: float = 5.0
    _items: dict[str, tuple[float, Principal]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: str) -> Principal | None:
        hit = self._items.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, key: str, principal: Principal) -> None:
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[key] = (time.monotonic() + self.ttl_s, principal)


@dataclass
class ApiContext:
    engine: Engine
    read: sessionmaker[Session]
    write: sessionmaker[Session]
    federation: Federation
    tokens: TokenCache
    submits: SubmitBatcher
