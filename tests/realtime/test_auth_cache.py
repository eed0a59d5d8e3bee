"""The real-time routes' token cache: one look-up at a time per credential, stale-while-refresh."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.requests import Request

from filiere.api.auth import Principal
from filiere.errors import AuthenticationError
from filiere.realtime.api import AuthCache, FastPath


class SlowGate:
    """Stands for the store gate: each unit of work takes ``delay`` seconds and is counted."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0
        self.lock = threading.Lock()

    @contextmanager
    def unit_of_work(self) -> Iterator[Any]:
        with self.lock:
            self.calls += 1
            time.sleep(self.delay)
            yield object()


def _request(gate: SlowGate) -> Request:
    token = "tok"
    app = SimpleNamespace(state=SimpleNamespace(store_gate=gate))
    scope = {"type": "http", "method": "POST", "path": "/v1/transactions", "app": app,
             "headers": [(b"authorization", f"Bearer {token}".encode())]}  # fmt: skip
    return Request(scope)


def test_concurrent_misses_share_one_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    gate = SlowGate(0.2)
    users = {"tok": Principal("feed", "machine", "token")}
    monkeypatch.setattr("filiere.realtime.api.principal_for_token", lambda store, t: users.get(t))
    cache = AuthCache(ttl_s=5.0)

    async def go() -> list[Principal]:
        return await asyncio.gather(*(cache.principal(_request(gate), frozenset({"machine"})) for _ in range(20)))

    got = asyncio.run(go())
    assert gate.calls == 1
    assert {p.username for p in got} == {"feed"}


def test_stale_principal_admitted_while_refreshing_then_revocation_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    gate = SlowGate(0.3)
    users: dict[str, Principal] = {"tok": Principal("feed", "machine", "token")}
    monkeypatch.setattr("filiere.realtime.api.principal_for_token", lambda store, t: users.get(t))
    cache = AuthCache(ttl_s=0.05, stale_s=5.0)
    roles = frozenset({"machine"})

    async def go() -> None:
        await cache.principal(_request(gate), roles)
        users.clear()  # revoked
        await asyncio.sleep(0.1)  # expired
        t0 = time.perf_counter()
        p = await cache.principal(_request(gate), roles)  # stale: admitted at once, refresh started
        assert p.username == "feed"
        assert time.perf_counter() - t0 < 0.2
        await asyncio.sleep(0.5)  # the refresh has seen the revocation
        with pytest.raises(AuthenticationError):
            await cache.principal(_request(gate), roles)

    asyncio.run(go())
    assert gate.calls == 2


def test_fast_path_passes_other_routes_to_the_app() -> None:
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["path"])

    fp = FastPath(app)

    async def go() -> None:
        await fp({"type": "http", "method": "GET", "path": "/v1/transactions"}, None, None)
        await fp({"type": "http", "method": "POST", "path": "/v1/cases"}, None, None)
        await fp({"type": "lifespan"} | {"path": ""}, None, None)

    asyncio.run(go())
    assert seen == ["/v1/transactions", "/v1/cases", ""]
