"""AMLworld CSV (IBM, NeurIPS 2023): the transactions file and its accounts file.

The transactions file has the header ``Timestamp,From Bank,Account,To Bank,Account,Amount Received,
Receiving Currency,Amount Paid,Payment Currency,Payment Format,Is Laundering`` (``Account`` twice),
``%Y/%m/%d %H:%M`` timestamps, zero-padded bank ids, rows in no particular
order and no transaction id.

The reader is columnar: the file is cut into ~32 MB pieces at line ends with numpy, each piece
becomes an Arrow array of raw lines and one DuckDB query decodes, splits, casts and validates every
line at once. Lines are split on commas (the format has no quoting). A line that is not UTF-8, has
the wrong number of columns or an invalid value goes to quarantine with its row number, column and
reason; blank lines are not records.

Ids: ``source_row`` is the 1-based data row (the physical line number minus the header line), and
``tx_id`` is ``<first 8 hex digits of the file's sha256>:<source_row>``, so the same file always
gives the same ids and two files never collide in practice.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filiere.io._duck import currency_joins, reader_connection, to_arrow
from filiere.io.result import (
    QUARANTINE_SCHEMA,
    Batch,
    UnreadableFileError,
    tx_id_prefix,
)
from filiere.model import ACCOUNT_SCHEMA, PARTY_SCHEMA, TRANSACTION_SCHEMA

HEADER = (
    "Timestamp",
    "From Bank",
    "Account",
    "To Bank",
    "Account",
    "Amount Received",
    "Receiving Currency",
    "Amount Paid",
    "Payment Currency",
    "Payment Format",
    "Is Laundering",
)
ACCOUNTS_HEADER = ("Bank Name", "Bank ID", "Account Number", "Entity ID", "Entity Name")
#: canonical field checked for each column, in column order
_FIELDS = (
    "ts",
    "from_bank",
    "from_account",
    "to_bank",
    "to_account",
    "amount_received",
    "receiving_currency",
    "amount_paid",
    "payment_currency",
    "payment_format",
    "is_laundering",
)
DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
CHUNK_BYTES = 32 << 20


def _header_ok(line: bytes, expected: tuple[str, ...]) -> bool:
    try:
        cols = [c.strip().strip('"').lower() for c in line.decode("utf-8-sig").rstrip("\r\n").split(",")]
    except UnicodeDecodeError:
        return False
    return cols == [c.lower() for c in expected]


def _lines(path: Path, expected_header: tuple[str, ...], chunk_bytes: int) -> Iterator[tuple[pa.Table, int, int]]:
    """(table of (n, b) raw lines with 1-based data row numbers, bytes done, bytes total) per piece."""
    try:
        total = path.stat().st_size
        f = path.open("rb")
    except OSError as exc:
        raise UnreadableFileError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    with f:
        header = f.readline()
        if not _header_ok(header, expected_header):
            shown = header[:200].decode("utf-8", "replace").rstrip()
            raise UnreadableFileError(
                f"{path}: not an AMLworld file: first line is {shown!r}, expected {','.join(expected_header)!r}"
            )
        done = len(header)
        row0 = 1  # data row number of the next line
        carry = b""
        while True:
            data = f.read(chunk_bytes)
            eof = not data
            buf = carry + data
            if not buf:
                break
            arr = np.frombuffer(buf, dtype=np.uint8)
            nl = np.flatnonzero(arr == 10)
            if eof:
                end = len(buf)
                ends = nl + 1
                if not len(ends) or ends[-1] != end:
                    ends = np.append(ends, end)
            else:
                if not len(nl):
                    carry = buf
                    continue
                end = int(nl[-1]) + 1
                ends = nl + 1
            offsets = np.concatenate(([0], ends)).astype(np.int64)
            n = len(ends)
            values = pa.Array.from_buffers(pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf[:end])])
            rows = pa.array(np.arange(row0, row0 + n, dtype=np.int64))
            row0 += n
            done += end - len(carry) if not eof else len(buf) - len(carry)
            carry = buf[end:]
            yield pa.table({"n": rows, "b": values}), min(done, total), total
            if eof:
                break


def _transform_sql(prefix: str, file_id: str, *, utf8: bool) -> str:
    """One query over ``__lines(n, b)``: every line parsed, validated and given a quarantine reason.

    ``utf8``: ``b`` is already text (the piece decoded as UTF-8 as a whole); otherwise it is binary
    and each line is decoded on its own, a line that is not UTF-8 getting ``s = NULL``. The checks
    are evaluated once per line into a code (the first failing check); reason, field and location
    are derived from that code only for the (rare) bad lines.
    """
    f = [f"trim(p[{i + 1}])" for i in range(11)]
    rj, rc = currency_joins("rcur_raw", "rc")
    pj, pcode = currency_joins("pcur_raw", "pcc")
    fmts = "[" + ", ".join(f"'{x}'" for x in DATE_FORMATS) + "]"
    checks: list[tuple[str, str, str]] = [  # (condition for a bad row, field, reason)
        ("s IS NULL", "", "'bad encoding: not UTF-8'"),
        ("len(p) <> 11", "", "'wrong column count: ' || len(p) || ' columns, expected 11'"),
        ("c1 = ''", "ts", "'missing field'"),
        ("ts IS NULL", "ts", "'bad date: ' || c1"),
        ("c2 = ''", "from_bank", "'missing field'"),
        ("c3 = ''", "from_account", "'missing field'"),
        ("c4 = ''", "to_bank", "'missing field'"),
        ("c5 = ''", "to_account", "'missing field'"),
        ("c6 = ''", "amount_received", "'missing field'"),
        (
            "amount_received IS NULL OR NOT isfinite(amount_received) OR amount_received < 0",
            "amount_received",
            "'bad amount: ' || c6",
        ),
        ("rcur_raw = ''", "receiving_currency", "'missing field'"),
        ("receiving_currency IS NULL", "receiving_currency", "'unknown currency: ' || rcur_raw"),
        ("c8 = ''", "amount_paid", "'missing field'"),
        (
            "amount_paid IS NULL OR NOT isfinite(amount_paid) OR amount_paid < 0",
            "amount_paid",
            "'bad amount: ' || c8",
        ),
        ("pcur_raw = ''", "payment_currency", "'missing field'"),
        ("payment_currency IS NULL", "payment_currency", "'unknown currency: ' || pcur_raw"),
        ("c10 = ''", "payment_format", "'missing field'"),
        ("c11 <> '' AND is_laundering IS NULL", "is_laundering", "'bad label: ' || c11"),
    ]
    col_of = {fld: i + 1 for i, fld in enumerate(_FIELDS)}
    code = "CASE " + " ".join(f"WHEN {c} THEN {k}" for k, (c, _, _) in enumerate(checks)) + " END"
    reason = "CASE q " + " ".join(f"WHEN {k} THEN {r}" for k, (_, _, r) in enumerate(checks)) + " END"
    fields = "[" + ", ".join(f"'{fl}'" if fl else "NULL" for _, fl, _ in checks) + "]"
    locations = (
        "["
        + ", ".join(f"'column {col_of[fl]} ({HEADER[col_of[fl] - 1]})'" if fl else "'line'" for _, fl, _ in checks)
        + "]"
    )
    text = "b" if utf8 else "CASE WHEN try(decode(b)) IS NULL THEN NULL ELSE decode(b) END"
    qbytes = "NULL::BLOB" if utf8 else "CASE WHEN q IS NOT NULL THEN b END"
    return f"""
    WITH d AS (
        SELECT n, b, rtrim({text}, chr(13) || chr(10)) AS s FROM __lines
    ), e AS (
        SELECT n, b, s, string_split(s, ',') AS p FROM d WHERE s IS NULL OR s <> ''
    ), g AS (
        SELECT n, b, s, p, {", ".join(f"{x} AS c{i + 1}" for i, x in enumerate(f))},
               {f[6]} AS rcur_raw, {f[8]} AS pcur_raw
        FROM e
    ), h AS (
        SELECT g.*,
            try_strptime(c1, {fmts}) AS ts,
            TRY_CAST(c6 AS DOUBLE) AS amount_received,
            TRY_CAST(c8 AS DOUBLE) AS amount_paid,
            {rc} AS receiving_currency,
            {pcode} AS payment_currency,
            CASE lower(c11) WHEN '0' THEN false WHEN '1' THEN true WHEN 'false' THEN false
                            WHEN 'true' THEN true ELSE NULL END AS is_laundering
        FROM g {rj} {pj}
    ), k AS (
        SELECT h.*, {code} AS q FROM h
    )
    SELECT
        '{prefix}:' || n AS tx_id,
        ts, c2 AS from_bank, c2 || ':' || c3 AS from_account, c4 AS to_bank, c4 || ':' || c5 AS to_account,
        amount_received, receiving_currency, amount_paid, payment_currency, c10 AS payment_format,
        is_laundering, '{file_id}' AS source_file_id, n AS source_row, NULL::VARCHAR AS properties,
        CASE WHEN q IS NOT NULL THEN {reason} END AS q_reason,
        CASE WHEN q IS NOT NULL THEN coalesce({fields}[q + 1], '') END AS q_field,
        CASE WHEN q IS NOT NULL THEN {locations}[q + 1] END AS q_location,
        CASE WHEN q IS NOT NULL THEN s END AS q_raw,
        {qbytes} AS q_bytes
    FROM k
    ORDER BY n
    """


def _split(out: pa.Table, path: str) -> tuple[pa.Table, pa.Table]:
    bad = pc.is_valid(out["q_reason"])
    good = out.filter(pc.invert(bad)).select(TRANSACTION_SCHEMA.names).cast(TRANSACTION_SCHEMA)
    q = out.filter(bad)
    raw = q["q_raw"].to_pylist()
    if any(r is None for r in raw):  # undecodable lines: show them with replacement characters
        bts = q["q_bytes"].to_pylist()
        raw = [
            r if r is not None else bytes(bb).decode("utf-8", "replace").rstrip("\r\n")
            for r, bb in zip(raw, bts, strict=True)
        ]
    quarantine = pa.table(
        {
            "path": pa.array([path] * q.num_rows, pa.string()),
            "row_number": q["source_row"],
            "location": q["q_location"],
            "field": pc.if_else(pc.equal(q["q_field"], ""), pa.scalar(None, pa.string()), q["q_field"]),
            "reason": q["q_reason"],
            "raw": pa.array(raw, pa.string()),
        },
        schema=QUARANTINE_SCHEMA,
    )
    return good, quarantine


def _as_text(lines: pa.Table) -> pa.Table | None:
    """The piece with its lines as text when the whole piece is UTF-8 (a character never spans a
    newline, so every line is then UTF-8 too), else None."""
    b = lines["b"].combine_chunks()
    if b.offset != 0 or b.null_count:
        return None
    bufs = b.buffers()
    data = bufs[2]
    if data is None:
        return None
    try:
        memoryview(data).tobytes().decode("utf-8")  # ASCII-fast in CPython
    except UnicodeDecodeError:
        return None
    text = pa.Array.from_buffers(pa.large_string(), len(b), [None, bufs[1], data])
    return pa.table({"n": lines["n"], "b": text})


def iter_transactions(
    path: Path, file_id: str, *, chunk_bytes: int | None = None, con: duckdb.DuckDBPyConnection | None = None
) -> Iterator[Batch]:
    """Read an AMLworld transactions file piece by piece (``chunk_bytes``, default ``CHUNK_BYTES``)."""
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    own = con is None
    con = con or reader_connection()
    prefix = tx_id_prefix(file_id)
    sql_text = _transform_sql(prefix, file_id, utf8=True)
    sql_bytes = _transform_sql(prefix, file_id, utf8=False)
    try:
        for lines, done, total in _lines(path, HEADER, chunk_bytes):
            text = _as_text(lines)
            con.register("__lines", text if text is not None else lines)
            try:
                out = to_arrow(con, sql_text if text is not None else sql_bytes)
            finally:
                con.unregister("__lines")
            good, quarantine = _split(out, str(path))
            yield Batch(good, quarantine, good.num_rows + quarantine.num_rows, done=done, total=total)
    finally:
        if own:
            con.close()


def read_accounts(path: Path, file_id: str) -> tuple[pa.Table, pa.Table, pa.Table, int]:
    """AMLworld accounts file ``Bank Name,Bank ID,Account Number,Entity ID,Entity Name``.

    Returns (accounts, parties, quarantine, rows read). The entity becomes a party whose id is the
    Entity ID, so a FollowTheMoney file using the same ids enriches it.
    """
    con = reader_connection()
    try:
        lines = list(_lines(path, ACCOUNTS_HEADER, CHUNK_BYTES))
        tbl = pa.concat_tables([t for t, _, _ in lines]) if lines else pa.table({"n": [], "b": []})
        con.register("__lines", tbl)
        out = to_arrow(
            con,
            """
            WITH d AS (
                SELECT n, b, CASE WHEN try(decode(b)) IS NULL THEN NULL
                                  ELSE rtrim(decode(b), chr(13) || chr(10)) END AS s FROM __lines
            ), e AS (SELECT n, b, s, string_split(s, ',') AS p FROM d WHERE s IS NULL OR s <> '')
            SELECT n, s, b,
                trim(p[1]) AS bank_name, trim(p[2]) AS bank, trim(p[3]) AS account_number,
                trim(p[4]) AS party_id, trim(array_to_string(p[5:], ',')) AS name,
                CASE WHEN s IS NULL THEN 'bad encoding: not UTF-8'
                     WHEN len(p) < 5 THEN 'wrong column count: ' || len(p) || ' columns, expected 5'
                     WHEN trim(p[2]) = '' THEN 'missing field'
                     WHEN trim(p[3]) = '' THEN 'missing field' END AS q_reason,
                CASE WHEN s IS NULL OR len(p) < 5 THEN NULL
                     WHEN trim(p[2]) = '' THEN 'bank' WHEN trim(p[3]) = '' THEN 'account_number' END AS q_field
            FROM e
            """,
        )
    finally:
        con.close()
    bad = pc.is_valid(out["q_reason"])
    ok = out.filter(pc.invert(bad))
    q = out.filter(bad)
    bank = ok["bank"]
    number = ok["account_number"]
    pid = pc.if_else(pc.equal(ok["party_id"], ""), pa.scalar(None, pa.string()), ok["party_id"])
    accounts = pa.table(
        {
            "account_id": pc.binary_join_element_wise(bank, number, ":"),
            "bank": bank,
            "account_number": number,
            "bank_name": ok["bank_name"],
            "currency": pa.nulls(ok.num_rows, pa.string()),
            "kind": pa.array(["bank"] * ok.num_rows, pa.string()),
            "owner_party_id": pid,
            "properties": pa.nulls(ok.num_rows, pa.string()),
            "source_file_id": pa.array([file_id] * ok.num_rows, pa.string()),
        },
        schema=ACCOUNT_SCHEMA,
    )
    with_party = ok.filter(pc.is_valid(pid))
    n = with_party.num_rows
    parties = pa.table(
        {
            "party_id": with_party["party_id"],
            "schema": pa.array(["LegalEntity"] * n, pa.string()),
            "name": with_party["name"],
            **{c: pa.nulls(n, pa.string()) for c in PARTY_SCHEMA.names if c not in ("party_id", "schema", "name")},
        }
    )
    parties = parties.set_column(
        parties.schema.get_field_index("source_file_id"), "source_file_id", pa.array([file_id] * n, pa.string())
    )
    parties = parties.select(PARTY_SCHEMA.names).cast(PARTY_SCHEMA)
    raw = [
        s if s is not None else bytes(bb).decode("utf-8", "replace").rstrip("\r\n")
        for s, bb in zip(q["s"].to_pylist(), q["b"].to_pylist(), strict=True)
    ]
    quarantine = pa.table(
        {
            "path": pa.array([str(path)] * q.num_rows, pa.string()),
            "row_number": q["n"],
            "location": pa.array(["line"] * q.num_rows, pa.string()),
            "field": q["q_field"],
            "reason": q["q_reason"],
            "raw": pa.array(raw, pa.string()),
        },
        schema=QUARANTINE_SCHEMA,
    )
    return accounts, parties, quarantine, out.num_rows
