"""FastAPI dependencies: sessions, the calling principal, tenant scope, admin guard.

Tenant scoping happens here once: handlers receive ``Scope`` (the caller's tenant id) and pass it
to the repository functions, which filter on it; another tenant's ids therefore look missing
(404), never forbidden.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from suanwang.api.context import ApiContext, Principal

bearer = HTTPBearer(auto_error=False, description="A tenant token from `suanwang tenants "
                    "create` (admin routes need an admin tenant's token).")


def context(request: Request) -> ApiContext:
    return request.app.state.ctx


def read_session(request: Request) -> Iterator[Session]:
    with context(request).read() as session:
        yield session


def write_session(request: Request) -> Iterator[Session]:
    """A write session; the handler commits. Rolled back if the handler raises."""
    with context(request).write() as session:
        yield session


ReadSession = Annotated[Session, Depends(read_session)]
WriteSession = Annotated[Session, Depends(write_session)]


def principal(request: Request,
              creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
              ) -> Principal:
    """The tenant owning the bearer token; 401 without a valid one."""
    from suanwang.store.tenants import hash_token, resolve_token

    unauthorized = HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or invalid bearer token",
                                 headers={"WWW-Authenticate": "Bearer"})
    if creds is None or not creds.credentials or len(creds.credentials) > 200:
        raise unauthorized
    ctx = context(request)
    key = hash_token(creds.credentials)
    cached = ctx.tokens.get(key)
    if cached is not None:
        return cached
    with ctx.read() as session:
        tenant = resolve_token(session, creds.credentials)
        if tenant is None:
            raise unauthorized
        who = Principal(tenant_id=tenant.id, name=tenant.name, is_admin=tenant.is_admin)
    ctx.tokens.put(key, who)
    return who


CurrentPrincipal = Annotated[Principal, Depends(principal)]


def admin(who: CurrentPrincipal) -> Principal:
    if not who.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "admin token required")
    return who


Admin = Annotated[Principal, Depends(admin)]


def scope(who: CurrentPrincipal) -> int:
    """The tenant id every tenant route filters by."""
    return who.tenant_id


Scope = Annotated[int, Depends(scope)]
