"""The write-ahead log: groups of records in one payload, logs of one record per payload, torn tails."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import orjson

from filiere.realtime import wal as wal_mod
from filiere.realtime.wal import WriteAheadLog, read_segments


def _recs(first: int, n: int) -> list[dict[str, Any]]:
    return [{"seq": q, "eff": q, "at": 0, "tx": {"id": f"T{q}"}, "answer": {"seq": q}} for q in range(first, first + n)]


def test_groups_round_trip_and_a_torn_group_is_cut(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(wal_mod, "_GROUP", 3)  # an append of 7 records: payloads of 3, 3 and 1
    log = WriteAheadLog(tmp_path, fsync=False)
    assert log.open() == []
    log.append(_recs(1, 7))
    log.append(_recs(8, 2))
    log.close()
    assert [r["seq"] for r in read_segments(tmp_path)] == list(range(1, 10))
    seg = next(tmp_path.glob("seg-*.wal"))
    size = seg.stat().st_size
    with seg.open("ab") as fh:  # a crash in the middle of a payload
        payload = orjson.dumps(_recs(10, 3))
        fh.write(struct.pack("<II", len(payload), zlib.crc32(payload)) + payload[:-5])
    again = WriteAheadLog(tmp_path, fsync=False)
    assert [r["seq"] for r in again.open()] == list(range(1, 10))
    assert seg.stat().st_size == size  # truncated to the last whole payload
    again.close()


def test_logs_of_one_record_per_payload_are_still_read(tmp_path: Path) -> None:
    seg = tmp_path / "seg-000000000001.wal"
    with seg.open("wb") as fh:
        for rec in _recs(1, 4):
            payload = orjson.dumps(rec)
            fh.write(struct.pack("<II", len(payload), zlib.crc32(payload)) + payload)
    log = WriteAheadLog(tmp_path, fsync=False)
    assert [r["tx"]["id"] for r in log.open()] == ["T1", "T2", "T3", "T4"]
    log.append(_recs(5, 2))  # a new group after the old records
    log.close()
    assert [r["seq"] for r in read_segments(tmp_path)] == [1, 2, 3, 4, 5, 6]
