"""The crime-vector files of a world: present, deterministic, consistent with the truth and the transactions."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from filiere.scenario import generate
from filiere.scenario.addresses import is_valid_address

VECTOR_FILES = ("art_offers.csv", "trade.csv", "trade_parties.csv", "crypto_tags.yaml", "truth.json")
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vec")
    generate("sahel", 20_000, 21, out, shared_data=SHARED)
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_vector_files_exist_and_are_deterministic(small: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate("sahel", 20_000, 21, again, shared_data=SHARED)
    for name in (*VECTOR_FILES, "transactions.csv", "accounts.csv", "parties.ftm.jsonl"):
        a, b = (small / name).read_bytes(), (again / name).read_bytes()
        assert a, name
        assert hashlib.sha256(a).digest() == hashlib.sha256(b).digest(), name


def test_small_world_holds_one_scheme_per_vector(small: Path) -> None:
    truth = json.loads((small / "truth.json").read_text())
    patterns = {s["pattern"] for s in truth["schemes"]}
    assert {"ANTIQUITIES", "PEEL-CHAIN", "STRUCTURING"} <= patterns
    assert any(s["notes"].get("route") == "trading company" for s in truth["schemes"] if s["pattern"] == "STRUCTURING")
    assert truth["untyped_rows"] / truth["illicit_rows"] >= 0.2


def test_art_offers_link_to_scheme_rows_and_register(small: Path) -> None:
    truth = json.loads((small / "truth.json").read_text())
    art = truth["vectors"]["art"]
    offers = _rows(small / "art_offers.csv")
    assert len(offers) == art["offers"] and len(offers) > len(art["stolen"]) >= 2
    schemes = {s["id"]: s for s in truth["schemes"]}
    register = _rows(SHARED / "art" / "fbi_nsaf.csv") if SHARED.exists() else []
    tx = (small / "transactions.csv").read_bytes()
    dealer: dict[str, str] = {}
    prefix = hashlib.sha256(tx).hexdigest()[:8]
    for st in art["stolen"]:
        o = offers[st["offer_row"] - 1]
        s = schemes[st["scheme"]]
        assert s["pattern"] == "ANTIQUITIES" and s["notes"]["fbi_reference"] == st["reference_number"]
        # the purchase is the scheme's first (labelled) row; the resale is a context row
        assert int(o["Tx Row"]) in (s["rows"] if st["sale"] == "purchase" else s["context_rows"])
        assert o["Tx ID"] == f"{prefix}:{o['Tx Row']}"
        if st["sale"] == "purchase":  # the shell company sells to the dealer
            assert o["Seller Party ID"] in s["parties"]
            dealer[st["scheme"]] = o["Buyer Party ID"]
        else:  # the dealer resells
            assert o["Seller Party ID"] == dealer[st["scheme"]]
        if register:
            rec = register[st["register_row"] - 1]  # reference numbers repeat: the row names the record
            assert rec["Reference Number"] == st["reference_number"] and rec["Title"] == st["register_title"]
            assert rec["Maker/Artist"].split()[-1].lower() in o["Maker/Artist"].lower()
    stolen_rows = {st["offer_row"] for st in art["stolen"]}
    legit = [o for i, o in enumerate(offers, start=1) if i not in stolen_rows]
    assert legit and all(o["Seller Party ID"] and o["Tx Row"] for o in legit)


def test_trade_file_has_tramadol_scheme_and_gold(small: Path) -> None:
    truth = json.loads((small / "truth.json").read_text())
    trade = truth["vectors"]["trade"]
    rows = {r["trade_id"]: r for r in _rows(small / "trade.csv")}
    assert len(rows) == trade["declarations"]
    tram = [s for s in trade["schemes"] if s["kind"] == "tramadol"]
    assert tram
    structuring = {s["id"]: s for s in truth["schemes"] if s["pattern"] == "STRUCTURING"}
    for s in tram:
        assert s["party"] in structuring[s["scheme"]]["parties"]
        for tid in s["trade_ids"]:
            r = rows[tid]
            assert r["hs_code"].startswith("3004") and r["flow"] == "import" and r["importer"] == s["party"]
            assert r["is_misinvoiced"] == "true"
    roles = {r["party_id"]: r["entity_type"] for r in _rows(small / "trade_parties.csv")}
    assert roles[tram[0]["party"]] == "general_trading"
    assert any(r["hs_code"].startswith("7108") and r["is_misinvoiced"] == "false" for r in rows.values())
    assert all(r["importer"] in roles and r["exporter"] in roles for r in rows.values())


def test_bitcoin_accounts_are_valid_addresses_and_ransom_is_real(small: Path) -> None:
    truth = json.loads((small / "truth.json").read_text())
    btc = [r for r in _rows(small / "accounts.csv") if r["Bank ID"] == "BTC"]
    assert btc and all(is_valid_address(r["Account Number"]) for r in btc)
    ransom = truth["vectors"]["crypto"]["ransom"]
    assert ransom
    numbers = {r["Account Number"] for r in btc}
    for r in ransom:
        assert r["address"] in numbers and r["account"] == f"BTC:{r['address']}"
        assert r["cash_out_account"] in {e["account"] for e in truth["vectors"]["crypto"]["exchanges"]}
    if SHARED.exists():
        from filiere.vectors.crypto.tagpacks import read_tagpack

        tags = read_tagpack(SHARED / "crypto" / "tagpack_ransomware.yaml")
        real = dict(zip(tags.column("address").to_pylist(), tags.column("category").to_pylist(), strict=True))
        assert all(real.get(r["address"]) == "ransomware" for r in ransom)
    # the world's own tagpack reads back: exchanges and ransom addresses
    from filiere.vectors.crypto.tagpacks import read_tagpack

    own = read_tagpack(small / "crypto_tags.yaml")
    cats = dict(zip(own.column("address").to_pylist(), own.column("category").to_pylist(), strict=True))
    assert all(cats[r["address"]] == "ransomware" for r in ransom)
    assert sum(1 for c in cats.values() if c == "exchange") == len(truth["vectors"]["crypto"]["exchanges"])


def test_fallback_register_and_amlworld_flag(tmp_path: Path) -> None:
    empty = tmp_path / "no-shared"
    empty.mkdir()
    generate("sahel", 5_000, 3, tmp_path / "s", shared_data=empty)
    truth = json.loads((tmp_path / "s" / "truth.json").read_text())
    assert truth["vectors"]["art"]["register"]["file"] == "fbi_nsaf_sample.csv"
    assert truth["vectors"]["art"]["stolen"]
    generate("amlworld-hi", 5_000, 3, tmp_path / "plain")
    assert not (tmp_path / "plain" / "art_offers.csv").exists()
    assert "vectors" not in json.loads((tmp_path / "plain" / "truth.json").read_text())
    generate("amlworld-hi", 5_000, 3, tmp_path / "hi", vectors=True, shared_data=empty)
    assert (tmp_path / "hi" / "trade.csv").exists() and (tmp_path / "hi" / "crypto_tags.yaml").exists()
