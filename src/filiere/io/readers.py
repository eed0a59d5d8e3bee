"""Dispatch from a format name to its reader."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from filiere.errors import UserInputError
from filiere.io.result import FORMATS, Batch, ReadResult, collect, file_sha256


def mapping_bytes(mapping: Any) -> bytes:
    if mapping is None:
        return b""
    from filiere.io.mapping import load_mapping

    fp: bytes = load_mapping(mapping).fingerprint()
    return fp


def iter_batches(path: Path, fmt: str, file_id: str, *, mapping: Any = None) -> Iterator[Batch]:
    """The batches of one file (a big columnar file yields several, XML and JSON one)."""
    if fmt == "amlworld":
        from filiere.io.amlworld import iter_transactions

        yield from iter_transactions(path, file_id)
    elif fmt in ("csv", "parquet"):
        from filiere.io.mapped import iter_mapped

        if mapping is None:
            raise UserInputError(f"--format {fmt} needs a column mapping (--mapping MAP.yml): see docs/ingestion.md")
        yield from iter_mapped(path, fmt, file_id, mapping)
    elif fmt in ("pacs008", "camt053"):
        from filiere.io.iso20022 import read_iso20022

        yield read_iso20022(path, fmt, file_id)
    elif fmt == "ftm":
        from filiere.io.ftm import read_ftm

        yield read_ftm(path, file_id)
    else:
        raise UserInputError(f"unknown format {fmt!r} (available: {', '.join(FORMATS)})")


def read_transactions(path: Path | str, fmt: str, *, mapping: Any = None) -> ReadResult:
    """Read one file of any supported format into filiere's Arrow schemas.

    ``mapping`` (csv and parquet): a path to a YAML mapping, a dict, or a :class:`Mapping`.
    Raises :class:`UnreadableFileError` when the file cannot be read at all.
    """
    p = Path(path)
    if fmt not in FORMATS:
        raise UserInputError(f"unknown format {fmt!r} (available: {', '.join(FORMATS)})")
    file_id = file_sha256(p, mapping_bytes(mapping))
    result = collect(iter_batches(p, fmt, file_id, mapping=mapping), file_id=file_id, path=str(p))
    if fmt in ("amlworld", "csv", "parquet") and result.transactions.num_rows:
        result.accounts = derive_accounts(result.transactions, file_id)
    return result


def derive_accounts(transactions: Any, file_id: str) -> Any:
    """The distinct accounts at either end of ``transactions`` (ACCOUNT_SCHEMA, no owner)."""
    import duckdb

    from filiere.io._duck import to_arrow
    from filiere.model import ACCOUNT_SCHEMA

    con = duckdb.connect(":memory:")
    try:
        con.register("t", transactions)
        out = to_arrow(
            con,
            f"""
            SELECT account_id, any_value(bank) AS bank,
                   any_value(substr(account_id, length(bank) + 2)) AS account_number,
                   NULL AS bank_name, NULL AS currency, 'bank' AS kind, NULL AS owner_party_id,
                   NULL AS properties, '{file_id}' AS source_file_id
            FROM (SELECT from_account AS account_id, from_bank AS bank FROM t
                  UNION ALL SELECT to_account, to_bank FROM t)
            GROUP BY account_id ORDER BY account_id
            """,
        )
    finally:
        con.close()
    return out.cast(ACCOUNT_SCHEMA)
