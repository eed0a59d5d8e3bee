from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from filiere.config import load_settings
from filiere.store import open_store
from filiere.vectors.crypto.graph import CryptoGraph
from filiere.vectors.crypto.synth import generate
from filiere.vectors.crypto.tagpacks import read_tagpack, store_tags
from filiere.vectors.crypto.trace import exposure, trace


def _chain() -> CryptoGraph:
    # S(seed) -10-> A ; X -10-> A (clean) ; A -4-> B ; A -16-> EX (exchange) ; B -4-> C
    nodes = ["BTC:S", "BTC:A", "BTC:X", "BTC:B", "BTC:EX", "BTC:C"]
    src = np.array([0, 2, 1, 1, 3])
    dst = np.array([1, 1, 3, 4, 5])
    amt = np.array([10.0, 10.0, 4.0, 16.0, 4.0])
    ts = np.array([1, 2, 3, 4, 5])
    return CryptoGraph.from_arrays(src, dst, amt, ts, nodes)


def test_haircut_shares_and_conservation() -> None:
    g = _chain()
    r = trace(g, ["BTC:S"], services={"BTC:EX": "Exchange"}, method="haircut")
    assert r.emitted == 10.0
    # A holds 10 tainted of 20: half of every outflow is tainted
    co = {c.account_id: c for c in r.cash_outs}
    assert co["BTC:EX"].tainted_value == pytest.approx(8.0)
    assert co["BTC:EX"].share_of_inflow == pytest.approx(0.5)
    t = r.taint
    assert t is not None
    assert t.taint_in[g.index()["BTC:C"]] == pytest.approx(2.0)
    # value conserved: what left the seed is held somewhere at the end
    assert t.taint_held.sum() == pytest.approx(r.emitted)
    hop1 = r.hops[0]
    assert hop1["hop"] == 1 and hop1["tainted_share"] == pytest.approx(0.5)


def test_poison_taints_in_full_and_respects_time() -> None:
    g = _chain()
    r = trace(g, ["BTC:S"], services={"BTC:EX": "Exchange"}, method="poison")
    assert {c.account_id: c.tainted_value for c in r.cash_outs}["BTC:EX"] == pytest.approx(16.0)
    # an edge before the source was reached carries nothing: trace from X (ts 2) never reaches S's edge (ts 1)
    r2 = trace(g, ["BTC:X"], method="poison")
    assert r2.taint is not None and r2.taint.hop[g.index()["BTC:S"]] == -1


def test_hop_limit_keeps_taint() -> None:
    g = _chain()
    r = trace(g, ["BTC:S"], method="haircut", max_hops=1)
    assert r.taint is not None
    assert r.taint.taint_in[g.index()["BTC:B"]] == 0.0
    assert r.taint.taint_held.sum() == pytest.approx(10.0)


def test_generated_scheme_cash_outs_are_recovered() -> None:
    w = generate(30_000, n_schemes=4, seed=5)
    g = w.graph()
    sv = w.services()
    for s in w.schemes:
        r = trace(g, [s.ransom], services=sv, max_hops=64)
        found = {c.account_id for c in r.cash_outs}
        assert set(s.cash_outs) <= found
        assert r.taint is not None
        back = r.taint.edge_taint[
            np.isin(g.dst[r.taint.edge_ids], r.taint.seeds) & ~np.isin(g.src[r.taint.edge_ids], r.taint.seeds)
        ].sum()
        assert r.taint.taint_held.sum() + back == pytest.approx(r.emitted, rel=1e-9)


def test_exposure_within_hops() -> None:
    g = _chain()
    tags = {"BTC:S": ("ransomware", "LockBit")}
    t = exposure(g, ["BTC:A", "BTC:C"], tags, max_hops=1).to_pylist()
    assert [r["wallet"] for r in t] == ["BTC:A"]
    assert t[0]["exposure"] == pytest.approx(0.5) and t[0]["direct_share"] == pytest.approx(0.5)
    t3 = {r["wallet"]: r for r in exposure(g, ["BTC:A", "BTC:C"], tags, max_hops=3).to_pylist()}
    assert t3["BTC:C"]["exposure"] == pytest.approx(0.5) and t3["BTC:C"]["nearest_hop"] == 3


def test_stix_bundle_parses() -> None:
    stix2 = pytest.importorskip("stix2")
    from filiere.vectors.crypto.stix import bundle_for

    g = _chain()
    r = trace(g, ["BTC:S"], services={"BTC:EX": "Exchange"})
    text = bundle_for([r], {"BTC:S": ("ransomware", "LockBit")})
    b = stix2.parse(text, allow_custom=True)
    types = [o["type"] for o in b.objects]
    assert types.count("cryptocurrency-wallet") == 2
    ind = next(o for o in b.objects if o["type"] == "indicator")
    assert ind["pattern"] == "[cryptocurrency-wallet:value = 'S']"
    rels = {o["relationship_type"] for o in b.objects if o["type"] == "relationship"}
    assert rels == {"based-on", "indicates", "related-to"}
    mal = next(o for o in b.objects if o["type"] == "malware")
    assert mal["name"] == "LockBit" and mal["is_family"] is True
    rel = next(o for o in json.loads(text)["objects"] if o.get("relationship_type") == "related-to")
    assert rel["x_filiere_tainted_value"] == pytest.approx(8.0)


def test_tagpacks_categories(shared_data: Path) -> None:
    t = read_tagpack(shared_data / "crypto" / "tagpack_aft-alqaeda-forfeit_vc.yaml")
    assert t.num_rows == 155 and set(t.column("category").to_pylist()) == {"terrorism"}
    o = read_tagpack(shared_data / "crypto" / "tagpack_ofac.yaml")
    assert set(o.column("category").to_pylist()) == {"sanctions"}
    assert "ETH" in set(o.column("chain").to_pylist())


def test_store_trace_writes_alerts(workspace: Path) -> None:
    from filiere.vectors.crypto.service import exposure_for, stix_for, trace_addresses

    w = generate(20_000, n_schemes=2, seed=9)
    with open_store(load_settings(workspace)) as store:
        store.insert_arrow("transactions", w.transactions())
        store.insert_arrow("accounts", w.accounts())
        store_tags(store, w.tags)
        res, n = trace_addresses(store, [w.schemes[0].ransom.split(":", 1)[1]], max_hops=64)
        assert n == len(res.cash_outs) == len(w.schemes[0].cash_outs)
        a = store.query_dicts("SELECT * FROM alerts WHERE source = 'crypto' ORDER BY score DESC")[0]
        assert a["indicator_codes"] == ["SPOVC"] and a["party_ids"][0].startswith("XCUST-")
        assert a["typology"] == "ransomware-cash-out"
        assert trace_addresses(store, [w.schemes[0].ransom], max_hops=64)[1] == 0  # idempotent
        peel = w.schemes[1].chain[3]
        tab, n2 = exposure_for(store, wallets=[peel], max_hops=8)
        assert tab.column("exposure")[0].as_py() > 0.5 and n2 == 1
        assert '"cryptocurrency-wallet"' in stix_for(store, [w.schemes[1].ransom], max_hops=64)
