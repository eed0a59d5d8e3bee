"""The real-time service through the HTTP API (in-process app, one workspace per module)."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient


def tx(i: int, **over: Any) -> dict[str, Any]:
    base = {
        "id": f"T{i}",
        "timestamp": f"2022-09-11T{(i // 60) % 24:02d}:{i % 60:02d}:00",
        "from_bank": "001",
        "from_account": f"{i % 50:08X}",
        "to_bank": "002",
        "to_account": f"{(i * 7 + 3) % 50:08X}",
        "amount": 100.0 + i,
        "currency": "USD",
        "payment_format": "Wire",
    }
    return {**base, **over}


def _client(ws: Path, extra_config: str = "") -> TestClient:
    from filiere.api.app import create_app
    from filiere.config import load_settings
    from filiere.realtime.api import FastPath

    if extra_config:
        with (ws / "filiere.yml").open("a", encoding="utf-8") as fh:
            fh.write(extra_config)
    # as both servers run it: POST /v1/transactions with a bearer token takes FastPath's own reader
    return TestClient(FastPath(create_app(load_settings(ws), web=False)))


@pytest.fixture(scope="module")
def api(rt_template: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    ws = tmp_path_factory.mktemp("rt_api") / "ws"
    shutil.copytree(rt_template["workspace"], ws)
    with _client(ws) as c:
        tokens = rt_template["tokens"]
        c.headers["Authorization"] = f"Bearer {tokens['machine']}"
        yield {"client": c, "tokens": tokens, "workspace": ws, "version": rt_template["model_version"]}


def rows(api: dict[str, Any], sql: str) -> list[tuple[Any, ...]]:
    """Query the workspace through the app's store gate (the app holds the file between requests)."""
    with api["client"].app.state.store_gate.unit_of_work() as store:
        out: list[tuple[Any, ...]] = store.query(sql)
        return out


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_scores_one_and_a_batch(api: dict[str, Any]) -> None:
    c = api["client"]
    r = c.post("/v1/transactions", json=tx(1))
    assert r.status_code == 200, r.text
    one = r.json()
    assert one["id"] == "T1" and one["decision"] in ("pass", "alert", "hold")
    assert one["model_version"] == api["version"] and 0.0 <= one["score"] <= 1.0
    r = c.post("/v1/transactions", json=[tx(i) for i in range(2, 102)])
    assert r.status_code == 200
    many = r.json()
    assert [a["id"] for a in many] == [f"T{i}" for i in range(2, 102)]
    assert len({a["seq"] for a in many}) == 100 and min(a["seq"] for a in many) > one["seq"]


def test_needs_credentials_and_the_feed_role(api: dict[str, Any]) -> None:
    c = api["client"]
    assert c.post("/v1/transactions", json=tx(900), headers={"Authorization": ""}).status_code == 401
    assert c.post("/v1/transactions", json=tx(900), headers=auth("fil_bad_token")).status_code == 401
    assert c.post("/v1/transactions", json=tx(900), headers=auth(api["tokens"]["analyst"])).status_code == 403
    assert c.post("/v1/models/reload", headers=auth(api["tokens"]["machine"])).status_code == 403


def test_validation_errors_name_the_field(api: dict[str, Any]) -> None:
    c = api["client"]
    bad = tx(200, amount=-5, currency="Doubloon")
    del bad["to_account"]
    r = c.post("/v1/transactions", json=bad)
    assert r.status_code == 422
    locs = {tuple(e["loc"]) for e in r.json()["detail"]}
    assert ("body", "amount") in locs and ("body", "currency") in locs and ("body", "to_account") in locs
    r = c.post("/v1/transactions", json=[tx(201), tx(202, timestamp="yesterday")])
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["detail"]] == [["body", 1, "timestamp"]]
    # nothing of a rejected batch was taken
    assert c.post("/v1/transactions", json=tx(201)).json().get("duplicate") is None
    assert (
        c.post("/v1/transactions", content=b"{not json", headers={"content-type": "application/json"}).status_code
        == 422
    )


def test_duplicates_get_the_original_answer(api: dict[str, Any]) -> None:
    c = api["client"]
    first = c.post("/v1/transactions", json=tx(300)).json()
    again = c.post("/v1/transactions", json=tx(300, amount=999999.0)).json()
    assert again["duplicate"] is True
    assert {k: again[k] for k in first} == first
    # a duplicate inside one batch, and one that is already stored
    c.get("/v1/realtime/status?flush=1")
    both = c.post("/v1/transactions", json=[tx(301), tx(301), tx(300)]).json()
    assert both[0]["seq"] == both[1]["seq"] and both[1]["duplicate"] is True
    assert both[2]["seq"] == first["seq"] and both[2]["duplicate"] is True


