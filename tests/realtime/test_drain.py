"""The drain's insert: a plain Arrow insert when no id is stored or repeated, the anti-join otherwise."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from filiere.config import load_settings
from filiere.realtime.drain import _insert_new, _tables
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

    from filiere.realtime.drain import _json_each

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


def _log(folder: Path, recs: list[dict[str, object]], per: int, segment_bytes: int = 1 << 20) -> None:
    from filiere.realtime.wal import WriteAheadLog

    wal = WriteAheadLog(folder, segment_bytes=segment_bytes, fsync=False)
    wal.open()
    for i in range(0, len(recs), per):
        wal.append(recs[i : i + per])  # type: ignore[arg-type]
    wal.close()


def test_log_cursor_reads_forward_and_starts_again_when_asked_for_older_records(tmp_path: Path) -> None:
    import orjson
    import pytest

    from filiere.errors import FiliereError
    from filiere.realtime.drain import LogCursor

    def seqs(got: tuple[pa.ChunkedArray, int, int]) -> list[int]:
        texts, first, last = got
        out = [orjson.loads(t)["seq"] for t in texts.to_pylist()]
        assert (first, last) == (out[0], out[-1]) if out else last < first
        return out

    folder = tmp_path / "wal"
    recs = _records([f"t{k}" for k in range(40)], 1)
    _log(folder, recs[:25], 5, segment_bytes=2000)  # several segments
    assert len(list(folder.glob("seg-*.wal"))) > 2
    cur = LogCursor(folder)
    first = cur.take(0, 25, 10)
    assert seqs(first) == list(range(1, 11))
    assert first[0].to_pylist()[3] == orjson.dumps(recs[3]).decode()  # each record's own JSON text
    assert seqs(cur.take(10, 25, 100)) == list(range(11, 26))
    _log(folder, recs[25:], 5, segment_bytes=2000)  # appended after the cursor's last read
    assert seqs(cur.take(25, 40, 100)) == list(range(26, 41))
    assert seqs(cur.take(3, 6, 100)) == [4, 5, 6]  # older: the log read again
    assert seqs(cur.take(40, 40, 100)) == []
    with pytest.raises(FiliereError, match=r"41\.\.45 wanted"):
        cur.take(40, 45, 100)


def test_the_json_path_stores_what_the_record_path_stores(tmp_path: Path) -> None:
    """:func:`store_log_texts` (DuckDB parses the log's JSON) gives the rows :func:`store_records` gives."""
    import orjson

    from filiere.realtime.drain import store_log_texts, store_records

    recs = _records(["a", "b", "c", "d"], 1)
    recs[1]["tx"] = {**recs[1]["tx"], "parties": {"from": {"name": "Ann", "schema": "Person"}}}  # type: ignore[dict-item]
    recs[2]["answer"] = {**recs[2]["answer"], "decision": "hold", "alert_id": "x",  # type: ignore[dict-item]
                         "reasons": [{"kind": "sanctions", "side": "from", "name": "Ann", "score": 0.93}]}  # fmt: skip
    texts = pa.array([orjson.dumps(r).decode() for r in recs], pa.string())
    out = {}
    for mode in ("records", "texts"):
        init_workspace(tmp_path / mode)
        with open_store(load_settings(tmp_path / mode)) as store:
            if mode == "records":
                store_records(store, recs)
            else:
                store_log_texts(store, texts.slice(0, 2), 1, 2)
                store_log_texts(store, texts, 1, 4)  # 1..2 stored already: skipped by seq
            out[mode] = (
                store.query(
                    "SELECT * EXCLUDE (reasons, record), reasons::JSON::VARCHAR, record FROM realtime_tx ORDER BY seq"
                ),
                store.query(
                    "SELECT * EXCLUDE (properties), properties::JSON::VARCHAR FROM transactions ORDER BY source_row"
                ),
                store.query("SELECT title, score, typology, severity, tx_ids FROM alerts ORDER BY title"),
            )
    assert len(out["records"][0]) == 4 and len(out["records"][2]) == 1
    for a, b in zip(out["records"], out["texts"], strict=True):
        assert a == b


def test_drain_worker_process_stores_the_log_range_and_restarts_after_a_kill(tmp_path: Path) -> None:
    from filiere.realtime.drain import DrainWorker

    init_workspace(tmp_path / "ws")
    settings = load_settings(tmp_path / "ws")
    folder = tmp_path / "ws" / "realtime" / "wal"
    recs = _records([f"w{k}" for k in range(30)], 1)
    recs[4]["answer"] = {**recs[4]["answer"], "decision": "alert", "alert_id": "x",  # type: ignore[dict-item]
                         "reasons": [{"kind": "model", "threshold": 0.5, "features": []}]}  # fmt: skip
    _log(folder, recs, 7)
    worker = DrainWorker(settings, folder)
    try:
        assert worker.drain(0, 20, 8) == (8, 8)  # at most `limit` records per drain
        assert worker.drain(8, 20, 100) == (20, 12)
        pid = worker.pid
        assert pid is not None
        import os
        import signal

        os.kill(pid, signal.SIGKILL)
        worker.proc.wait()  # type: ignore[union-attr]
        assert worker.drain(20, 30, 100) == (30, 10)  # a new worker, reading the log from its start
        assert worker.starts == 2
    finally:
        worker.close()
    with open_store(settings) as store:
        assert store.query("SELECT count(*), count(DISTINCT tx_id), min(seq), max(seq) FROM realtime_tx")[0] == (
            30, 30, 1, 30,
        )  # fmt: skip
        assert store.scalar("SELECT count(*) FROM transactions WHERE source_file_id = 'realtime'") == 30
        assert store.scalar("SELECT count(*) FROM alerts WHERE source = 'realtime'") == 1


def test_the_service_drains_in_its_own_thread_when_told_to(rt_template: dict[str, Any], tmp_path: Path) -> None:
    import asyncio
    import shutil

    from filiere.api.deps import StoreGate
    from filiere.realtime.schemas import TransactionIn, normalise
    from filiere.realtime.service import RealtimeConfig, RealtimeService

    from .test_service import tx

    ws = tmp_path / "ws"
    shutil.copytree(rt_template["workspace"], ws)
    settings = load_settings(ws)
    recs = [normalise(TransactionIn.model_validate(tx(i))) for i in range(50)]

    async def run(drain_process: bool) -> dict[str, Any]:
        cfg = RealtimeConfig.from_settings(settings).model_copy(update={"drain_process": drain_process})
        svc = RealtimeService(settings, StoreGate(settings), cfg)
        await svc.submit(recs[:25] if drain_process else recs[25:])
        await svc.flush()
        status = svc.status()
        await svc.stop()
        return status

    by_process = asyncio.run(run(True))
    by_thread = asyncio.run(run(False))
    assert by_process["drain_worker"] is not None and by_thread["drain_worker"] is None
    assert by_process["stored_seq"] == 25 and by_thread["stored_seq"] == 50 and by_thread["backlog"] == 0
    with open_store(settings) as store:
        assert store.query("SELECT count(*), count(DISTINCT tx_id), max(seq) FROM realtime_tx")[0] == (50, 50, 50)
