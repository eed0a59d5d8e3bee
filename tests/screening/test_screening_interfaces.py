from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from filiere.cli import app
from filiere.config import load_settings
from filiere.store import open_store

runner = CliRunner()


@pytest.fixture()
def loaded(workspace: Path, fixtures: Path) -> Path:
    for f, fmt in (
        ("un_v1.xml", "un-xml"),
        ("ofac_advanced_sample.xml", "ofac-xml"),
        ("opensanctions_sample.ftm.json", "ftm"),
    ):
        res = runner.invoke(app, ["lists", "load", str(fixtures / f), "--format", fmt, "-w", str(workspace), "--json"])
        assert res.exit_code == 0, res.output
    return workspace


def _json(args: list[str]) -> dict[str, Any]:
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    out: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def test_lists_load_and_show(loaded: Path, fixtures: Path) -> None:
    out = _json(["lists", "load", str(fixtures / "un_v2.xml"), "-f", "un-xml", "-w", str(loaded), "--json"])
    assert (out["added"], out["removed"], out["amended"]) == (1, 1, 1)
    shown = _json(["lists", "show", "-w", str(loaded), "--json"])
    assert {r["list_id"] for r in shown["lists"]} == {"un", "ofac", "ftm:un_sc_sanctions+us_ofac_sdn"}


def test_lists_load_bad_file_is_clean_error(loaded: Path, tmp_path: Path) -> None:
    from filiere.cli import main  # noqa: F401 - the entry point prints FiliereError as one line

    bad = tmp_path / "bad.xml"
    bad.write_text("<CONSOLIDATED_LIST><oops>", encoding="utf-8")
    res = runner.invoke(app, ["lists", "load", str(bad), "-f", "un-xml", "-w", str(loaded)])
    assert res.exit_code != 0
    assert "not well-formed XML" in str(res.exception)
    with open_store(load_settings(loaded), read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM list_versions") == 3


def test_screen_name_and_address(loaded: Path) -> None:
    out = _json(["screen", "أيمن محمد ربيع الظواهري", "-w", str(loaded), "--json"])
    assert out["results"][0]["entity_id"] == "un:QDi.006" and out["results"][0]["match"]
    out = _json(["screen", "Ayman Zawahiri", "--birth-date", "1951", "--country", "eg", "--schema", "Person",
                 "-w", str(loaded), "--json"])  # fmt: skip
    assert out["results"][0]["match"] and out["results"][0]["explanation"]
    out = _json(["screen", "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359", "-w", str(loaded), "--json"])
    assert out["address_check"]["valid"] and out["results"][0]["entity_id"] == "ftm:NK-wallet-1"


def test_screen_batch_and_pairs(loaded: Path, tmp_path: Path) -> None:
    inp = tmp_path / "in.csv"
    inp.write_text("name,birth_date,country,schema\nAyman al-Zawahiri,1951,eg,Person\nJohn Smith,,,\n"
                   "Al Rasheed Trust,,,Organization\n", encoding="utf-8")  # fmt: skip
    out = tmp_path / "out.csv"
    stats = _json(["screen", "batch", str(inp), "--out", str(out), "-w", str(loaded), "--json"])
    assert stats["queries"] == 3 and stats["queries_with_hits"] == 2
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert {r["entity_id"] for r in rows} >= {"un:QDi.006", "un:QDe.005"}
    assert all(r["explanation"] and float(r["score"]) >= 0.7 for r in rows)
    assert not any(r["name"] == "John Smith" for r in rows)

    pairs = tmp_path / "pairs.csv"
    pairs.write_text("name1,name2\nAyman al-Zawahiri,أيمن الظواهري\nAyman al-Zawahiri,Marie Dupont\n", encoding="utf-8")
    pout = tmp_path / "pairs_out.csv"
    stats = _json(["screen", "pairs", str(pairs), "--out", str(pout), "-w", str(loaded), "--json"])
    rows = list(csv.DictReader(pout.open(encoding="utf-8")))
    assert [r["match"] for r in rows] == ["true", "false"] and stats["matches"] == 1


def test_screen_parties_writes_alerts(loaded: Path) -> None:
    with open_store(load_settings(loaded)) as store:
        store.execute(
            "INSERT INTO parties (party_id, schema, name, birth_date, nationality) VALUES "
            "('p1', 'Person', 'Aiman Al Zawahiri', '1951-06-19', 'eg'), ('p2', 'Person', 'Jane Doe', NULL, NULL)"
        )
        store.execute(
            "INSERT INTO accounts (account_id, bank, account_number, kind, owner_party_id) VALUES "
            "('btc:12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h', 'btc', '12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h', 'crypto', 'p2')"
        )
    out = _json(["screen", "parties", "-w", str(loaded), "--json"])
    assert out["parties"] == 2 and out["wallets"] == 1 and out["alerts_inserted"] >= 2
    again = _json(["screen", "parties", "-w", str(loaded), "--json"])
    assert again["alerts_inserted"] == 0  # idempotent
    with open_store(load_settings(loaded), read_only=True) as store:
        rows = store.query_dicts("SELECT party_ids, account_ids, indicator_codes, explanation FROM alerts")
    assert any(r["party_ids"] == ["p1"] and r["indicator_codes"] == ["SPOSI"] for r in rows)
    assert any(r["account_ids"] == ["btc:12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h"] for r in rows)
    assert all(json.loads(r["explanation"])["summary"].startswith("score") for r in rows)


def test_api_screen(loaded: Path) -> None:
    from filiere.screening.api import router

    api = FastAPI()
    api.state.settings = load_settings(loaded)
    api.include_router(router, prefix="/v1")
    client = TestClient(api)
    body = {
        "queries": {
            "a": {"schema": "Person", "properties": {"name": ["أيمن محمد ربيع الظواهري"], "birthDate": ["1951"]}},
            "b": {"schema": "Person", "properties": {"name": ["Jane Doe"]}},
            "c": {"schema": "CryptoWallet", "properties": {"publicKey": ["12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h"]}},
        }
    }
    res = client.post("/v1/screen", json=body)
    assert res.status_code == 200, res.text
    data = res.json()
    a = data["responses"]["a"]["results"][0]
    assert a["id"] == "un:QDi.006" and a["match"] and a["schema"] == "Person" and a["features"]
    assert not any(r["match"] for r in data["responses"]["b"]["results"])
    assert data["responses"]["c"]["results"][0]["id"] == "ofac:25308"
    assert client.post("/v1/screen", json={"queries": "nope"}).status_code == 422