def test_stored_once_with_alerts(api: dict[str, Any]) -> None:
    c = api["client"]
    # a burst into one mule account: the pattern the model was trained on
    burst = [
        tx(400 + n, to_account="MULE0001", amount=9500.0, payment_format="ACH",
           timestamp=f"2022-09-12T10:{n * 5:02d}:00")
        for n in range(8)
    ]  # fmt: skip
    answers = c.post("/v1/transactions", json=burst).json()
    status = c.get("/v1/realtime/status?flush=1").json()
    assert status["backlog"] == 0 and status["stored_seq"] == status["seq"]
    n, distinct = rows(api, "SELECT count(*), count(DISTINCT tx_id) FROM realtime_tx")[0]
    assert n == distinct == status["seq"]
    assert rows(api, "SELECT count(*) FROM transactions WHERE source_file_id = 'realtime'")[0][0] == n
    alerted = [a["id"] for a in answers if a["decision"] != "pass"]
    stored_alerts = rows(api, "SELECT unnest(tx_ids) FROM alerts WHERE source = 'realtime'")
    assert set(alerted) <= {r[0] for r in stored_alerts}
    assert any(a["decision"] == "alert" for a in answers), answers


def test_pacs008_xml(api: dict[str, Any], shared_data: Path) -> None:
    fixtures = sorted(Path(__file__).parents[1].glob("fixtures/io/*pacs*008*.xml"))
    if not fixtures:
        pytest.skip("no pacs.008 fixture")
    c = api["client"]
    r = c.post("/v1/transactions", content=fixtures[0].read_bytes(), headers={"content-type": "application/xml"})
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        assert isinstance(r.json(), list) and r.json()[0]["decision"] in ("pass", "alert", "hold")


def test_model_reload_changes_the_recorded_version(api: dict[str, Any]) -> None:
    from filiere.config import load_settings
    from filiere.scoring.model import load_current_model, models_dir, save_model, set_current

    c = api["client"]
    settings = load_settings(api["workspace"])
    model = load_current_model(settings)
    model.version = model.version + "-b"
    save_model(model, models_dir(settings))
    set_current(settings, model.version)
    r = c.post("/v1/models/reload", headers=auth(api["tokens"]["admin"]))
    assert r.status_code == 200 and r.json()["current"] == model.version and r.json()["changed"]
    assert c.post("/v1/transactions", json=tx(500)).json()["model_version"] == model.version
    c.get("/v1/realtime/status?flush=1")
    assert rows(api, "SELECT model_version FROM realtime_tx WHERE tx_id = 'T500'") == [(model.version,)]


def test_sse_delivers_an_alert(api: dict[str, Any]) -> None:
    c = api["client"]
    got: list[dict[str, Any]] = []
    ready = threading.Event()

    def listen() -> None:
        with c.stream("GET", "/v1/realtime/alerts/stream", headers=auth(api["tokens"]["analyst"])) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            for line in r.iter_lines():
                ready.set()
                if line.startswith("data: "):
                    got.append(json.loads(line[6:]))
                    return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert ready.wait(10)
    # a sanctions-style hold needs lists; an alert threshold of 0 makes any transaction alert
    svc = c.app.state.realtime  # type: ignore[attr-defined]
    svc.config.alert_threshold = 0.0
    try:
        ans = c.post("/v1/transactions", json=tx(600)).json()
    finally:
        svc.config.alert_threshold = None
    t.join(10)
    assert ans["decision"] == "alert"
    assert got and got[0]["tx_id"] == "T600" and got[0]["alert_id"] == ans["alert_id"]


def test_overload_answers_503_with_retry_after(rt_template: dict[str, Any], tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(rt_template["workspace"], ws)
    with _client(ws, "  max_in_flight: 5\n  warm_start: false\n") as c:
        c.headers["Authorization"] = f"Bearer {rt_template['tokens']['machine']}"
        r = c.post("/v1/transactions", json=[tx(i) for i in range(10)])
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert c.post("/v1/transactions", json=[tx(i) for i in range(5)]).status_code == 200
