"""Any bank's CSV or Parquet export, through a YAML column mapping (:mod:`filiere.io.mapping`).

Columnar: Arrow reads the file (CSV cells as raw bytes, so that a badly encoded cell quarantines
its row instead of failing the file), one DuckDB query applies the mapping, casts and validates.
Rows with the wrong number of cells are caught by Arrow's invalid-row handler (called for bad rows
only). ``source_row`` is the 1-based data record (blank lines are not records; for Parquet, the
row index + 1). Without a ``tx_id`` column, ``tx_id`` is ``<sha8 of file+mapping>:<source_row>``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filiere.errors import UserInputError
from filiere.io._duck import currency_joins, reader_connection, to_arrow
from filiere.io.mapping import Mapping, load_mapping
from filiere.io.result import QUARANTINE_SCHEMA, Batch, UnreadableFileError, tx_id_prefix
from filiere.model import TRANSACTION_SCHEMA


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _read_csv(path: Path, m: Mapping) -> tuple[pa.Table, list[dict[str, Any]], bool]:
    import pyarrow.csv as pcsv

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    replaced = False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:  # mark undecodable bytes with U+FFFD; their rows go to quarantine
        data = data.decode("utf-8", "replace").encode("utf-8")
        replaced = True
    first = data.split(b"\n", 1)[0].rstrip(b"\r")
    if b"\x00" in first:
        raise UnreadableFileError(f"{path}: binary data, not a CSV file")
    try:
        header: dict[str, Any] = next(
            iter(
                pcsv.read_csv(
                    io.BytesIO(first + b"\n"),
                    read_options=pcsv.ReadOptions(autogenerate_column_names=True),
                    parse_options=pcsv.ParseOptions(delimiter=m.delimiter),
                    convert_options=pcsv.ConvertOptions(column_types={}),
                ).to_pylist()
            ),
            {},
        )
        names = [str(v) for v in header.values()]
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise UnreadableFileError(f"{path}: cannot read the CSV header: {exc}") from exc
    missing = [c for c in m.source_columns() if c not in names]
    if missing:
        raise UnreadableFileError(f"{path}: columns named in the mapping are missing from the file: {missing}")
    bad: list[dict[str, Any]] = []

    def handler(row: Any) -> str:
        bad.append(
            {
                "path": str(path),
                "row_number": int(row.number) - 1 if row.number is not None else None,
                "location": "line",
                "field": None,
                "reason": f"wrong column count: {row.actual_columns} columns, expected {row.expected_columns}",
                "raw": (row.text or "")[:4000],
            }
        )
        return "skip"

    try:
        table = pcsv.read_csv(
            io.BytesIO(data),
            read_options=pcsv.ReadOptions(use_threads=False, column_names=names, skip_rows=1),
            parse_options=pcsv.ParseOptions(delimiter=m.delimiter, invalid_row_handler=handler),
            convert_options=pcsv.ConvertOptions(
                column_types={n: pa.binary() for n in names},
                include_columns=m.source_columns(),
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise UnreadableFileError(f"{path}: not a readable CSV file: {exc}") from exc
    # row numbers: data records 1..N, minus those the handler rejected (they carry their number)
    total = table.num_rows + len(bad)
    rejected = np.array(sorted(b["row_number"] for b in bad if b["row_number"] is not None), dtype=np.int64)
    rows = np.setdiff1d(np.arange(1, total + 1, dtype=np.int64), rejected)[: table.num_rows]
    if len(rows) < table.num_rows:  # a row number was unknown: fall back to ordinals
        rows = np.arange(1, table.num_rows + 1, dtype=np.int64)
    return table.append_column("__row", pa.array(rows)), bad, replaced


def _read_parquet(path: Path, m: Mapping) -> pa.Table:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(str(path))
    except (OSError, pa.ArrowInvalid) as exc:
        raise UnreadableFileError(f"{path}: not a readable Parquet file: {exc}") from exc
    missing = [c for c in m.source_columns() if c not in pf.schema_arrow.names]
    if missing:
        raise UnreadableFileError(f"{path}: columns named in the mapping are missing from the file: {missing}")
    t = pf.read(columns=m.source_columns())
    return t.append_column("__row", pa.array(np.arange(1, t.num_rows + 1, dtype=np.int64)))


def _sql(m: Mapping, file_id: str, binary: bool, replaced: bool = False) -> str:
    cols = m.source_columns()
    idx = {c: i for i, c in enumerate(cols)}

    def raw(c: str) -> str:
        return f'"{c}"' if not binary else f'try(decode("{c}"))'

    dec = ", ".join(f"trim(CAST({raw(c)} AS VARCHAR)) AS v{i}" for c, i in idx.items())
    enc_ok = " AND ".join(f'("{c}" IS NULL OR {raw(c)} IS NOT NULL)' for c in idx) if binary else "true"
    if replaced:
        enc_ok += " AND " + " AND ".join(f"NOT contains(coalesce({raw(c)}, ''), chr(65533))" for c in idx)
    c = m.columns

    def v(name: str | None) -> str:
        return f"nullif(v{idx[name]}, '')" if name else "NULL"

    def num(expr: str) -> str:
        e = f"replace({expr}, ' ', '')"
        if m.thousands:
            e = f"replace({e}, {_lit(m.thousands)}, '')"
        if m.decimal != ".":
            e = f"replace({e}, {_lit(m.decimal)}, '.')"
        return f"TRY_CAST({e} AS DOUBLE)"

    if m.date_format:
        fmts = [m.date_format] if isinstance(m.date_format, str) else m.date_format
        ts = f"try_strptime({v(c.ts)}, [{', '.join(_lit(f) for f in fmts)}])"
    else:
        ts = f"TRY_CAST({v(c.ts)} AS TIMESTAMP)"
    cur = v(c.currency) if c.currency else _lit(m.currency or "")
    pcur_src = v(c.payment_currency) if c.payment_currency else "cur_raw"
    checks: list[tuple[str, str, str, str | None]] = [
        ("NOT enc_ok", "NULL", "'bad encoding: not UTF-8'", None),
        ("ts_raw IS NULL", "'ts'", "'missing field'", c.ts),
        ("ts IS NULL", "'ts'", "'bad date: ' || ts_raw", c.ts),
    ]
    if m.statement_account is None:
        amt = num(v(c.amount or c.amount_paid))
        direction = "NULL::BOOLEAN"
        checks += [
            ("amt_raw IS NULL", "'amount'", "'missing field'", c.amount or c.amount_paid),
            (
                "amt IS NULL OR NOT isfinite(amt) OR amt < 0",
                "'amount'",
                "'bad amount: ' || amt_raw",
                c.amount or c.amount_paid,
            ),
        ]
        amt_raw = v(c.amount or c.amount_paid)
        amt_val = "amt"
        fb = v(c.from_bank) if c.from_bank else _lit(m.default_bank)
        tb = v(c.to_bank) if c.to_bank else _lit(m.default_bank)
        ends = (
            f"coalesce({fb}, {_lit(m.default_bank)}) AS fb, {v(c.from_account)} AS fa, "
            f"coalesce({tb}, {_lit(m.default_bank)}) AS tb, {v(c.to_account)} AS ta"
        )
        checks += [
            ("fa IS NULL", "'from_account'", "'missing field'", c.from_account),
            ("ta IS NULL", "'to_account'", "'missing field'", c.to_account),
        ]
    else:
        sa = m.statement_account
        dv = ", ".join(_lit(x.upper()) for x in m.debit_values)
        cv = ", ".join(_lit(x.upper()) for x in m.credit_values)
        if m.sign == "signed":
            amt_raw = v(c.amount)
            amt = num(v(c.amount))
            direction = "amt < 0"
            checks += [
                ("amt_raw IS NULL", "'amount'", "'missing field'", c.amount),
                ("amt IS NULL OR NOT isfinite(amt)", "'amount'", "'bad amount: ' || amt_raw", c.amount),
            ]
        elif m.sign == "debit_credit":
            amt_raw = f"coalesce({v(c.debit)}, {v(c.credit)})"
            d, k = num(v(c.debit)), num(v(c.credit))
            amt = f"CASE WHEN {d} IS NOT NULL AND {d} <> 0 THEN -abs({d}) ELSE abs({k}) END"
            direction = "amt < 0"
            checks += [
                ("amt_raw IS NULL", "'amount'", "'missing field'", c.debit),
                (
                    f"({v(c.debit)} IS NOT NULL AND {d} IS NULL) OR ({v(c.credit)} IS NOT NULL AND {k} IS NULL)"
                    " OR amt IS NULL OR NOT isfinite(amt)",
                    "'amount'",
                    "'bad amount: ' || amt_raw",
                    c.debit,
                ),
            ]
        else:
            amt_raw = v(c.amount)
            amt = num(v(c.amount))
            ind = f"upper({v(c.indicator)})"
            direction = f"CASE WHEN {ind} IN ({dv}) THEN true WHEN {ind} IN ({cv}) THEN false END"
            checks += [
                ("amt_raw IS NULL", "'amount'", "'missing field'", c.amount),
                ("amt IS NULL OR NOT isfinite(amt)", "'amount'", "'bad amount: ' || amt_raw", c.amount),
                (
                    "debit IS NULL",
                    "'direction'",
                    f"'bad debit/credit indicator: ' || coalesce({v(c.indicator)}, '')",
                    c.indicator,
                ),
            ]
        amt_val = "abs(amt)"
        cpb = f"coalesce({v(c.counterparty_bank)}, {_lit(m.default_bank)})"
        cpa = f"coalesce({v(c.counterparty_account)}, 'NAME/' || upper({v(c.counterparty_name)}), 'UNKNOWN/' || __row)"
        sb, sacc = _lit(sa.bank), _lit(sa.account)
        ends = (
            f"CASE WHEN debit THEN {sb} ELSE {cpb} END AS fb, CASE WHEN debit THEN {sacc} ELSE {cpa} END AS fa, "
            f"CASE WHEN debit THEN {cpb} ELSE {sb} END AS tb, CASE WHEN debit THEN {cpa} ELSE {sacc} END AS ta"
        )
    checks += [
        ("cur_raw IS NULL", "'receiving_currency'", "'missing field'", c.currency),
        ("rcur IS NULL", "'receiving_currency'", "'unknown currency: ' || cur_raw", c.currency),
    ]
    paid = amt_val
    if c.amount_paid and c.amount:
        paid = "paid"
        checks += [
            (
                "paid IS NULL OR NOT isfinite(paid) OR paid < 0",
                "'amount_paid'",
                f"'bad amount: ' || coalesce({v(c.amount_paid)}, '')",
                c.amount_paid,
            )
        ]
    checks += [
        (
            "pcur IS NULL",
            "'payment_currency'",
            "'unknown currency: ' || coalesce(pcur_raw, '')",
            c.payment_currency or c.currency,
        )
    ]
    if c.tx_id:
        checks.append(("id_raw IS NULL", "'tx_id'", "'missing field'", c.tx_id))
        tx_id = f"{_lit(m.id_prefix + ':')} || id_raw"
    else:
        tx_id = f"{_lit(tx_id_prefix(file_id) + ':')} || __row"
    if c.is_laundering:
        checks.append(
            ("lab_raw IS NOT NULL AND lab IS NULL", "'is_laundering'", "'bad label: ' || lab_raw", c.is_laundering)
        )
    reason = "CASE " + " ".join(f"WHEN {k} THEN {r}" for k, _, r, _ in checks) + " END"
    field = "CASE " + " ".join(f"WHEN {k} THEN {f}" for k, f, _, _ in checks) + " END"
    location = (
        "CASE "
        + " ".join(f"WHEN {k} THEN {_lit('column ' + col) if col else _lit('line')}" for k, _, _, col in checks)
        + " END"
    )
    rj, rcode = currency_joins("cur_raw", "rc")
    pj, pcode = currency_joins("pcur_raw", "pc")
    props = [(p, v(p)) for p in m.properties]
    if c.counterparty_name:
        props.append(("counterparty_name", v(c.counterparty_name)))
    props_sql = "NULL::VARCHAR"
    if props:
        props_sql = "CAST(json_object(" + ", ".join(f"{_lit(k)}, {e}" for k, e in props) + ") AS VARCHAR)"
    lab = (
        (
            f"CASE lower({v(c.is_laundering)}) WHEN '1' THEN true WHEN 'true' THEN true WHEN 'yes' THEN true "
            f"WHEN '0' THEN false WHEN 'false' THEN false WHEN 'no' THEN false END"
        )
        if c.is_laundering
        else "NULL"
    )
    pf = f"coalesce({v(c.payment_format)}, {_lit(m.payment_format)})" if c.payment_format else _lit(m.payment_format)
    return f"""
    WITH a AS (SELECT __row, {dec}, {enc_ok} AS enc_ok FROM src),
    b AS (
        SELECT *, {v(c.ts)} AS ts_raw, {ts} AS ts, {amt_raw} AS amt_raw,
               {v(c.tx_id) if c.tx_id else "NULL"} AS id_raw,
               {v(c.is_laundering) if c.is_laundering else "NULL"} AS lab_raw,
               nullif({cur}, '') AS cur_raw
        FROM a
    ),
    d AS (SELECT *, {amt} AS amt, {num(v(c.amount_paid)) if c.amount_paid and c.amount else "NULL"} AS paid,
                 {pcur_src} AS pcur_raw FROM b),
    e AS (SELECT d.*, {direction} AS debit, {rcode} AS rcur, {pcode} AS pcur FROM d {rj} {pj}),
    f AS (SELECT *, {ends} FROM e)
    SELECT {tx_id} AS tx_id, ts, fb AS from_bank, fb || ':' || fa AS from_account, tb AS to_bank,
           tb || ':' || ta AS to_account, {amt_val} AS amount_received, rcur AS receiving_currency,
           {paid} AS amount_paid, pcur AS payment_currency, {pf} AS payment_format, {lab} AS is_laundering,
           {_lit(file_id)} AS source_file_id, __row AS source_row, {props_sql} AS properties,
           {reason} AS q_reason, {field} AS q_field, {location} AS q_location,
           concat_ws({_lit(m.delimiter)}, {", ".join(f"v{i}" for i in idx.values())}) AS q_raw
    FROM f ORDER BY __row
    """


def iter_mapped(path: Path, fmt: str, file_id: str, mapping: Any) -> Iterator[Batch]:
    m = load_mapping(mapping)
    bad: list[dict[str, Any]] = []
    replaced = False
    if fmt == "csv":
        src, bad, replaced = _read_csv(path, m)
    elif fmt == "parquet":
        src = _read_parquet(path, m)
    else:  # pragma: no cover - dispatch guards this
        raise UserInputError(f"unknown mapped format {fmt!r}")
    con = reader_connection()
    try:
        con.register("src", src)
        out = to_arrow(con, _sql(m, file_id, binary=fmt == "csv", replaced=replaced))
    finally:
        con.close()
    isbad = pc.is_valid(out["q_reason"])
    good = out.filter(pc.invert(isbad)).select(TRANSACTION_SCHEMA.names).cast(TRANSACTION_SCHEMA)
    q = out.filter(isbad)
    quarantine = pa.table(
        {
            "path": pa.array([str(path)] * q.num_rows, pa.string()),
            "row_number": q["source_row"],
            "location": q["q_location"],
            "field": q["q_field"],
            "reason": q["q_reason"],
            "raw": q["q_raw"],
        },
        schema=QUARANTINE_SCHEMA,
    )
    if bad:
        quarantine = pa.concat_tables([pa.Table.from_pylist(bad, schema=QUARANTINE_SCHEMA), quarantine])
    yield Batch(good, quarantine, good.num_rows + quarantine.num_rows)
