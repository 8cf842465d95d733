"""FastAPI dependencies: sessions, the calling principal, tenant scope, admin guard.

Tenant scoping happens here once: handlers receive ``Scope`` (the caller's tenant id) and pass it
to the repository functions, which filter on it; another tenant's ids therefore look missing
(404), never forbidden.

The dependencies are ``async`` because they do no blocking work on the hot path (a session is
created lazily; a token is usually in the cache): FastAPI runs every *sync* dependency in the
thread pool, one hop each, which cost more than the database read itself. Most handlers stay
sync (one hop), so a database wait never blocks the event loop; the hot reads use
:func:`run_read` (inline for SQLite, thread pool for a server) and submissions go through the
group-commit writer (``api.batcher``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from suanwang.api.context import ApiContext, Principal

T = TypeVar("T")
bearer = HTTPBearer(auto_error=False, description="A tenant token from `suanwang tenants "
                    "create` (admin routes need an admin tenant's token).")


def context(request: Request) -> ApiContext:
    return request.app.state.ctx


async def read_session(request: Request) -> AsyncIterator[Session]:
    ctx = context(request)
    session = ctx.read()
    try:
        yield session
    finally:
        if ctx.engine.dialect.name == "sqlite":
            session.close()
        else:  # the rollback is a round trip to the server: not on the event loop
            await run_in_threadpool(session.close)


async def write_session(request: Request) -> AsyncIterator[Session]:
    """A write session; the handler commits. Rolled back (closed) if the handler raises."""
    session = context(request).write()
    try:
        yield session
    finally:
        await run_in_threadpool(session.close)


ReadSession = Annotated[Session, Depends(read_session)]


async def run_read(request: Request, work: Callable[[Session], T]) -> T:
    """Run ``work(session)`` in a read session: inline on the event loop for SQLite (an
    in-process WAL read never waits on anything), in the thread pool for a database server
    (a round trip to another process must not block the loop, least of all on a busy machine
    where that process waits for a CPU)."""
    ctx = context(request)

    def job() -> T:
        with ctx.read() as session:
            return work(session)

    if ctx.engine.dialect.name == "sqlite":
        return job()
    return await run_in_threadpool(job)


WriteSession = Annotated[Session, Depends(write_session)]


async def principal(request: Request,
                    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                    ) -> Principal:
    """The tenant owning the bearer token; 401 without a valid one."""
    from suanwang.store.tenants import hash_token

    unauthorized = HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or invalid bearer token",
                                 headers={"WWW-Authenticate": "Bearer"})
    if creds is None or not creds.credentials or len(creds.credentials) > 200:
        raise unauthorized
    ctx = context(request)
    key = hash_token(creds.credentials)
    cached = ctx.tokens.get(key)
    if cached is not None:
        return cached
    who = await run_in_threadpool(_lookup, ctx, creds.credentials)
    if who is None:
        raise unauthorized
    ctx.tokens.put(key, who)
    return who


def _lookup(ctx: ApiContext, token: str) -> Principal | None:
    from suanwang.store.tenants import resolve_token

    with ctx.read() as session:
        tenant = resolve_token(session, token)
        if tenant is None:
            return None
        return Principal(tenant_id=tenant.id, name=tenant.name, is_admin=tenant.is_admin)


CurrentPrincipal = Annotated[Principal, Depends(principal)]


async def admin(who: CurrentPrincipal) -> Principal:
    if not who.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "admin token required")
    return who


Admin = Annotated[Principal, Depends(admin)]


async def scope(who: CurrentPrincipal) -> int:
    """The tenant id every tenant route filters by."""
    return who.tenant_id


Scope = Annotated[int, Depends(scope)]
