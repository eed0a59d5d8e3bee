"""Helpers for the element-by-element readers (XML, JSON): build rows, then Arrow tables."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from filiere.io.result import QUARANTINE_SCHEMA
from filiere.model import ACCOUNT_SCHEMA, PARTY_SCHEMA, TRANSACTION_SCHEMA
from filiere.model.currencies import to_code


class Reject(Exception):  # noqa: N818 - control flow for one record, not an error of the program
    """A record that goes to quarantine: the field, where it was, why."""

    def __init__(self, field: str | None, location: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.location = location
        self.reason = reason


def parse_amount(text: str | None, field: str, location: str) -> float:
    if text is None or not str(text).strip():
        raise Reject(field, location, "missing field")
    try:
        v = float(str(text).strip())
    except ValueError:
        raise Reject(field, location, f"bad amount: {str(text)[:60]}") from None
    if not math.isfinite(v) or v < 0:
        raise Reject(field, location, f"bad amount: {str(text)[:60]}")
    return v


def parse_currency(text: str | None, field: str, location: str) -> str:
    if text is None or not str(text).strip():
        raise Reject(field, location, "missing field")
    code = to_code(str(text))
    if code is None:
        raise Reject(field, location, f"unknown currency: {str(text)[:60]}")
    return code


def parse_ts(text: str | None, field: str, location: str) -> datetime:
    """ISO 8601 date or date-time (a time zone is converted to UTC); partial dates take the first day."""
    if text is None or not str(text).strip():
        raise Reject(field, location, "missing field")
    s = str(text).strip()
    if len(s) == 4 and s.isdigit():
        s += "-01-01"
    elif len(s) == 7 and s[4] == "-":
        s += "-01"
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        raise Reject(field, location, f"bad date: {s[:60]}") from None
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def stable_id(*parts: str | None) -> str:
    return hashlib.sha1("\x1f".join(p or "" for p in parts).encode()).hexdigest()[:16]  # noqa: S324 (an id, not security)


def dumps(props: dict[str, Any]) -> str | None:
    clean = {k: v for k, v in props.items() if v not in (None, "", [], {})}
    return json.dumps(clean, ensure_ascii=False, sort_keys=True, default=str) if clean else None


def tables(
    txs: list[dict[str, Any]],
    accounts: list[dict[str, Any]],
    parties: list[dict[str, Any]],
    quarantine: list[dict[str, Any]],
) -> tuple[pa.Table, pa.Table, pa.Table, pa.Table]:
    return (
        pa.Table.from_pylist(txs, schema=TRANSACTION_SCHEMA),
        pa.Table.from_pylist(accounts, schema=ACCOUNT_SCHEMA),
        pa.Table.from_pylist(parties, schema=PARTY_SCHEMA),
        pa.Table.from_pylist(quarantine, schema=QUARANTINE_SCHEMA),
    )
