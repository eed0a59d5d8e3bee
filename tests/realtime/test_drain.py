"""The drain's insert: a plain Arrow insert when no id is stored or repeated, the anti-join otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from filiere.config import load_settings
from filiere.realtime.service import _insert_new, _tables
from filiere.store import init_workspace, open_store
from filiere.store.base import Store


def _records(ids: list[str], first_seq: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for k, tid in enumerate(ids):
        seq = first_seq + k
        tx = {"id": tid, "ts": 1_700_000_000_000_000 + k, "from_bank": "1", "from_account": "1:A", "to_bank": "2",
              "to_account": "2:B", "amount_received": 10.0 + k, "receiving_currency": "USD", "amount_paid": 10.0 + k,
              "payment_currency": "USD", "payment_format": "Wire"}  # fmt: skip
        ans = {"id": tid, "seq": seq, "decision": "pass", "score": 0.1, "model_version": "m", "alert_id": None,
               "reasons": ()}  # fmt: skip
        out.append({"seq": seq, "eff": tx["ts"], "at": tx["ts"], "tx": tx, "answer": ans})
    return out


def _store(tmp_path: Path) -> Store:
    init_workspace(tmp_path / "ws")
    return open_store(load_settings(tmp_path / "ws"))


def test_new_ids_are_inserted_once_and_stored_or_repeated_ids_are_skipped(tmp_path: Path) -> None:
    with _store(tmp_path) as store:
        rt, tx, _ = _tables(_records(["a", "b", "c"], 1))
        _insert_new(store, "realtime_tx", rt, "seq")
        _insert_new(store, "transactions", tx, "source_row")
        # "b" stored already, "d" twice in the batch: the first by seq is kept, "b" keeps its first row
        rt, tx, _ = _tables(_records(["b", "d", "d", "e"], 4))
        _insert_new(store, "realtime_tx", rt, "seq")
        _insert_new(store, "transactions", tx, "source_row")
        _insert_new(store, "realtime_tx", rt.slice(0, 0), "seq")  # nothing to do
        rows = store.query("SELECT tx_id, seq FROM realtime_tx ORDER BY seq")
        txs = store.query("SELECT tx_id, source_row FROM transactions ORDER BY source_row")
    assert rows == [("a", 1), ("b", 2), ("c", 3), ("d", 5), ("e", 7)]
    assert txs == rows


def test_tables_columns_follow_the_records(tmp_path: Path) -> None:
    rt, tx, alerts = _tables(_records(["x", "y"], 10))
    assert rt.column("seq").to_pylist() == [10, 11]
    assert rt.column("tx_id").to_pylist() == ["x", "y"] and tx.column("source_row").to_pylist() == [10, 11]
    assert rt.column("reasons").null_count == 2 and not alerts
    assert tx.schema.field("ts").type == pa.timestamp("us")


def test_record_json_equals_one_dumps_per_record() -> None:
    import orjson

    from filiere.realtime.service import _json_each

    tricky = 'x,{"id":"y"}\\"'  # the separator inside strings (escaped there), a backslash
    recs = [
        {"id": tricky, "ts": 1, "amount_paid": 0.1},
        {"id": "b", "ts": 2, "parties": {"from": {"name": ',{"id":', "schema": "Person", "crypto": ["a"]}}},
        {"id": "c", "ts": 3, "amount_paid": 1e300},
    ]
    assert _json_each(recs).to_pylist() == [orjson.dumps(r).decode() for r in recs]
    assert _json_each(recs[:1]).to_pylist() == [orjson.dumps(recs[0]).decode()]
    assert _json_each([]).to_pylist() == []
    odd: list[dict[str, Any]] = [{"ts": 1, "id": "a"}, {"id": "b"}]  # not beginning with "id": one call per record
    assert _json_each(odd).to_pylist() == [orjson.dumps(r).decode() for r in odd]
