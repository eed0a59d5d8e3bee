"""Reading trade declarations (CSV or Parquet) into ``trade_transactions``.

Columns (case-insensitive): ``date, hs_code, quantity, unit, value, currency, origin, destination,
importer, exporter`` required or defaulted as below; ``trade_id`` (else file row), ``flow``
(``import``/``export``, default ``import``), ``description``, ``value_usd`` (else converted with
approximate rates), ``is_misinvoiced``/``scheme`` (ground truth of generated worlds) optional.
Validation is columnar; the error names the file, the first bad rows and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filiere.errors import UserInputError
from filiere.store.base import Store

REQUIRED = ("date", "hs_code", "quantity", "unit", "value", "origin", "destination")
#: approximate US dollars per unit of currency (override per workspace: vectors.trade.usd_rates)
USD_RATES: dict[str, float] = {
    "USD": 1.0,
    "EUR": 1.08,
    "GBP": 1.27,
    "CHF": 1.13,
    "CNY": 0.14,
    "INR": 0.012,
    "JPY": 0.0067,
    "AED": 0.272,
    "TRY": 0.031,
    "XOF": 0.00165,
    "XAF": 0.00165,
    "NGN": 0.00065,
    "GHS": 0.065,
    "MAD": 0.10,
    "DZD": 0.0074,
    "LYD": 0.21,
    "SAR": 0.267,
    "CAD": 0.73,
    "AUD": 0.66,
    "BRL": 0.18,
    "ZAR": 0.055,
}

TRADE_ARROW = pa.schema(
    [
        ("trade_id", pa.string()),
        ("date", pa.date32()),
        ("flow", pa.string()),
        ("hs_code", pa.string()),
        ("hs6", pa.string()),
        ("description", pa.string()),
        ("quantity", pa.float64()),
        ("unit", pa.string()),
        ("value", pa.float64()),
        ("currency", pa.string()),
        ("value_usd", pa.float64()),
        ("origin", pa.string()),
        ("destination", pa.string()),
        ("importer", pa.string()),
        ("exporter", pa.string()),
        ("is_misinvoiced", pa.bool_()),
        ("scheme", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
    ]
)


def _read(path: Path) -> pa.Table:
    if not path.exists():
        raise UserInputError(f"{path}: no such file")
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path)
    import csv

    import pyarrow.csv as pacsv

    with path.open(encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh), [])
    # codes and ids keep their leading zeros
    as_text = {c: pa.string() for c in header if c.lower().strip() in ("hs_code", "trade_id", "importer", "exporter")}
    try:
        opts = pacsv.ConvertOptions(strings_can_be_null=True, column_types=as_text)
        return pacsv.read_csv(path, convert_options=opts)
    except pa.ArrowInvalid as exc:
        raise UserInputError(f"{path}: malformed CSV: {exc}") from exc


def _bad(path: Path, mask: np.ndarray[Any, Any], field: str, why: str) -> None:
    rows = np.flatnonzero(mask)
    if len(rows):
        shown = ", ".join(str(r + 1) for r in rows[:5])
        more = f" (and {len(rows) - 5} more)" if len(rows) > 5 else ""
        raise UserInputError(f"{path}: rows {shown}{more}: field '{field}' {why}")


def normalise_table(raw: pa.Table, path: Path, *, usd_rates: dict[str, float] | None = None) -> pa.Table:
    """Validate and convert a raw table of declarations to :data:`TRADE_ARROW`."""
    rates = {**USD_RATES, **(usd_rates or {})}
    cols = {c.lower().strip(): c for c in raw.column_names}
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise UserInputError(f"{path}: missing column(s) {', '.join(missing)} (have: {', '.join(raw.column_names)})")
    n = int(raw.num_rows)

    def col(name: str) -> pa.ChunkedArray | None:
        return raw.column(cols[name]) if name in cols else None

    def text(name: str) -> pa.Array:
        c = col(name)
        if c is None:
            return pa.nulls(n, pa.string())
        return pc.utf8_trim_whitespace(pc.cast(c, pa.string())).combine_chunks()

    def number(name: str) -> np.ndarray[Any, np.dtype[np.float64]]:
        c = col(name)
        assert c is not None
        try:
            arr = (
                pc.cast(c, pa.float64())
                if not pa.types.is_string(c.type)
                else pc.cast(pc.utf8_trim_whitespace(c), pa.float64())
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            s = pc.cast(c, pa.string()).to_pylist()
            out = np.full(n, np.nan)
            for i, v in enumerate(s):
                try:
                    out[i] = float(v) if v not in (None, "") else np.nan
                except ValueError:
                    _bad(path, np.arange(n) == i, name, f"is not a number: {v!r}")
            return out
        return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)

    qty, value = number("quantity"), number("value")
    _bad(path, ~(qty > 0), "quantity", "must be a positive number")
    _bad(path, ~(value >= 0), "value", "must be a number >= 0")
    hs = pc.replace_substring_regex(text("hs_code"), r"[.\s]", "")
    hs_np = np.asarray(hs.to_pylist(), dtype=object)
    bad_hs = ~np.array([isinstance(h, str) and h.isdigit() and len(h) >= 6 for h in hs_np])
    _bad(path, bad_hs, "hs_code", "must hold at least 6 digits")
    date_c = col("date")
    assert date_c is not None
    try:
        dates = (
            pc.cast(date_c, pa.date32())
            if not pa.types.is_string(date_c.type)
            else pc.cast(pc.strptime(date_c, "%Y-%m-%d", "s"), pa.date32())
        )
    except pa.ArrowInvalid as exc:
        raise UserInputError(f"{path}: field 'date' must be YYYY-MM-DD ({exc})") from exc
    _bad(path, np.asarray(pc.is_null(dates).to_numpy(zero_copy_only=False)), "date", "is empty")
    origin = pc.utf8_upper(text("origin"))
    dest = pc.utf8_upper(text("destination"))
    for name, arr in (("origin", origin), ("destination", dest)):
        lens = pc.fill_null(pc.utf8_length(arr), 0).to_numpy(zero_copy_only=False)
        _bad(path, lens != 2, name, "must be an ISO 3166 alpha-2 country code")
    flow = pc.fill_null(pc.utf8_lower(text("flow")), "import")
    _bad(
        path,
        ~np.isin(np.asarray(flow.to_pylist(), dtype=object), ["import", "export"]),
        "flow",
        "must be import or export",
    )
    currency = pc.fill_null(pc.utf8_upper(text("currency")), "USD")
    if "value_usd" in cols:
        value_usd = number("value_usd")
    else:
        cur = np.asarray(currency.to_pylist(), dtype=object)
        unknown = ~np.isin(cur, list(rates))
        _bad(path, unknown, "currency", f"has no conversion rate (known: {', '.join(sorted(rates))}); add value_usd")
        rate = np.vectorize(rates.__getitem__, otypes=[np.float64])(cur) if n else np.zeros(0)
        value_usd = value * rate
    trade_id = text("trade_id")
    rows = np.arange(1, n + 1, dtype=np.int64)
    fallback_ids = pa.array([f"{path.stem}:{r}" for r in rows], pa.string())
    trade_id = pc.if_else(pc.is_null(trade_id), fallback_ids, trade_id)
    truth = col("is_misinvoiced")
    return pa.table(
        {
            "trade_id": trade_id,
            "date": dates,
            "flow": flow,
            "hs_code": hs,
            "hs6": pc.utf8_slice_codeunits(hs, 0, 6),
            "description": text("description"),
            "quantity": pa.array(qty),
            "unit": pc.fill_null(pc.utf8_lower(text("unit")), "kg"),
            "value": pa.array(value),
            "currency": currency,
            "value_usd": pa.array(value_usd),
            "origin": origin,
            "destination": dest,
            "importer": text("importer"),
            "exporter": text("exporter"),
            "is_misinvoiced": pc.cast(truth, pa.bool_()) if truth is not None else pa.nulls(n, pa.bool_()),
            "scheme": text("scheme"),
            "source_file": pa.array([str(path)] * n, pa.string()),
            "source_row": pa.array(rows),
        },
        schema=TRADE_ARROW,
    )


def ingest_trade(store: Store, path: Path, *, usd_rates: dict[str, float] | None = None) -> int:
    """Load a declarations file; rows whose ``trade_id`` is already stored are replaced."""
    table = normalise_table(_read(path), path, usd_rates=usd_rates)
    return store_trade(store, table)


def store_trade(store: Store, table: pa.Table) -> int:
    ids = table.column("trade_id")
    if pc.count_distinct(ids).as_py() != table.num_rows:
        raise UserInputError("trade_id values repeat within the file")
    with store.transaction():
        store.execute("CREATE TEMP TABLE IF NOT EXISTS __trade_new AS SELECT * FROM trade_transactions LIMIT 0")
        store.execute("DELETE FROM __trade_new")
        store.insert_arrow("__trade_new", table)
        store.execute("DELETE FROM trade_transactions WHERE trade_id IN (SELECT trade_id FROM __trade_new)")
        store.execute("INSERT INTO trade_transactions SELECT * FROM __trade_new")
        store.execute("DELETE FROM __trade_new")
    return int(table.num_rows)


PARTY_COLUMNS = ("party_id", "schema", "name", "country", "entity_type")


def ingest_trade_parties(store: Store, path: Path) -> int:
    """Load the traders of a declarations file: ``party_id`` (required), ``entity_type`` (their
    business role, which the goods/business screen reads), ``name``, ``schema``, ``country``.

    Parties the store does not know are added; known ones keep their data and gain the role (and any
    field they lack). Returns the rows read."""
    import pyarrow.csv as pacsv

    from filiere.model.schemas import PARTY_SCHEMA

    if not path.exists():
        raise UserInputError(f"{path}: no such file")
    try:
        raw = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                strings_can_be_null=True, column_types={c: pa.string() for c in PARTY_COLUMNS}
            ),
        )
    except pa.ArrowInvalid as exc:
        raise UserInputError(f"{path}: malformed CSV: {exc}") from exc
    cols = {c.lower().strip(): c for c in raw.column_names}
    if "party_id" not in cols:
        raise UserInputError(f"{path}: missing column party_id (have: {', '.join(raw.column_names)})")
    n = int(raw.num_rows)
    pid = pc.utf8_trim_whitespace(raw.column(cols["party_id"])).combine_chunks()
    _bad(path, np.asarray(pc.fill_null(pc.equal(pid, ""), True).to_numpy(zero_copy_only=False)), "party_id", "is empty")
    if pc.count_distinct(pid).as_py() != n:
        raise UserInputError(f"{path}: party_id values repeat within the file")
    data: dict[str, Any] = {}
    for name in PARTY_SCHEMA.names:
        if name == "party_id":
            data[name] = pid
        elif name in cols and name in PARTY_COLUMNS:
            data[name] = pc.utf8_trim_whitespace(raw.column(cols[name])).combine_chunks()
        elif name == "source_file_id":
            data[name] = pa.array([f"trade-parties:{path.name}"] * n, pa.string())
        else:
            data[name] = pa.nulls(n, PARTY_SCHEMA.field(name).type)
    if "country" in cols:
        data["country"] = pc.utf8_lower(data["country"])
    table = pa.table(data, schema=PARTY_SCHEMA)
    keep = ", ".join(f"{c} = coalesce(parties.{c}, EXCLUDED.{c})" for c in PARTY_SCHEMA.names if c != "party_id")
    cols_sql = ", ".join(PARTY_SCHEMA.names)
    with store.transaction():
        store.execute("CREATE TEMP TABLE IF NOT EXISTS __trade_parties AS SELECT * FROM parties LIMIT 0")
        store.execute("DELETE FROM __trade_parties")
        store.insert_arrow("__trade_parties", table)
        store.execute(
            f"INSERT INTO parties ({cols_sql}) SELECT {cols_sql} FROM __trade_parties "
            f"ON CONFLICT (party_id) DO UPDATE SET {keep}"
        )
        store.execute("DELETE FROM __trade_parties")
    return n
