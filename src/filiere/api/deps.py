"""The auth contract every router uses.

```python
from filiere.api.deps import CurrentUser, StoreDep, require_roles

@router.post("/screen", dependencies=[Depends(require_roles("analyst", "supervisor", "machine"))])
def screen(body: Query, user: CurrentUser, store: StoreDep) -> Result: ...
```

Credentials: ``Authorization: Bearer TOKEN`` (API tokens, ``filiere tokens create``) or the UI's
session cookie; state-changing requests authenticated by cookie must also send the session's
``X-CSRF-Token``. No credentials or bad ones → 401; a role the route does not admit → 403.

The store is opened for one request and closed after it (see :class:`StoreGate`): DuckDB admits one
writing process per file, so the server never holds the workspace between requests and CLI
commands run while ``filiere serve`` is up.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Literal

from fastapi import Depends, Request
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Receive, Scope, Send

from filiere.api.auth import ROLES, principal_for_session, principal_for_token
from filiere.config import Settings
from filiere.errors import AuthenticationError, PermissionDeniedError
from filiere.store import Store, open_store

Role = Literal["analyst", "supervisor", "auditor", "admin", "machine"]
SESSION_COOKIE = "filiere_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

__all__ = [
    "ROLES",
    "CurrentUser",
    "Role",
    "SettingsDep",
    "StoreDep",
    "StoreGate",
    "User",
    "current_user",
    "get_settings",
    "get_store",
    "require_roles",
]


class User(BaseModel):
    """The authenticated caller."""

    username: str = Field(examples=["alice"])
    role: str = Field(examples=["analyst"])
    via: str = Field(default="token", description="token | session", examples=["token"])


class StoreGate:
    """Lends the workspace store to one unit of work at a time and gives the file back when idle.

    DuckDB admits one writing process per file, and opening it costs tens of milliseconds, so the
    server keeps the connection across a burst of requests and closes it after ``idle_release_s``
    without one. Under continuous load it closes it after ``max_hold_s`` and waits ``yield_s``
    before reopening, longer than the 0.5 s between the CLI's lock retries, so that a command
    started while ``filiere serve`` runs gets the file within a few seconds instead of failing.
    """

    def __init__(
        self, settings: Settings, *, idle_release_s: float = 0.2, max_hold_s: float = 2.0, yield_s: float = 0.6
    ) -> None:
        self.settings = settings
        self.idle_release_s = idle_release_s
        self.max_hold_s = max_hold_s
        self.yield_s = yield_s
        self._lock = threading.Lock()
        self._store: Store | None = None
        self._opened_at = 0.0
        self._reopen_after = 0.0
        self._generation = 0

    @property
    def is_open(self) -> bool:
        return self._store is not None

    @contextmanager
    def unit_of_work(self) -> Iterator[Store]:
        """The store for one unit of work. Within one HTTP request (see :class:`RequestScope`) nested
        calls, e.g. an area router's own dependency, reuse the request's store instead of waiting."""
        scope = _request_scope.get(None)
        if scope is not None and scope.store is not None:
            yield scope.store
            return
        with self._lock:
            self._generation += 1
            if self._store is None:
                wait = self._reopen_after - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                self._store = open_store(self.settings)
                self._opened_at = time.monotonic()
            if scope is not None:
                scope.store = self._store
            try:
                yield self._store
            finally:
                if scope is not None:
                    scope.store = None
                if time.monotonic() - self._opened_at >= self.max_hold_s:
                    self._close_locked()
                    self._reopen_after = time.monotonic() + self.yield_s
                else:
                    gen = self._generation
                    timer = threading.Timer(self.idle_release_s, self._release_if_idle, args=(gen,))
                    timer.daemon = True
                    timer.start()

    @contextmanager
    def file_lent(self) -> Iterator[None]:
        """The store closed and no unit of work started while the block runs: another process of
        this server (the real-time drain worker) writes to the file meanwhile."""
        with self._lock:
            self._generation += 1
            self._close_locked()
            yield

    def _release_if_idle(self, generation: int) -> None:
        with self._lock:
            if generation == self._generation:
                self._close_locked()

    def _close_locked(self) -> None:
        if self._store is not None:
            try:
                self._store.close()
            finally:
                self._store = None

    def close(self) -> None:
        with self._lock:
            self._generation += 1
            self._close_locked()


class _Scope:
    __slots__ = ("store",)

    def __init__(self) -> None:
        self.store: Store | None = None


_request_scope: contextvars.ContextVar[_Scope] = contextvars.ContextVar("filiere_request_scope")


class RequestScope:
    """ASGI middleware giving each request a scope object that the threads serving it share.

    Contexts are copied into FastAPI's worker threads, so a value set here (a mutable holder) is
    seen by every dependency of the request, whichever thread runs it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _request_scope.set(_Scope())
        try:
            await self.app(scope, receive, send)
        finally:
            _request_scope.reset(token)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_store(request: Request) -> Iterator[Store]:
    """The request's store (opened once per request, closed when the response is built)."""
    gate: StoreGate = request.app.state.store_gate
    with gate.unit_of_work() as store:
        yield store


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]


def current_user(request: Request, store: StoreDep) -> User:
    """The caller, from a Bearer token or the session cookie; 401 otherwise."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("malformed Authorization header: expected 'Bearer TOKEN'")
        p = principal_for_token(store, token.strip())
        if p is None:
            raise AuthenticationError("invalid, expired or revoked API token")
    else:
        sid = request.cookies.get(SESSION_COOKIE)
        if not sid:
            raise AuthenticationError("authentication required: send 'Authorization: Bearer TOKEN' or log in")
        p = principal_for_session(store, sid)
        if p is None:
            raise AuthenticationError("session expired: log in again")
        if request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != p.csrf_token:
            raise PermissionDeniedError("missing or wrong X-CSRF-Token header for a cookie-authenticated request")
    user = User(username=p.username, role=p.role, via=p.via)
    request.state.user = user
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    """A dependency admitting only ``roles`` (403 for the others). ``.roles`` lists them for tests."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    allowed = frozenset(roles)

    def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise PermissionDeniedError(f"role {user.role!r} may not do this (allowed: {', '.join(sorted(allowed))})")
        return user

    check.roles = allowed  # type: ignore[attr-defined]
    check.__name__ = "require_" + "_".join(sorted(allowed))
    return check
