"""Hypothesis fuzzing of every parser: never crash, every record accounted for."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from filiere.io import UnreadableFileError, read_transactions

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "io"
HEADER = (
    b"Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,"
    b"Amount Paid,Payment Currency,Payment Format,Is Laundering\n"
)
FIELD = st.one_of(
    st.sampled_from(["2022/09/01 00:20", "010", "8000EBD30", "US Dollar", "Euro", "12.5", "-1", "0", "1", "", "x"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n"), max_size=12),
)
LINE = st.one_of(
    st.lists(FIELD, min_size=11, max_size=11).map(lambda xs: ",".join(xs).encode()),
    st.lists(FIELD, min_size=0, max_size=14).map(lambda xs: ",".join(xs).encode()),
    st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"")),
)
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _write(data: bytes, suffix: str) -> Path:
    d = Path(tempfile.mkdtemp(prefix="filiere-fuzz-"))
    p = d / f"f{suffix}"
    p.write_bytes(data)
    return p


def _invariant(path: Path, fmt: str, mapping: object = None) -> int:
    try:
        r = read_transactions(path, fmt, mapping=mapping)
    except UnreadableFileError:
        return -1
    assert r.read == r.transactions.num_rows + r.quarantine.num_rows + r.other
    assert r.quarantine.column("reason").null_count == 0
    return r.read


@FUZZ
@given(st.lists(LINE, max_size=25), st.sampled_from([b"\n", b"\r\n"]), st.booleans())
def test_amlworld_fuzz(lines: list[bytes], eol: bytes, final_eol: bool) -> None:
    body = eol.join(lines) + (eol if final_eol and lines else b"")
    path = _write(HEADER + body, ".csv")
    read = _invariant(path, "amlworld")
    # every non-blank line is a record, exactly once
    expected = sum(1 for ln in body.split(b"\n") if ln.rstrip(b"\r") != b"")
    assert read == expected


@FUZZ
@given(st.lists(LINE.map(lambda b: b.replace(b",", b";")), max_size=20))
def test_mapped_csv_fuzz(lines: list[bytes]) -> None:
    head = b"Date;Reference;Counterparty;Counterparty IBAN;Counterparty BIC;Debit;Credit;Currency;Narrative\n"
    path = _write(head + b"\n".join(lines), ".csv")
    read = _invariant(path, "csv", FIX / "bank_statement.mapping.yml")
    assert read >= 0  # a CSV with the right header is always readable, whatever its rows hold


def _mutations(src: bytes) -> st.SearchStrategy[bytes]:
    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        data = bytearray(src)
        for _ in range(draw(st.integers(1, 6))):
            i = draw(st.integers(0, len(data) - 1))
            op = draw(st.sampled_from(["flip", "delete", "insert"]))
            if op == "flip":
                data[i] = draw(st.integers(0, 255))
            elif op == "delete":
                del data[i : i + draw(st.integers(1, 40))]
            else:
                data[i:i] = draw(st.sampled_from([b"<", b">", b"abc", b"-1", b"</Amt>", b"&", b"\xff", b"Ccy='QQQ'"]))
            if not data:
                break
        return bytes(data)

    return mutate()


@FUZZ
@given(st.data())
def test_xml_fuzz(data: st.DataObject) -> None:
    for name, fmt in [
        ("pacs.008.001.02_no_header.xml", "pacs008"),
        ("camt.053.001.02_batch_reversal.xml", "camt053"),
    ]:
        blob = data.draw(_mutations((FIX / name).read_bytes()))
        _invariant(_write(blob, ".xml"), fmt)


@FUZZ
@given(st.data())
def test_ftm_fuzz(data: st.DataObject) -> None:
    blob = data.draw(_mutations((FIX / "ftm_small.jsonl").read_bytes()))
    read = _invariant(_write(blob, ".jsonl"), "ftm")
    if read >= 0:
        assert read == sum(1 for ln in blob.split(b"\n") if ln.strip())
