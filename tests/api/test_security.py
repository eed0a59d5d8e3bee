"""Every route needs credentials; every role is refused where it does not belong; filters resist injection."""

from __future__ import annotations

import re
from typing import Any

import pytest

from filiere.api.auth import ROLES

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

PUBLIC = {"/healthz"}


def _routes(app: Any) -> list[tuple[str, str, frozenset[str] | None]]:
    """Every operation of the OpenAPI document with the roles it admits."""
    from filiere.api.app import route_roles

    table = route_roles(app)
    doc = app.openapi()
    out = []
    for path, ops in doc["paths"].items():
        for method in ops:
            out.append((method.upper(), path, table[(method.upper(), path)]))
    return out


def _b(seeded: dict[str, Any], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {seeded['tokens'][role]}"}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "X-unknown", path)


def _call(client: Any, method: str, path: str, headers: dict[str, str] | None = None) -> Any:
    kwargs: dict[str, Any] = {"headers": headers or {}}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    return client.request(method, _concrete(path), **kwargs)


def test_every_api_route_is_declared_and_protected(client: Any) -> None:
    routes = _routes(client.app)
    paths = {p for _, p, _ in routes}
    from filiere.api.app import route_roles

    assert {p for _, p in route_roles(client.app)} == paths
    # the area's surface is all there (and OpenAPI documents it)
    for p in (
        "/v1/alerts",
        "/v1/alerts/{alert_id}/disposition",
        "/v1/cases/{case_id}/status",
        "/v1/trace/{subject}",
        "/v1/audit",
        "/v1/audit/verify",
        "/v1/users",
        "/v1/tokens",
        "/v1/parties",
        "/v1/transactions",
    ):
        assert p in paths
    assert client.get("/openapi.json").status_code == 200


def test_no_credentials_gives_401_everywhere(client: Any) -> None:
    checked = 0
    for method, path, _ in _routes(client.app):
        resp = _call(client, method, path)
        if path in PUBLIC:
            assert resp.status_code == 200
            continue
        assert resp.status_code == 401, (method, path, resp.status_code, resp.text)
        assert resp.headers["content-type"].startswith("application/json")
        assert "detail" in resp.json()
        assert resp.headers.get("www-authenticate") == "Bearer"
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("header", ["Bearer fil_nope_nope", "Bearer ", "Basic dXNlcjpwYXNz", "bearer x" * 50])
def test_bad_credentials_give_401(client: Any, header: str) -> None:
    resp = client.get("/v1/alerts", headers={"Authorization": header})
    assert resp.status_code == 401


def test_revoked_token_gives_401(client: Any, seeded: dict[str, Any]) -> None:
    token = seeded["tokens"]["analyst"]
    assert client.get("/v1/alerts", headers=_b(seeded, "analyst")).status_code == 200
    token_id = token[4:].split("_", 1)[0]
    assert client.delete(f"/v1/tokens/{token_id}", headers=_b(seeded, "admin")).status_code == 200
    assert client.get("/v1/alerts", headers=_b(seeded, "analyst")).status_code == 401


def test_each_role_is_refused_where_it_does_not_belong(client: Any, seeded: dict[str, Any]) -> None:
    refused = 0
    for method, path, allowed in _routes(client.app):
        if path in PUBLIC or allowed is None:
            continue
        for role in ROLES:
            resp = _call(client, method, path, _b(seeded, role))
            if role in allowed:
                assert resp.status_code != 403, (role, method, path, resp.text)
            else:
                assert resp.status_code == 403, (role, method, path, resp.status_code, resp.text)
                assert "may not" in resp.json()["detail"]
                refused += 1
    assert refused >= 40


def test_role_table_matches_the_design(client: Any) -> None:
    table = {(m, p): r for m, p, r in _routes(client.app)}
    assert table[("GET", "/v1/alerts")] == {"analyst", "supervisor", "auditor"}
    assert table[("POST", "/v1/alerts/{alert_id}/disposition")] == {"analyst", "supervisor"}
    assert table[("POST", "/v1/tokens")] == {"admin"}
    assert table[("GET", "/v1/audit/verify")] == {"auditor", "admin"}
    assert table[("POST", "/v1/alerts")] == {"machine"}
    assert table[("GET", "/v1/me")] is None


def test_case_workflow_roles(client: Any, seeded: dict[str, Any]) -> None:
    a = seeded["ids"]["alerts"][0]
    case_id = client.post("/v1/cases", json={"alert_ids": [a]}, headers=_b(seeded, "analyst")).json()["case_id"]
    r = client.post(f"/v1/cases/{case_id}/status", json={"status": "reported"}, headers=_b(seeded, "analyst"))
    assert r.status_code == 409  # open → reported is not a move
    r = client.post(f"/v1/cases/{case_id}/status", json={"status": "under_review"}, headers=_b(seeded, "analyst"))
    assert r.status_code == 200
    r = client.post(f"/v1/cases/{case_id}/status", json={"status": "reported"}, headers=_b(seeded, "analyst"))
    assert r.status_code == 403
    r = client.post(f"/v1/cases/{case_id}/status", json={"status": "reported"}, headers=_b(seeded, "supervisor"))
    assert r.status_code == 200
    assert client.get(f"/v1/cases/{case_id}", headers=_b(seeded, "auditor")).json()["status"] == "reported"


def test_ui_pages_redirect_to_login_and_csrf_is_enforced(client: Any, seeded: dict[str, Any]) -> None:
    for page in ("/alerts", "/cases", "/trace", "/screening", f"/alerts/{seeded['ids']['alerts'][0]}"):
        resp = client.get(page, follow_redirects=False)
        assert resp.status_code == 303 and resp.headers["location"] == "/login"
    resp = client.post("/login", data={"username": "u_analyst", "password": "wrong-password"})
    assert resp.status_code == 401
    resp = client.post("/login", data={"username": "u_analyst", "password": "password-analyst"}, follow_redirects=False)
    assert resp.status_code == 303
    assert client.get("/v1/alerts").status_code == 200  # cookie works for reads
    a = seeded["ids"]["alerts"][0]
    body = {"disposition": "false_positive", "comment": "x"}
    assert client.post(f"/v1/alerts/{a}/disposition", json=body).status_code == 403  # no CSRF header
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/alerts").text)
    assert csrf
    r = client.post(f"/v1/alerts/{a}/disposition", json=body, headers={"X-CSRF-Token": csrf.group(1)})
    assert r.status_code == 200


INJECTIONS = [
    "' OR '1'='1",
    "x'; DROP TABLE alerts; --",
    '" OR 1=1 --',
    "%' UNION SELECT password_hash FROM users --",
    "A-1482f5160fac' --",
    "<script>alert(1)</script>",
    "a\u202eb\u00e9\u4e2d",
]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_in_filters_and_search(client: Any, seeded: dict[str, Any], payload: str) -> None:
    h = _b(seeded, "analyst")
    total = client.get("/v1/alerts", headers=h).json()["total"]
    for param in ("rule", "indicator", "vector", "typology", "source", "assignee", "q"):
        r = client.get("/v1/alerts", params={param: payload}, headers=h)
        assert r.status_code == 200, (param, r.text)
        assert r.json()["total"] == 0, (param, payload)
    r = client.get("/v1/alerts", params={"sort": payload}, headers=h)
    assert r.status_code == 422
    r = client.get("/v1/parties", params={"q": payload}, headers=h)
    assert r.status_code == 200 and r.json()["items"] == []
    assert "password_hash" not in r.text
    r = client.get("/v1/transactions", params={"account": payload}, headers=h)
    assert r.status_code == 200 and r.json()["items"] == []
    assert client.get(f"/v1/trace/{payload.replace('/', '')}", headers=h).status_code in (404, 400)
    assert client.get(f"/v1/alerts/{payload.replace('/', '')}", headers=h).status_code == 404
    # nothing dropped, nothing leaked
    assert client.get("/v1/alerts", headers=h).json()["total"] == total
    r = client.get("/alerts", params={"q": payload})
    assert "<script>alert(1)</script>" not in r.text


def test_errors_are_json_with_status(client: Any, seeded: dict[str, Any]) -> None:
    h = _b(seeded, "analyst")
    r = client.get("/v1/cases/C-none", headers=h)
    assert r.status_code == 404 and r.json() == {"detail": "no case 'C-none'"}
    r = client.post("/v1/cases", json={}, headers=h)
    assert r.status_code == 400 and "title" in r.json()["detail"]
    r = client.get("/v1/trace/010:PH000", params={"hops": 0}, headers=h)
    assert r.status_code == 422
