"""The investigation UI: server-rendered pages (Jinja2) + static JS (Cytoscape.js), same process as the API.

Pages authenticate with the session cookie (set by ``POST /login``) and redirect to ``/login``
without one. Data for the networks comes from the JSON API with the same cookie; state-changing
calls carry the session's CSRF token (``X-CSRF-Token``), read from the page's ``<meta>``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from filiere.api import auth
from filiere.api.deps import SESSION_COOKIE, StoreDep, User
from filiere.cases import audit, service

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.policies["json.dumps_kwargs"] = {"default": str, "sort_keys": True}
router = APIRouter(include_in_schema=False)
PAGE_ROLES = frozenset({"analyst", "supervisor", "auditor"})


class _LoginRequiredError(Exception):
    """Raised by page dependencies when no valid session is present."""


def _session(request: Request, store: StoreDep) -> auth.Principal:
    sid = request.cookies.get(SESSION_COOKIE)
    p = auth.principal_for_session(store, sid) if sid else None
    if p is None:
        raise _LoginRequiredError
    return p


SessionDep = Annotated[auth.Principal, Depends(_session)]


def _user(p: auth.Principal) -> User:
    return User(username=p.username, role=p.role, via="session")


def _render(request: Request, name: str, p: auth.Principal, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    if p.role not in PAGE_ROLES and name not in ("forbidden.html",):
        return templates.TemplateResponse(
            request, "forbidden.html", {"user": p, "csrf": p.csrf_token, "page": name}, status_code=403
        )
    return templates.TemplateResponse(request, name, {"user": p, "csrf": p.csrf_token, **ctx}, status_code=status_code)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, error: str | None = None) -> HTMLResponse:
    return templates.TemplateResponse(request, "login.html", {"error": error, "user": None})


@router.post("/login")
def login(
    request: Request,
    store: StoreDep,
    username: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
) -> Response:
    role = auth.authenticate_password(store, username, password)
    if role is None:
        return templates.TemplateResponse(
            request, "login.html", {"error": "Wrong user name or password.", "user": None}, status_code=401
        )
    sid, _ = auth.create_session(store, username)
    audit.record(store, User(username=username, role=role), "session.login", "user", username)
    resp = RedirectResponse("/alerts", status_code=303)
    resp.set_cookie(
        SESSION_COOKIE, sid, httponly=True, samesite="strict", max_age=int(auth.SESSION_TTL.total_seconds())
    )
    return resp


@router.post("/logout")
def logout(request: Request, store: StoreDep) -> Response:
    sid = request.cookies.get(SESSION_COOKIE)
    if sid:
        auth.end_session(store, sid)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE)
    return resp


@router.get("/")
def home() -> Response:
    return RedirectResponse("/alerts", status_code=303)


def _dt(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _num(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, store: StoreDep, p: SessionDep) -> HTMLResponse:
    qp = request.query_params
    sort = qp.get("sort", "score")
    status = qp.get("status") or None
    f = service.AlertFilter(
        min_score=_num(qp.get("min_score")),
        rule=qp.get("rule") or None,
        indicator=qp.get("indicator") or None,
        vector=qp.get("vector") or None,
        status=status if status in service.ALERT_STATUSES else None,
        assignee=qp.get("assignee") or None,
        since=_dt(qp.get("since")),
        until=_dt(qp.get("until")),
        q=qp.get("q") or None,
        sort=sort if sort in service.ALERT_SORTS else "score",
        descending=qp.get("order", "desc") != "asc",
        limit=100,
    )
    rows, total = service.list_alerts(store, f)
    vectors = [r[0] for r in store.query("SELECT DISTINCT vector FROM alerts WHERE vector IS NOT NULL ORDER BY 1")]
    return _render(request, "alerts.html", p, alerts=rows, total=total, f=f, vectors=vectors, qp=dict(qp))


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(alert_id: str, request: Request, store: StoreDep, p: SessionDep) -> HTMLResponse:
    if p.role not in PAGE_ROLES:
        return _render(request, "forbidden.html", p, status_code=403)
    alert = service.get_alert(store, _user(p), alert_id)
    return _render(request, "alert.html", p, alert=alert)


@router.get("/cases", response_class=HTMLResponse)
def cases_page(request: Request, store: StoreDep, p: SessionDep) -> HTMLResponse:
    rows, total = service.list_cases(store, None, None, 200, 0)
    return _render(request, "cases.html", p, cases=rows, total=total)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(case_id: str, request: Request, store: StoreDep, p: SessionDep) -> HTMLResponse:
    if p.role not in PAGE_ROLES:
        return _render(request, "forbidden.html", p, status_code=403)
    case = service.get_case(store, _user(p), case_id)
    history = audit.entries(store, object_type="case", object_id=case_id, limit=200)
    for a in case["alerts"]:
        history += audit.entries(store, object_type="alert", object_id=a["alert_id"], limit=50)
    history.sort(key=lambda r: -int(r["seq"]))
    return _render(request, "case.html", p, case=case, history=history)


@router.get("/trace", response_class=HTMLResponse)
def trace_page(request: Request, p: SessionDep) -> HTMLResponse:
    qp = request.query_params
    return _render(
        request,
        "trace.html",
        p,
        subject=qp.get("subject", ""),
        hops=qp.get("hops", "3"),
        direction=qp.get("direction", "forward"),
        since=qp.get("since", ""),
        until=qp.get("until", ""),
    )


@router.get("/screening", response_class=HTMLResponse)
def screening_page(request: Request, p: SessionDep) -> HTMLResponse:
    mounted = "filiere.screening.api" in request.app.state.optional_routers
    return _render(request, "screening.html", p, screening=mounted, q=request.query_params.get("q", ""))


def mount_web(app: FastAPI) -> None:
    """Mount the UI pages and static files on ``app``."""
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(router)

    @app.exception_handler(_LoginRequiredError)
    async def to_login(request: Request, exc: _LoginRequiredError) -> Response:
        return RedirectResponse("/login", status_code=303)
