"""HTTP routes of the real-time service (mounted under ``/v1`` by :func:`filiere.api.app.create_app`).

``POST /v1/transactions`` and ``GET /v1/realtime/alerts/stream`` are plain Starlette routes that
authenticate themselves (:class:`AuthCache`): FastAPI's ``current_user`` dependency holds the
workspace store for the whole request, which would serialise every in-flight transaction behind
one lock and hold it for ever on a stream. They admit the same credentials (Bearer token or UI
session with CSRF token) and answer 401/403 like every other route. A token is looked up in the
store at most once per ``auth_cache_s`` seconds (revocation takes effect within that delay).
``POST /v1/models/reload`` (admin) and ``GET /v1/realtime/status`` (``?flush=1`` waits until the
store holds every acknowledged transaction) are plain routes too: both wait on work that needs the
store, which the dependency would hold.

The service itself starts with the server when its log exists (crash recovery first) or
``realtime.autostart`` is set, else on the first real-time request.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from filiere.api.auth import Principal, principal_for_session, principal_for_token
from filiere.api.deps import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE
from filiere.errors import AuthenticationError, FiliereError, PermissionDeniedError
from filiere.realtime.schemas import TX_MANY, TX_ONE, fast_records, from_iso20022, normalise
from filiere.realtime.service import OverloadedError, RealtimeConfig, RealtimeService

FEED_ROLES = frozenset({"machine", "admin"})
READ_ROLES = frozenset({"analyst", "supervisor", "auditor", "admin"})
STATUS_ROLES = frozenset({"admin", "supervisor", "machine"})
MAX_BODY = 8 << 20


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json", headers=headers)


class AuthCache:
    """Bearer tokens and sessions checked against the store, answers kept ``ttl_s`` seconds.

    Look-ups never stack up behind the store: one look-up per credential runs at a time (every
    request with that credential waits on it rather than starting its own), and a known principal
    keeps being admitted while its refresh is running, for at most ``stale_s`` seconds past its
    expiry. Profiling showed why: without this, every request arriving after the 5 s expiry started
    a look-up that waited for the store behind the log drain and the gate's yield to CLI commands
    (0.5–2.7 s stalls, the whole p99). A revoked token thus stops working within ``ttl_s`` plus
    one look-up (bounded by ``ttl_s + stale_s``).
    """

    def __init__(self, ttl_s: float = 5.0, max_entries: int = 10_000, stale_s: float = 10.0) -> None:
        self.ttl_s = ttl_s
        self.stale_s = stale_s
        self.max_entries = max_entries
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._running: dict[str, asyncio.Future[Principal | None]] = {}

    async def principal(self, request: Request, roles: frozenset[str]) -> Principal:
        header = request.headers.get("authorization")
        gate = request.app.state.store_gate
        if header:
            return await self.bearer(header, gate, roles)
        else:
            sid = request.cookies.get(SESSION_COOKIE)
            if not sid:
                raise AuthenticationError("authentication required: send 'Authorization: Bearer TOKEN' or log in")
            p = await self._lookup("s:" + sid, sid, principal_for_session, gate)
            if p is None:
                raise AuthenticationError("session expired: log in again")
            if request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != p.csrf_token:
                raise PermissionDeniedError("missing or wrong X-CSRF-Token header for a cookie-authenticated request")
        return self._check_role(p, roles)

    async def bearer(self, header: str, gate: Any, roles: frozenset[str]) -> Principal:
        """The principal of an ``Authorization: Bearer TOKEN`` header value."""
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationError("malformed Authorization header: expected 'Bearer TOKEN'")
        p = await self._lookup("t:" + token, token, principal_for_token, gate)
        if p is None:
            raise AuthenticationError("invalid, expired or revoked API token")
        return self._check_role(p, roles)

    @staticmethod
    def _check_role(p: Principal, roles: frozenset[str]) -> Principal:
        if p.role not in roles:
            raise PermissionDeniedError(f"role {p.role!r} may not do this (allowed: {', '.join(sorted(roles))})")
        return p

    async def _lookup(self, key: str, secret: str, fn: Any, gate: Any) -> Principal | None:
        digest = hashlib.sha256(key.encode()).hexdigest()
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        running = self._running.get(digest)
        if running is None:
            running = asyncio.ensure_future(self._refresh(digest, secret, fn, gate))
            self._running[digest] = running
            running.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved, logged by caller
        if hit is not None and hit[1] is not None and now < hit[0] + self.stale_s:
            return hit[1]  # admitted while its refresh runs (bounded staleness)
        return await asyncio.shield(running)

    async def _refresh(self, digest: str, secret: str, fn: Any, gate: Any) -> Principal | None:
        def look() -> Principal | None:
            with gate.unit_of_work() as store:
                found: Principal | None = fn(store, secret)
                return found

        try:
            p = await run_in_threadpool(look)
        finally:
            self._running.pop(digest, None)
        if len(self._cache) >= self.max_entries:
            self._cache.clear()
        # failures are kept one second only (a typo corrected at once works at once)
        self._cache[digest] = (time.monotonic() + (self.ttl_s if p is not None else 1.0), p)
        return p


def _state(request: Request) -> tuple[RealtimeService, AuthCache]:
    return _state_of(request.app)


def _state_of(app: Any) -> tuple[RealtimeService, AuthCache]:
    svc: RealtimeService | None = getattr(app.state, "realtime", None)
    if svc is None:
        svc = RealtimeService(app.state.settings, app.state.store_gate)
        app.state.realtime = svc
        app.state.realtime_auth = AuthCache(svc.config.auth_cache_s)
    auth: AuthCache = app.state.realtime_auth
    return svc, auth


def _error(exc: FiliereError) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, AuthenticationError):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, OverloadedError):
        headers["Retry-After"] = str(exc.retry_after)
    return _json({"detail": str(exc)}, exc.status_code, headers)


async def post_transactions(request: Request) -> Response:
    """Score one transaction (JSON object), a batch (JSON array) or a pacs.008 message (XML)."""
    svc, auth = _state(request)
    try:
        await auth.principal(request, FEED_ROLES)
        clen = request.headers.get("content-length")
        if clen is not None and clen.isdigit() and int(clen) > MAX_BODY:
            return _json({"detail": f"body over {MAX_BODY >> 20} MiB: send smaller batches"}, 413)
        body = await request.body()
        want = request.query_params.get("features", "") in ("1", "true")
        return await _score(svc, body, request.headers.get("content-type", ""), want)
    except FiliereError as exc:
        return _error(exc)


async def _score(svc: RealtimeService, body: bytes, ctype: str, want: bool) -> Response:
    """The answer to a ``POST /v1/transactions`` body (authenticated already)."""
    try:
        if len(body) > MAX_BODY:
            return _json({"detail": f"body over {MAX_BODY >> 20} MiB: send smaller batches"}, 413)
        if "xml" in ctype:
            try:
                recs = await run_in_threadpool(from_iso20022, body)
            except (ValueError, FiliereError) as exc:
                return _json({"detail": [{"loc": ["body"], "msg": str(exc), "type": "iso20022"}]}, 422)
            many = True
        else:
            many = body.lstrip()[:1] == b"["
            fast: list[dict[str, Any]] | None = None
            try:
                parsed = orjson.loads(body)
                if isinstance(parsed, list) == many and isinstance(parsed, list | dict):
                    fast = fast_records(parsed if isinstance(parsed, list) else [parsed])
            except orjson.JSONDecodeError:
                fast = None
            if fast is not None:
                recs = fast
            else:  # anything not plainly valid: pydantic, for field-precise errors
                try:
                    objs = TX_MANY.validate_json(body) if many else [TX_ONE.validate_json(body)]
                except ValidationError as exc:
                    errors = exc.errors(include_url=False, include_context=False, include_input=False)
                    detail = [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in errors]
                    return _json({"detail": detail}, 422)
                recs = [normalise(o) for o in objs]
        if len(recs) > svc.config.max_request_tx:
            return _json(
                {"detail": f"{len(recs)} transactions in one request (at most {svc.config.max_request_tx})"}, 413
            )
        answers = await svc.submit(recs, want)
    except FiliereError as exc:
        return _error(exc)
    return _json(answers if many else answers[0])


async def alert_stream(request: Request) -> Response:
    """Server-sent events: one ``alert`` event per transaction alerted or held, as it is decided."""
    svc, auth = _state(request)
    try:
        await auth.principal(request, READ_ROLES)
        await svc.ensure_started()
    except FiliereError as exc:
        return _error(exc)
    queue = svc.broker.subscribe()

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b"retry: 3000\n: connected\n\n"
            while True:
                try:
                    ev = await asyncio.wait_for(queue.get(), 15.0)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                yield b"id: " + str(ev["alert_id"]).encode() + b"\nevent: alert\ndata: " + orjson.dumps(ev) + b"\n\n"
        finally:
            svc.broker.unsubscribe(queue)

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = app.state.settings
    svc = RealtimeService(settings, app.state.store_gate, RealtimeConfig.from_settings(settings))
    app.state.realtime = svc
    app.state.realtime_auth = AuthCache(svc.config.auth_cache_s)
    if svc.config.autostart or svc.has_log():
        await svc.ensure_started()
    try:
        yield
    finally:
        await svc.stop()


async def reload_model(request: Request) -> Response:
    """Load the current model and screening lists into the running service (no downtime)."""
    svc, auth = _state(request)
    try:
        await auth.principal(request, frozenset({"admin"}))
        return _json(await svc.reload())
    except FiliereError as exc:
        return _error(exc)


async def realtime_status(request: Request) -> Response:
    """Model version, sequence numbers, in flight, backlog, log segments, recovery time."""
    svc, auth = _state(request)
    try:
        await auth.principal(request, STATUS_ROLES)
        await svc.ensure_started()
        if request.query_params.get("flush", "") in ("1", "true"):
            await svc.flush()
    except FiliereError as exc:
        return _error(exc)
    return _json(svc.status())


class FastPath:
    """ASGI wrapper that answers ``POST /v1/transactions`` without the application's middleware
    stack and route matching, and hands everything else (lifespan included) to ``app``.

    Profiling single-transaction load showed the event loop spending about half its time in the
    middleware chain and in matching the path against every router of the full API, against a few
    per cent in the handler itself. The handler is the same :func:`post_transactions` (same
    authentication, limits, errors); a failure inside it answers 500 like the app would.
    """

    def __init__(self, app: Any, path: str = "/v1/transactions") -> None:
        self.app = app
        self.path = path

    @property
    def state(self) -> Any:
        """The wrapped application's state (the wrapper is transparent to its users)."""
        return self.app.state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        scope["app"] = self.app
        try:
            response = await self._bearer_json(scope, receive)
            if response is None:  # a session cookie, a query string…: the general handler
                response = await post_transactions(Request(scope, receive))
        except Exception:  # the app's ServerErrorMiddleware would do the same
            logging.getLogger(__name__).exception("real-time request failed")
            response = _json({"detail": "internal server error"}, 500)
        await response(scope, receive, send)

    async def _bearer_json(self, scope: Any, receive: Any) -> Response | None:
        """:func:`post_transactions` for the feed's usual request (bearer token, no query string),
        reading the raw ASGI headers and body instead of building a Starlette ``Request``."""
        if scope.get("query_string"):
            return None
        auth_header = clen = None
        ctype = ""
        for name, value in scope["headers"]:
            if name == b"authorization":
                auth_header = value.decode("latin-1")
            elif name == b"content-type":
                ctype = value.decode("latin-1")
            elif name == b"content-length":
                clen = value
        if auth_header is None:
            return None
        svc, auth = _state_of(self.app)
        try:
            await auth.bearer(auth_header, self.app.state.store_gate, FEED_ROLES)
        except FiliereError as exc:
            return _error(exc)
        if clen is not None and clen.isdigit() and int(clen) > MAX_BODY:
            return _json({"detail": f"body over {MAX_BODY >> 20} MiB: send smaller batches"}, 413)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return _json({"detail": "client disconnected"}, 400)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                return _json({"detail": f"body over {MAX_BODY >> 20} MiB: send smaller batches"}, 413)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return await _score(svc, chunks[0] if len(chunks) == 1 else b"".join(chunks), ctype, False)


router = APIRouter(tags=["real-time"], lifespan=lifespan)
for _path, _endpoint, _method in (
    ("/transactions", post_transactions, "POST"),
    ("/realtime/alerts/stream", alert_stream, "GET"),
    ("/models/reload", reload_model, "POST"),
    ("/realtime/status", realtime_status, "GET"),
):
    router.routes.append(Route(_path, _endpoint, methods=[_method], name="realtime_" + _endpoint.__name__))
