from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from filiere.config import load_settings
from filiere.errors import UserInputError
from filiere.model.schemas import PARTY_SCHEMA
from filiere.store import open_store
from filiere.vectors.trade.hs import describe, hs_path, load_hs
from filiere.vectors.trade.ingest import ingest_trade, normalise_table, store_trade
from filiere.vectors.trade.price import ScanConfig, ranked_flags, scan
from filiere.vectors.trade.synth import generate


def _constructed(tmp_path: Path) -> Path:
    """40 rice imports CI→NE at ~0.5 USD/kg, 3 below-threshold pair obs on another lane, and planted outliers."""
    rng = np.random.default_rng(0)
    lines = ["trade_id,date,flow,hs_code,quantity,unit,value,currency,origin,destination,importer,exporter"]
    d0 = date(2025, 1, 1)
    for i in range(40):
        q = 1000.0
        p = 0.5 * float(np.exp(rng.normal(0, 0.05)))
        lines.append(f"R{i},{d0 + timedelta(days=i)},import,1006.30,{q},kg,{q * p:.2f},USD,CI,NE,IMP1,EXP1")
    lines.append(f"HIGH,{d0 + timedelta(days=41)},import,100630,1000,kg,5000,USD,CI,NE,IMP1,EXP1")  # 10x
    lines.append(f"OK,{d0 + timedelta(days=42)},import,100630,1000,kg,515,USD,CI,NE,IMP1,EXP1")
    # few observations on a second lane: the world distribution decides
    for i in range(3):
        lines.append(f"W{i},{d0 + timedelta(days=43 + i)},import,100630,1000,kg,{500 + i},USD,SN,ML,IMP2,EXP2")
    lines.append(f"WHIGH,{d0 + timedelta(days=47)},import,100630,1000,kg,9000,USD,SN,ML,IMP2,EXP2")
    # exports: under-invoiced one among normal ones
    for i in range(30):
        lines.append(f"E{i},{d0 + timedelta(days=i)},export,100630,1000,kg,{480 + i},USD,NE,NG,IMP3,EXP3")
    lines.append(f"ELOW,{d0 + timedelta(days=31)},export,100630,1000,kg,60,USD,NE,NG,IMP3,EXP3")
    lines.append(f"EHIGH,{d0 + timedelta(days=32)},export,100630,1000,kg,5000,USD,NE,NG,IMP3,EXP3")  # not money out
    # medicaments from an unlikely origin, imported by a car dealer (SPLGI); gold exported from Togo
    lines.append(f"PH,{d0 + timedelta(days=50)},import,300490,100,kg,4000,EUR,LY,NE,CARS,EXPX")
    lines.append(f"AU,{d0 + timedelta(days=50)},export,710812,2,kg,120000,USD,TG,AE,IMPX,GOLDX")
    p = tmp_path / "trade.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_price_filter_on_constructed_data(workspace: Path, tmp_path: Path) -> None:
    settings = load_settings(workspace)
    with open_store(settings) as store:
        assert ingest_trade(store, _constructed(tmp_path)) == 80
        given = {"party_id": ["CARS"], "schema": ["Company"], "entity_type": ["car_dealer"]}
        full = pa.table({f.name: given.get(f.name, pa.nulls(1, f.type)) for f in PARTY_SCHEMA}, schema=PARTY_SCHEMA)
        store.insert_arrow("parties", full)
        rep = scan(store, ScanConfig(min_pair_obs=10))
        flags = {
            (r[0], r[1]): r for r in store.query("SELECT trade_id, rule, ref_level, robust_z, detail FROM trade_flags")
        }
        alerts = store.query_dicts("SELECT * FROM alerts WHERE source = 'tbml'")
    assert ("HIGH", "price_high_import") in flags and flags[("HIGH", "price_high_import")][2] == "pair"
    assert flags[("HIGH", "price_high_import")][3] > 10
    assert ("OK", "price_high_import") not in flags
    assert ("WHIGH", "price_high_import") in flags and flags[("WHIGH", "price_high_import")][2] == "world"
    assert ("ELOW", "price_low_export") in flags
    assert not any(k[0] == "EHIGH" for k in flags)  # over-priced export brings money in: not this screen
    assert ("PH", "unlikely_origin") in flags and ("PH", "goods_business") in flags
    assert ("AU", "unlikely_origin") in flags
    assert not any(
        k[0].startswith(("R", "E", "W")) and k[0] not in ("WHIGH",) and k[0] not in ("ELOW", "EHIGH") for k in flags
    )
    assert rep.flags["goods_business"] == 1
    by_id = {json.loads(a["explanation"])["trade"]["hs6"] + a["dedup_key"]: a for a in alerts}
    ph = by_id["300490tbml|PH"]
    assert "SPLGI" in ph["indicator_codes"] and ph["party_ids"] == ["CARS", "EXPX"]
    assert "SPOPS" in by_id["710812tbml|AU"]["indicator_codes"]
    assert "median" in json.loads(by_id["100630tbml|HIGH"]["explanation"])["summary"]


def test_currency_conversion_and_errors(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_text(
        "date,hs_code,quantity,unit,value,currency,origin,destination\n2025-01-01,300490,10,kg,1000,EUR,IN,NE\n"
    )
    from filiere.vectors.trade.ingest import _read

    t = normalise_table(_read(p), p)
    assert t.column("value_usd")[0].as_py() == pytest.approx(1080.0)
    assert t.column("flow")[0].as_py() == "import"
    p.write_text(
        "date,hs_code,quantity,unit,value,currency,origin,destination\n2025-01-01,3004,10,kg,1000,USD,IN,NE\n2025-01-01,300490,-1,kg,1,USD,IN,NE\n"
    )
    with pytest.raises(UserInputError, match=r"rows 2: field .quantity."):
        normalise_table(_read(p), p)
    p.write_text(
        "date,hs_code,quantity,unit,value,currency,origin,destination\n2025-01-01,300490,10,kg,1000,ZZZ,IN,NE\n"
    )
    with pytest.raises(UserInputError, match="currency"):
        normalise_table(_read(p), p)


def test_generated_world_schemes_are_found(workspace: Path) -> None:
    w = generate(20_000, seed=3)
    truth = w.truth
    assert 150 <= truth.sum() <= 250
    with open_store(load_settings(workspace)) as store:
        store_trade(store, normalise_table(w.trades, Path("synthetic")))
        store.insert_arrow("parties", w.parties)
        scan(store, raise_alerts=False)
        top = ranked_flags(store, limit=int(truth.sum())).to_pylist()
        tram = store.query(
            "SELECT count(*) FROM trade_flags f JOIN trade_transactions t USING (trade_id) "
            "WHERE t.scheme = 'tramadol' AND f.rule = 'goods_business'"
        )[0][0]
    precision = sum(1 for r in top if r["is_misinvoiced"]) / len(top)
    assert precision > 0.8
    assert tram > 0  # front companies importing medicaments


def test_hs_descriptions(shared_data: Path) -> None:
    hs = load_hs(hs_path(shared_data))
    assert "Horses" in hs["0101"]
    assert describe(hs, "30049099").lower().startswith("medicaments")
