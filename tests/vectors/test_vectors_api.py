from __future__ import annotations

from pathlib import Path

import pytest

from filiere.config import load_settings
from filiere.store import open_store

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "vectors"


def test_vectors_api(workspace: Path) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from filiere.api.app import create_app
    from filiere.api.auth import add_user, create_token
    from filiere.vectors.art.service import load_register
    from filiere.vectors.crypto.synth import generate
    from filiere.vectors.crypto.tagpacks import store_tags

    settings = load_settings(workspace)
    w = generate(10_000, n_schemes=1, seed=2)
    with open_store(settings) as store:
        add_user(store, "ana", "analyst")
        add_user(store, "aud", "auditor")
        tok = create_token(store, "ana")
        aud = create_token(store, "aud")
        load_register(store, FIX / "nsaf_sample.csv")
        store.insert_arrow("transactions", w.transactions())
        store.insert_arrow("accounts", w.accounts())
        store_tags(store, w.tags)
    app = create_app(settings, web=False)
    assert "filiere.vectors.api" in app.state.optional_routers
    h = {"Authorization": f"Bearer {tok}"}
    with TestClient(app) as c:
        body = {"objects": [{"title": "Two White Stars", "maker": "Calder", "seller_party_id": "P1"}]}
        r = c.post("/v1/art/match", json=body, headers=h)
        assert r.status_code == 200, r.text
        assert r.json()["results"][0]["candidates"][0]["reference_number"] == "00006"
        assert r.json()["alerts"] == 1
        assert c.post("/v1/art/match", json=body).status_code == 401
        assert c.post("/v1/art/match", json=body, headers={"Authorization": f"Bearer {aud}"}).status_code == 403
        r = c.post("/v1/crypto/trace", json={"addresses": [w.schemes[0].ransom], "max_hops": 64}, headers=h)
        assert r.status_code == 200, r.text
        assert {x["account_id"] for x in r.json()["cash_outs"]} == set(w.schemes[0].cash_outs)
        r = c.get("/v1/crypto/exposure", params={"wallet": w.schemes[0].chain[2], "max_hops": 4}, headers=h)
        assert r.status_code == 200 and r.json()["items"][0]["category"] == "ransomware"
        assert c.post("/v1/crypto/trace", json={"addresses": ["nope"]}, headers=h).status_code == 404
        r = c.get("/v1/trade/flags", headers=h)
        assert r.status_code == 200 and r.json()["items"] == []
