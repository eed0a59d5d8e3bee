from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from filiere.config import load_settings
from filiere.io import UnreadableFileError, ingest_files, read_transactions, tx_id_prefix
from filiere.model import TRANSACTION_SCHEMA
from filiere.store import open_store

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "io"
HEADER = (
    "Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,"
    "Amount Paid,Payment Currency,Payment Format,Is Laundering\n"
)
GOOD = "2022/09/01 00:20,010,8000EBD30,001,8000F5340,10.5,US Dollar,10.5,US Dollar,Wire,0\n"


def test_reads_fixture() -> None:
    r = read_transactions(FIX / "amlworld_small.csv", "amlworld")
    assert r.read == 10
    assert r.quarantine.num_rows == 0
    t = r.transactions
    assert t.schema.equals(TRANSACTION_SCHEMA)
    rows = t.to_pylist()
    assert rows[0]["from_account"] == "010:8000EBD30"
    assert rows[0]["from_bank"] == "010"  # zero padding kept
    assert rows[1]["from_bank"] == "03208"
    assert [r["source_row"] for r in rows] == list(range(1, 11))
    prefix = tx_id_prefix(r.file_id)
    assert rows[4]["tx_id"] == f"{prefix}:5"
    btc = rows[7]
    assert btc["payment_currency"] == "XBT" and btc["amount_paid"] == pytest.approx(0.0177)
    assert rows[8]["receiving_currency"] == "EUR" and rows[8]["payment_currency"] == "USD"
    assert [r["is_laundering"] for r in rows].count(True) == 1
    assert str(rows[2]["ts"]) == "2022-09-01 00:00:00"
    assert "1:8000EC1E0" in r.accounts.column("account_id").to_pylist()


@pytest.mark.parametrize(
    ("line", "field", "reason"),
    [
        ("2022/13/01 00:20,010,A,001,B,10.5,US Dollar,10.5,US Dollar,Wire,0", "ts", "bad date"),
        (",010,A,001,B,10.5,US Dollar,10.5,US Dollar,Wire,0", "ts", "missing field"),
        ("2022/09/01 00:20,010,A,001,B,ten,US Dollar,10.5,US Dollar,Wire,0", "amount_received", "bad amount"),
        ("2022/09/01 00:20,010,A,001,B,-3,US Dollar,10.5,US Dollar,Wire,0", "amount_received", "bad amount"),
        ("2022/09/01 00:20,010,A,001,B,10.5,Groat,10.5,US Dollar,Wire,0", "receiving_currency", "unknown currency"),
        ("2022/09/01 00:20,010,A,001,B,10.5,US Dollar,10.5,,Wire,0", "payment_currency", "missing field"),
        ("2022/09/01 00:20,,A,001,B,10.5,US Dollar,10.5,US Dollar,Wire,0", "from_bank", "missing field"),
        ("2022/09/01 00:20,010,A,001,,10.5,US Dollar,10.5,US Dollar,Wire,0", "to_account", "missing field"),
        ("2022/09/01 00:20,010,A,001,B,10.5,US Dollar,10.5,US Dollar,Wire,maybe", "is_laundering", "bad label"),
        ("2022/09/01 00:20,010,A,001,B,10.5,US Dollar", None, "wrong column count"),
        ("2022/09/01 00:20,010,A,001,B,10.5,US Dollar,10.5,US Dollar,Wire,0,extra", None, "wrong column count"),
    ],
)
def test_quarantine_reasons(tmp_path: Path, line: str, field: str | None, reason: str) -> None:
    f = tmp_path / "t.csv"
    f.write_text(HEADER + GOOD + line + "\n" + GOOD)
    r = read_transactions(f, "amlworld")
    assert r.read == 3
    assert r.transactions.num_rows == 2
    q = r.quarantine.to_pylist()
    assert len(q) == 1
    assert q[0]["row_number"] == 2
    assert q[0]["field"] == field
    assert q[0]["reason"].startswith(reason)
    assert q[0]["raw"] == line
    assert q[0]["path"] == str(f)


def test_bad_encoding_and_blank_lines(tmp_path: Path) -> None:
    f = tmp_path / "t.csv"
    f.write_bytes(HEADER.encode() + GOOD.encode() + b"\n" + b"2022/09/01 00:20,0\xff1,A\r\n" + GOOD.encode().rstrip())
    r = read_transactions(f, "amlworld")
    assert r.read == 3  # the blank line is no record
    q = r.quarantine.to_pylist()
    assert [x["row_number"] for x in q] == [3]
    assert q[0]["reason"].startswith("bad encoding")
    assert "\ufffd" in q[0]["raw"]
    assert r.transactions.column("source_row").to_pylist() == [1, 4]


def test_not_amlworld_is_an_error(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_bytes(b"\x00\x01garbage\xff")
    with pytest.raises(UnreadableFileError, match=r"x\.csv"):
        read_transactions(f, "amlworld")
    with pytest.raises(UnreadableFileError, match="no such file"):
        read_transactions(tmp_path / "missing.csv", "amlworld")


def test_small_chunks_give_same_result(tmp_path: Path) -> None:
    from filiere.io.amlworld import iter_transactions
    from filiere.io.result import collect, file_sha256

    src = FIX / "amlworld_small.csv"
    fid = file_sha256(src)
    whole = read_transactions(src, "amlworld").transactions
    pieces = collect(iter_transactions(src, fid, chunk_bytes=37), file_id=fid, path=str(src)).transactions
    assert pieces.equals(whole)


def test_ingest_idempotent_with_accounts(workspace: Path) -> None:
    settings = load_settings(workspace)
    with open_store(settings) as store:
        rep = ingest_files(
            store, [FIX / "amlworld_small.csv"], "amlworld", accounts=FIX / "amlworld_small_accounts.csv"
        )
        assert (rep.read, rep.stored, rep.quarantined, rep.duplicates) == (10, 10, 0, 0)
        again = ingest_files(store, [FIX / "amlworld_small.csv"], "amlworld")
        assert (again.read, again.stored, again.duplicates) == (10, 0, 10)
        assert store.scalar("SELECT count(*) FROM transactions") == 10
        acc = store.query_dicts("SELECT * FROM accounts WHERE account_id = '010:8000EBD30'")[0]
        assert acc["owner_party_id"] == "80062E240" and acc["bank_name"] == "Bank #10"
        party = store.query_dicts("SELECT * FROM parties WHERE party_id = '80062E240'")[0]
        assert party["name"] == "Sole Proprietorship #50438"
        # accounts seen only in transactions exist too
        assert store.scalar("SELECT count(*) FROM accounts WHERE account_id = '211050:80AEF5310'") == 1
        assert store.scalar("SELECT count(*) FROM source_files") == 2


def test_cli_json_and_unreadable_file(workspace: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "filiere.cli",
            "ingest",
            "transactions",
            str(FIX / "amlworld_small.csv"),
            str(bad),
            "--format",
            "amlworld",
            "--json",
            "--workspace",
            str(workspace),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2
    assert "bad.csv" in out.stderr
    doc = json.loads(out.stdout)
    assert doc["read"] == doc["stored"] + doc["quarantined"] + doc["duplicates"] == 10
    with open_store(load_settings(workspace)) as store:
        assert store.scalar("SELECT count(*) FROM transactions") == 10
