"""The sahel world's crime vectors through the real commands: stolen offers match their FBI records
top-1 and raise PCAN alerts linked to the sale's parties; the drug scheme's tramadol over-invoicing
is flagged by ``trade scan``; the ransom address is tagged by the real tagpack and traced to the
exchange cash-out (SPOVC)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
SHARED = (ROOT / ".." / "shared" / "data").resolve()


def _cli(ws: Path, *args: str) -> dict[str, Any]:
    from filiere.cli import app

    res = CliRunner().invoke(app, [*args, "--workspace", str(ws), "--json"])
    assert res.exit_code == 0, res.output
    out: dict[str, Any] = json.loads(res.output.strip().splitlines()[-1]) if res.output.strip() else {}
    return out


@pytest.fixture(scope="module")
def world_ws(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    if not SHARED.exists():
        pytest.skip("../shared/data is not beside this checkout")
    from filiere.scenario import generate
    from filiere.store import init_workspace

    base = tmp_path_factory.mktemp("vw")
    world, ws = base / "world", base / "ws"
    generate("sahel", 30_000, 8, world, shared_data=SHARED)
    init_workspace(ws)
    _cli(ws, "ingest", "transactions", str(world / "transactions.csv"), "--format", "amlworld",
         "--accounts", str(world / "accounts.csv"))  # fmt: skip
    _cli(ws, "ingest", "parties", str(world / "parties.ftm.jsonl"), "--format", "ftm")
    truth = json.loads((world / "truth.json").read_text())
    return world, ws, truth


def _alerts(ws: Path, source: str) -> list[dict[str, Any]]:
    from filiere.config import load_settings
    from filiere.store import open_store

    with open_store(load_settings(ws)) as store:
        return store.query_dicts(
            "SELECT source, indicator_codes, party_ids, tx_ids, account_ids, explanation FROM alerts WHERE source = ?",
            [source],
        )


def test_stolen_offers_match_their_records_top1(world_ws: tuple[Path, Path, dict[str, Any]]) -> None:
    world, ws, truth = world_ws
    _cli(ws, "art", "load", str(SHARED / "art" / "fbi_nsaf.csv"))
    out = world.parent / "matches.csv"
    rep = _cli(ws, "art", "match", str(world / "art_offers.csv"), "--out", str(out))
    stolen = truth["vectors"]["art"]["stolen"]
    assert stolen and rep["matched"] == len(stolen) and rep["alerts"] == len(stolen)  # no false match
    with out.open(encoding="utf-8", newline="") as fh:
        top1 = {int(r["query_row"]): r for r in csv.DictReader(fh) if r["rank"] == "1"}
    for st in stolen:
        best = top1[st["offer_row"]]
        assert best["reference_number"] == st["reference_number"]
        assert best["candidate_title"] == st["register_title"]
        assert float(best["score"]) >= 0.75
    offers = list(csv.DictReader((world / "art_offers.csv").open(encoding="utf-8", newline="")))
    alerts = _alerts(ws, "art")
    for st in stolen:
        o = offers[st["offer_row"] - 1]
        hit = [a for a in alerts if o["Tx ID"] in (a["tx_ids"] or [])]
        assert len(hit) == 1 and hit[0]["indicator_codes"] == ["PCAN"]
        assert set(hit[0]["party_ids"]) == {o["Seller Party ID"], o["Buyer Party ID"]}


def test_tramadol_over_invoicing_is_flagged(world_ws: tuple[Path, Path, dict[str, Any]]) -> None:
    world, ws, truth = world_ws
    rep = _cli(ws, "trade", "ingest", str(world / "trade.csv"), "--parties", str(world / "trade_parties.csv"))
    assert rep["rows"] == truth["vectors"]["trade"]["declarations"] and rep["parties"] > 0
    scan = _cli(ws, "trade", "scan", "--top", "1000")
    flagged = {r["trade_id"]: r for r in scan["top"]}
    tram = [s for s in truth["vectors"]["trade"]["schemes"] if s["kind"] == "tramadol"]
    assert tram
    for s in tram:
        for tid in s["trade_ids"]:
            assert tid in flagged
            assert {"price_high_import", "goods_business"} <= set(flagged[tid]["rules"])
    gold = [t for s in truth["vectors"]["trade"]["schemes"] if s["kind"] == "gold_transit" for t in s["trade_ids"]]
    assert all("unlikely_origin" in flagged[t]["rules"] for t in gold)
    alerts = _alerts(ws, "tbml")
    splgi = [a for a in alerts if "SPLGI" in (a["indicator_codes"] or [])]
    assert splgi and all(tram[0]["party"] in a["party_ids"] for a in splgi)


def test_ransom_address_tagged_and_traced_to_cash_out(world_ws: tuple[Path, Path, dict[str, Any]]) -> None:
    world, ws, truth = world_ws
    ransom = truth["vectors"]["crypto"]["ransom"]
    assert ransom
    counts = _cli(ws, "crypto", "tags", str(SHARED / "crypto" / "tagpack_ransomware.yaml"))
    assert counts["tagpack_ransomware"] > 1000
    from filiere.config import load_settings
    from filiere.store import open_store
    from filiere.vectors.crypto.tagpacks import tagged_accounts

    with open_store(load_settings(ws)) as store:
        tagged = tagged_accounts(store, ["ransomware"])
    assert all(r["account"] in tagged for r in ransom)  # the real tagpack flags the world's ransom address
    _cli(ws, "crypto", "tags", str(world / "crypto_tags.yaml"))  # the world's exchanges
    res = _cli(ws, "crypto", "trace", "--tagged")
    traces = {t["sources"][0]: t for t in res["traces"]}
    for r in ransom:
        t = traces[r["account"]]
        outs = {c["account_id"]: c for c in t["cash_outs"]}
        assert r["cash_out_account"] in outs and outs[r["cash_out_account"]]["tainted_value"] > 0
    alerts = _alerts(ws, "crypto")
    assert any(a["indicator_codes"] == ["SPOVC"] and ransom[0]["exchange_party"] in a["party_ids"] for a in alerts)
