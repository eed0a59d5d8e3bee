"""The FastAPI application: ``create_app(settings)`` (one router per area, auth on every route).

Area routers that live in other packages (screening, report, realtime, vectors) are mounted when
their module imports; each exposes ``router`` and is mounted under ``/v1`` with
``Depends(current_user)`` so nothing there is reachable without credentials.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from filiere import __version__
from filiere.api.deps import RequestScope, StoreGate, current_user
from filiere.config import Settings
from filiere.errors import AuthenticationError, FiliereError
from filiere.store import open_store

log = logging.getLogger(__name__)

#: routers of other areas, mounted when importable
OPTIONAL_ROUTERS = (
    "filiere.screening.api",
    "filiere.report.api",
    "filiere.realtime.api",
    "filiere.vectors.api",
)

health_router = APIRouter(tags=["health"])


@health_router.get("/healthz", summary="Liveness (no authentication)")
def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


def _core_routers() -> list[APIRouter]:
    from filiere.api.routers import admin, alerts, audit, cases, data, trace

    return [alerts.router, cases.router, data.router, trace.router, audit.router, admin.router]


def create_app(settings: Settings, *, web: bool = True) -> FastAPI:
    """The API (and, unless ``web=False``, the investigation UI) over ``settings``' workspace."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # migrate once at start-up, then release the file: requests open it per unit of work
        open_store(settings).close()
        yield
        app.state.store_gate.close()

    app = FastAPI(
        title="filiere",
        version=__version__,
        description="Alerts, cases, follow-the-money tracing and audit. Every route but /healthz needs "
        "`Authorization: Bearer TOKEN` (`filiere tokens create`) or a UI session.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store_gate = StoreGate(settings)
    app.state.optional_routers = []
    app.add_middleware(RequestScope)

    @app.exception_handler(FiliereError)
    async def filiere_error(request: Request, exc: FiliereError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationError) else None
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code, headers=headers)

    app.include_router(health_router)
    for router in _core_routers():
        app.include_router(router, prefix="/v1")
    for mod_name in OPTIONAL_ROUTERS:
        mod = _import_optional(mod_name)
        area_router = getattr(mod, "router", None) if mod is not None else None
        if isinstance(area_router, APIRouter):
            app.include_router(area_router, prefix="/v1", dependencies=[Depends(current_user)])
            app.state.optional_routers.append(mod_name)
    if web:
        from filiere.web.routes import mount_web

        mount_web(app)
    return app


def _import_optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            return None  # the area has no API yet
        log.warning("router %s not mounted: %s", name, exc)
        return None
    except Exception as exc:  # an area's broken router must not take the whole service down
        log.warning("router %s not mounted: %s", name, exc)
        return None


def route_roles(app: FastAPI) -> dict[tuple[str, str], frozenset[str] | None]:
    """``(METHOD, path) → roles admitted`` for every API route (None: any authenticated caller).

    Read from each route's ``require_roles`` dependency; used by the security tests and the docs.
    Handles FastAPI's flat route list and its lazily-included routers (``original_router``).
    """
    from fastapi.routing import APIRoute

    out: dict[tuple[str, str], frozenset[str] | None] = {}

    def roles_of(route: APIRoute) -> frozenset[str] | None:
        stack = list(route.dependant.dependencies)
        while stack:
            dep = stack.pop()
            roles = getattr(dep.call, "roles", None)
            if roles is not None:
                return frozenset(roles)
            stack.extend(dep.dependencies)
        return None

    def walk(routes: list[Any], prefix: str, in_schema: bool) -> None:
        for r in routes:
            if isinstance(r, APIRoute):
                if in_schema and r.include_in_schema:
                    for m in (r.methods or set()) - {"HEAD"}:
                        out[(m, prefix + r.path)] = roles_of(r)
            elif hasattr(r, "original_router"):
                ctx = getattr(r, "include_context", None)
                walk(
                    list(r.original_router.routes),
                    prefix + str(getattr(ctx, "prefix", "")),
                    in_schema and bool(getattr(ctx, "include_in_schema", True)),
                )

    walk(list(app.routes), "", True)
    return out
