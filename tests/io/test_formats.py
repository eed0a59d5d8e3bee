"""Round trips of every format on the committed fixtures (see tests/fixtures/io/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from filiere.config import load_settings
from filiere.errors import UserInputError
from filiere.io import UnreadableFileError, ingest_files, read_transactions
from filiere.model import ACCOUNT_SCHEMA, PARTY_SCHEMA, TRANSACTION_SCHEMA
from filiere.store import open_store

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "io"
MAP = FIX / "bank_statement.mapping.yml"


def _check(r: object) -> None:
    from filiere.io import ReadResult

    assert isinstance(r, ReadResult)
    assert r.transactions.schema.equals(TRANSACTION_SCHEMA)
    assert r.accounts.schema.equals(ACCOUNT_SCHEMA)
    assert r.parties.schema.equals(PARTY_SCHEMA)
    assert r.read == r.transactions.num_rows + r.quarantine.num_rows + r.other


def test_pacs008_with_app_header() -> None:
    r = read_transactions(FIX / "pacs.008.001.07_prowide_sample.xml", "pacs008")
    _check(r)
    (t,) = r.transactions.to_pylist()
    assert t["tx_id"] == "pacs008:CITTGB2LPBG:123452342"
    assert (t["from_bank"], t["to_bank"]) == ("ITUSUSP1", "USTBUS31")  # XXX branch code dropped
    assert t["amount_paid"] == 5000 and t["payment_currency"] == "USD"
    assert json.loads(t["properties"])["debtor_name"] == "JOHN DOE"
    assert {p["name"] for p in r.parties.to_pylist()} == {"JOHN DOE", "Mike Smith"}


def test_pacs008_v02_cross_currency_and_quarantine() -> None:
    r = read_transactions(FIX / "pacs.008.001.02_no_header.xml", "pacs008")
    _check(r)
    (t,) = r.transactions.to_pylist()
    assert (t["amount_paid"], t["payment_currency"]) == (6860.21, "EUR")
    assert (t["amount_received"], t["receiving_currency"]) == (4_500_000, "XOF")
    assert t["from_account"] == "SBININBB:IN123456789012345678"
    props = json.loads(t["properties"])
    assert props["remittance"] == "TRAMADOL 225MG 40 CARTONS"
    assert props["charges"] == [{"amount": "12.00", "currency": "EUR"}]
    q = r.quarantine.to_pylist()
    assert [(x["row_number"], x["field"], x["reason"].split(":")[0]) for x in q] == [
        (2, "amount_received", "bad amount"),
        (3, "ts", "bad date"),
    ]
    assert q[0]["location"] == "/Document/FIToFICstmrCdtTrf/CdtTrfTxInf[2]/IntrBkSttlmAmt"
    assert q[0]["raw"].lstrip().startswith("<CdtTrfTxInf")


def test_camt053_sample() -> None:
    r = read_transactions(FIX / "camt.053.001.04_six_business_sample.xml", "camt053")
    _check(r)
    rows = r.transactions.to_pylist()
    assert r.read == 3 and len(rows) == 3
    credit, batch, fx = rows
    assert credit["to_account"] == "AAAA BANKEN:50000000054910000003"
    assert credit["amount_received"] == 105678.5
    assert credit["ts"].isoformat() == "2010-10-18T12:15:00"  # +01:00 converted to UTC
    assert batch["from_account"] == "AAAA BANKEN:50000000054910000003"
    assert json.loads(batch["properties"])["counterparty_unknown"] is True
    assert (fx["amount_received"], fx["receiving_currency"], fx["amount_paid"], fx["payment_currency"]) == (
        30000,
        "SEK",
        3255,
        "EUR",
    )


def test_camt053_batch_reversal_charges() -> None:
    r = read_transactions(FIX / "camt.053.001.02_batch_reversal.xml", "camt053")
    _check(r)
    rows = r.transactions.to_pylist()
    assert [x["amount_paid"] for x in rows] == [1000, 2000, 2000]
    assert rows[0]["to_account"] == "ISBKTRIS:TR330006100519786457841326"
    assert rows[1]["to_account"] == rows[2]["from_account"] == "UNKNOWN:ML-MM-7788"
    assert json.loads(rows[2]["properties"])["reversal"] is True
    assert json.loads(rows[0]["properties"])["charges"] == [{"amount": "4.50", "currency": "EUR"}]
    assert len({x["tx_id"] for x in rows}) == 3
    (q,) = r.quarantine.to_pylist()
    assert q["location"] == "/Document/BkToCstmrStmt/Stmt/Ntry[3]/Amt" and q["reason"].startswith("bad amount")


def test_ftm() -> None:
    r = read_transactions(FIX / "ftm_small.jsonl", "ftm")
    _check(r)
    assert r.read == 9 and r.other == 6
    t1, t2 = r.transactions.to_pylist()
    assert t1["tx_id"] == "ftm:pay-1"
    assert t1["from_account"] == "BDMAMLBA:ML13ML0160120102600010055700"
    assert t1["to_account"] == "010:8000EBD30"  # the AMLworld account of the same bank and number
    assert t2["from_account"] == "FTM:PARTY/80062E240" and t2["amount_paid"] == 1200.5
    assert str(t2["ts"]) == "2023-05-01 00:00:00"
    accounts = {a["account_id"]: a for a in r.accounts.to_pylist()}
    assert accounts["BDMAMLBA:ML13ML0160120102600010055700"]["owner_party_id"] == "p-amadou"  # via Ownership
    wallet = accounts["BTC:bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"]
    assert wallet["kind"] == "crypto" and wallet["owner_party_id"] == "80062E240"
    assert r.quarantine.column("reason").to_pylist() == ["unsupported schema: Sanction"]


def test_mapped_csv_statement() -> None:
    r = read_transactions(FIX / "bank_statement.csv", "csv", mapping=MAP)
    _check(r)
    rows = r.transactions.to_pylist()
    assert [x["tx_id"] for x in rows] == [f"bceao-stmt:STX-000{i}" for i in range(1, 5)]
    own = "BCEAMLBA:ML0420123000123456789012"
    assert rows[0]["from_account"] == own and rows[0]["amount_paid"] == 1250.0  # debit: money out
    assert rows[1]["to_account"] == own and rows[1]["amount_paid"] == 15400.5  # credit: money in
    assert rows[1]["from_account"] == "UNKNOWN:NAME/PHARMACIE DU MARCHE"
    assert rows[0]["ts"].isoformat() == "2024-01-03T00:00:00"


def test_mapped_csv_quarantine(tmp_path: Path) -> None:
    f = tmp_path / "s.csv"
    f.write_bytes(
        b"Date;Reference;Counterparty;Counterparty IBAN;Counterparty BIC;Debit;Credit;Currency;Narrative\n"
        b"03/01/2024;A;X;;;1,00;;XOF;ok\n"
        b"32/01/2024;B;X;;;1,00;;XOF;bad date\n"
        b"03/01/2024;C;X;;;abc;;XOF;bad amount\n"
        b"03/01/2024;D;X;;;1,00;;ZZZ;bad currency\n"
        b"03/01/2024;E;X\n"
        b"03/01/2024;F;X\xff;;;1,00;;XOF;bad encoding\n"
        b"03/01/2024;;X;;;1,00;;XOF;no id\n"
    )
    r = read_transactions(f, "csv", mapping=MAP)
    _check(r)
    assert r.read == 7 and r.transactions.num_rows == 1
    got = sorted((q["row_number"], q["field"], q["reason"].split(":")[0]) for q in r.quarantine.to_pylist())
    assert got == [
        (2, "ts", "bad date"),
        (3, "amount", "bad amount"),
        (4, "receiving_currency", "unknown currency"),
        (5, None, "wrong column count"),
        (6, None, "bad encoding"),
        (7, "tx_id", "missing field"),
    ]


def test_mapped_parquet_transfers(tmp_path: Path) -> None:
    import datetime as dt

    f = tmp_path / "t.parquet"
    pq.write_table(
        pa.table(
            {
                "when": [dt.datetime(2024, 3, 1, 10), dt.datetime(2024, 3, 2, 11), None],
                "src": ["A1", "A2", "A3"],
                "dst": ["B1", "B2", "B3"],
                "value": [10.0, -1.0, 3.0],
                "ccy": ["XOF", "XOF", "XOF"],
            }
        ),
        f,
    )
    mapping = {
        "columns": {"ts": "when", "from_account": "src", "to_account": "dst", "amount": "value", "currency": "ccy"},
        "default_bank": "MOMO",
    }
    r = read_transactions(f, "parquet", mapping=mapping)
    _check(r)
    (t,) = r.transactions.to_pylist()
    assert (t["from_account"], t["to_account"], t["source_row"]) == ("MOMO:A1", "MOMO:B1", 1)
    assert sorted(r.quarantine.column("row_number").to_pylist()) == [2, 3]


def test_mapping_errors(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="from_account"):
        read_transactions(FIX / "bank_statement.csv", "csv", mapping={"columns": {"ts": "Date"}, "currency": "EUR"})
    with pytest.raises(UserInputError, match="needs a column mapping"):
        read_transactions(FIX / "bank_statement.csv", "csv")
    bad = {"columns": {"ts": "Nope", "from_account": "a", "to_account": "b", "amount": "c"}, "currency": "EUR"}
    with pytest.raises(UnreadableFileError, match="missing from the file"):
        read_transactions(FIX / "bank_statement.csv", "csv", mapping=bad)


@pytest.mark.parametrize("fmt", ["pacs008", "camt053", "ftm", "csv"])
def test_unreadable(tmp_path: Path, fmt: str) -> None:
    f = tmp_path / "garbage.bin"
    f.write_bytes(b"\x00\x89PNG\x00\xff\xfe" * 10)
    with pytest.raises(UnreadableFileError, match=r"garbage\.bin"):
        read_transactions(f, fmt, mapping=MAP if fmt == "csv" else None)


def test_ingest_every_format_and_duplicates_by_key(workspace: Path, tmp_path: Path) -> None:
    with open_store(load_settings(workspace)) as store:
        files = [
            ("amlworld_small.csv", "amlworld", None),
            ("pacs.008.001.07_prowide_sample.xml", "pacs008", None),
            ("pacs.008.001.02_no_header.xml", "pacs008", None),
            ("camt.053.001.04_six_business_sample.xml", "camt053", None),
            ("camt.053.001.02_batch_reversal.xml", "camt053", None),
            ("ftm_small.jsonl", "ftm", None),
            ("bank_statement.csv", "csv", MAP),
        ]
        total = 0
        for name, fmt, mapping in files:
            rep = ingest_files(store, [FIX / name], fmt, mapping=mapping)
            assert rep.read == rep.stored + rep.quarantined + rep.duplicates
            total += rep.read
        assert store.scalar("SELECT count(*) FROM source_files") == len(files)
        # the FtM payment lands on the AMLworld account, whose owner comes from FtM's party
        assert store.scalar("SELECT count(*) FROM transactions WHERE to_account = '010:8000EBD30'") >= 2
        # a copy of a file (new bytes) with the same natural keys: all duplicates
        copy = tmp_path / "copy.xml"
        copy.write_text((FIX / "pacs.008.001.02_no_header.xml").read_text() + "\n<!-- copy -->\n")
        rep = ingest_files(store, [copy], "pacs008")
        assert (rep.read, rep.stored, rep.quarantined, rep.duplicates) == (3, 0, 2, 1)
        n_q = store.scalar("SELECT count(*) FROM quarantine")
        assert n_q == store.scalar("SELECT sum(rows_quarantined) FROM source_files")
