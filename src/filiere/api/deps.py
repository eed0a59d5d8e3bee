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

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Literal

from fastapi import Depends, Request
from pydantic import BaseModel, Field

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
    """Opens the workspace store for one unit of work at a time, and closes it after.

    Requests are serialised inside the server process (one DuckDB writer anyway); between two
    requests the file is free, so other processes (CLI commands) open it after a short wait.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()

    @contextmanager
    def unit_of_work(self) -> Iterator[Store]:
        with self._lock:
            store = open_store(self.settings)
            try:
                yield store
            finally:
                store.close()


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
