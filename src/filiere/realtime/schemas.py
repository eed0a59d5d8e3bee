"""The transaction a feed posts, its validation, and the normalised record the service logs.

The API model (pydantic, documented with examples) is kept apart from the internal record (a plain
dict written to the write-ahead log): the record carries account ids (``bank:number``), ISO
currency codes and the timestamp in microseconds since the epoch, naive UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import repeat
from operator import itemgetter
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from filiere.model.currencies import NAME_TO_CODE
from filiere.model.schemas import account_id

_CODES = frozenset(NAME_TO_CODE.values())
_EPOCH = datetime(1970, 1, 1)


def currency_code(value: str) -> str:
    """ISO code of a currency given as an ISO code or an AMLworld name; ValueError otherwise."""
    v = value.strip()
    if v.upper() in _CODES:
        return v.upper()
    code = NAME_TO_CODE.get(v)
    if code is None:
        raise ValueError(f"unknown currency {value!r} (ISO code such as USD, or an AMLworld name such as 'US Dollar')")
    return code


class PartyIn(BaseModel):
    """Optional details of one end of the payment: screened against the sanctions lists."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str | None = Field(default=None, max_length=300, examples=["Aymen al-Zawahiri"])
    schema_: Literal["Person", "Company", "Organization", "LegalEntity"] | None = Field(
        default=None, alias="schema", examples=["Person"]
    )
    country: str | None = Field(default=None, max_length=60, examples=["ml"])
    birth_date: str | None = Field(default=None, max_length=10, examples=["1951-06-19"])
    crypto_addresses: list[str] = Field(
        default_factory=list, max_length=20, examples=[["bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"]]
    )


class TransactionIn(BaseModel):
    """One payment to score. Field names follow AMLworld's columns in snake case."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=200, examples=["TX-2024-000001"])
    timestamp: datetime = Field(description="ISO 8601; naive values are read as UTC", examples=["2024-03-01T10:15:00Z"])
    from_bank: str = Field(min_length=1, max_length=64, examples=["001"])
    from_account: str = Field(min_length=1, max_length=100, examples=["8000A1230"])
    to_bank: str = Field(min_length=1, max_length=64, examples=["070"])
    to_account: str = Field(min_length=1, max_length=100, examples=["80B3C4D10"])
    amount: float = Field(ge=0, allow_inf_nan=False, description="amount received", examples=[9500.0])
    currency: str = Field(min_length=3, max_length=40, description="currency received", examples=["USD"])
    payment_format: str = Field(min_length=1, max_length=40, examples=["Wire"])
    amount_paid: float | None = Field(default=None, ge=0, allow_inf_nan=False, description="default: amount")
    payment_currency: str | None = Field(default=None, max_length=40, description="default: currency")
    from_party: PartyIn | None = None
    to_party: PartyIn | None = None

    @field_validator("currency", "payment_currency")
    @classmethod
    def _currency(cls, v: str | None) -> str | None:
        return None if v is None else currency_code(v)


TX_ONE = TypeAdapter(TransactionIn)
TX_MANY = TypeAdapter(list[TransactionIn])


def ts_us(value: datetime) -> int:
    """Microseconds since the epoch (naive UTC; an aware time is converted to UTC first)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    td = value - _EPOCH  # integer arithmetic: ``td // timedelta(microseconds=1)`` costs 3x more
    return (td.days * 86_400 + td.seconds) * 1_000_000 + td.microseconds


def us_to_datetime(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _party(p: PartyIn | None) -> dict[str, Any] | None:
    if p is None or (not p.name and not p.crypto_addresses):
        return None
    out: dict[str, Any] = {"name": p.name, "schema": p.schema_}
    if p.country:
        out["country"] = p.country
    if p.birth_date:
        out["birth_date"] = p.birth_date
    if p.crypto_addresses:
        out["crypto"] = list(p.crypto_addresses)
    return out


def normalise(tx: TransactionIn) -> dict[str, Any]:
    """The record logged and scored: account ids, ISO currency codes, ``ts`` in µs (naive UTC)."""
    rec: dict[str, Any] = {
        "id": tx.id,
        "ts": ts_us(tx.timestamp),
        "from_bank": tx.from_bank,
        "from_account": account_id(tx.from_bank, tx.from_account),
        "to_bank": tx.to_bank,
        "to_account": account_id(tx.to_bank, tx.to_account),
        "amount_received": tx.amount,
        "receiving_currency": tx.currency,
        "amount_paid": tx.amount if tx.amount_paid is None else tx.amount_paid,
        "payment_currency": tx.payment_currency or tx.currency,
        "payment_format": tx.payment_format,
    }
    parties = {k: v for k, v in (("from", _party(tx.from_party)), ("to", _party(tx.to_party))) if v}
    if parties:
        rec["parties"] = parties
    return rec


def from_iso20022(body: bytes) -> list[dict[str, Any]]:
    """Records of a pacs.008 message (each credit transfer), through :mod:`filiere.io.iso20022`.

    Raises :class:`ValueError` with the reader's reasons when a transfer is rejected.
    """
    import tempfile
    from pathlib import Path

    from filiere.io.iso20022 import read_iso20022

    with tempfile.TemporaryDirectory(prefix="filiere-rt-") as d:
        path = Path(d) / "pacs008.xml"
        path.write_bytes(body)
        batch = read_iso20022(path, "pacs008", "realtime")
    if batch.quarantine.num_rows:
        reasons = [
            f"{r.get('location')}: {r.get('field')}: {r.get('reason')}" for r in batch.quarantine.to_pylist()[:10]
        ]
        raise ValueError("pacs.008 transfers rejected: " + "; ".join(reasons))
    names = {r["party_id"]: r for r in batch.parties.to_pylist()} if batch.parties is not None else {}
    owners = (
        {r["account_id"]: r.get("owner_party_id") for r in batch.accounts.to_pylist()}
        if batch.accounts is not None
        else {}
    )
    out: list[dict[str, Any]] = []
    for r in batch.transactions.to_pylist():
        rec: dict[str, Any] = {
            "id": r["tx_id"],
            "ts": ts_us(r["ts"]),
            "from_bank": r["from_bank"],
            "from_account": r["from_account"],
            "to_bank": r["to_bank"],
            "to_account": r["to_account"],
            "amount_received": float(r["amount_received"]),
            "receiving_currency": r["receiving_currency"],
            "amount_paid": float(r["amount_paid"]),
            "payment_currency": r["payment_currency"],
            "payment_format": r["payment_format"],
        }
        parties: dict[str, Any] = {}
        for side, acc in (("from", r["from_account"]), ("to", r["to_account"])):
            owner = names.get(owners.get(acc) or "")
            if owner and owner.get("name"):
                parties[side] = {"name": owner["name"], "schema": owner.get("schema"), "country": owner.get("country")}
        if parties:
            rec["parties"] = parties
        out.append(rec)
    return out


# ----------------------------------------------------------------------------- fast path
_STR_FIELDS = (
    ("id", 1, 200),
    ("from_bank", 1, 64),
    ("from_account", 1, 100),
    ("to_bank", 1, 64),
    ("to_account", 1, 100),
    ("payment_format", 1, 40),
)
_ALLOWED = frozenset(TransactionIn.model_fields)
_REQUIRED = frozenset(n for n, f in TransactionIn.model_fields.items() if f.is_required())
_CURRENCY_FAST: dict[str, str] = {**{c: c for c in _CODES}, **NAME_TO_CODE}


def _fast_ts(value: str) -> int | None:
    if len(value) < 19 or value[4] != "-" or value[7] != "-" or value[10] not in "T " or not value[:4].isdigit():
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    if dt.tzinfo is not None:
        return ts_us(dt)
    td = dt - _EPOCH
    return (td.days * 86_400 + td.seconds) * 1_000_000 + td.microseconds


def _fast_amount(value: Any) -> float | None:
    if type(value) is float:
        return value if value >= 0 and value != float("inf") else None  # NaN fails `>= 0`
    if type(value) is int and 0 <= value <= 2**53:
        return float(value)
    return None


_COLUMNAR_FROM = 8
_MAX_EXACT_INT = 2**53


def _str_column(col: list[Any], longest: int) -> bool:
    """Every value a ``str`` of 1 to ``longest`` characters (C-level maps, no Python loop)."""
    return set(map(type, col)) == {str} and min(map(len, col)) > 0 and max(map(len, col)) <= longest


def _amount_column(col: list[Any]) -> list[float] | None:
    """:func:`_fast_amount` of every value, or None when one would fail it."""
    types = set(map(type, col))
    if not types <= {float, int} or (int in types and max(col) > _MAX_EXACT_INT):
        return None
    arr = np.array(col, dtype=np.float64)
    if not (bool((arr >= 0).all()) and bool(np.isfinite(arr).all())):  # NaN fails `>= 0`
        return None
    out: list[float] = arr.tolist()
    return out


def _ts_column(col: list[Any]) -> list[int] | None:
    """:func:`_fast_ts` of every value when all are naive ``YYYY-MM-DD[T ]hh:mm:ss[.ffffff]`` (numpy's
    parser, in C), or None (a time-zone offset, another form: the caller takes the per-record path).

    The form is checked without a loop per value: lengths 19–26, ``-`` at 4 and 7, ``T`` or a space
    at 10, and in all the values together exactly two ``-`` and two ``:`` each and no ``+``/``Z``
    (numpy would read an offset or a signed year); numpy rejects impossible dates and times."""
    n = len(col)
    if set(map(type, col)) != {str} or min(map(len, col)) < 19 or max(map(len, col)) > 26:
        return None
    if set(map(itemgetter(4), col)) != {"-"} or set(map(itemgetter(7), col)) != {"-"}:
        return None
    if not set(map(itemgetter(10), col)) <= {"T", " "}:
        return None
    blob = "|".join(col)
    if blob.count("-") != 2 * n or blob.count(":") != 2 * n or "+" in blob or "Z" in blob or "z" in blob:
        return None
    try:
        us = np.array(col, dtype="datetime64[us]")
    except ValueError:
        return None
    if np.isnat(us).any():
        return None
    out: list[int] = us.astype(np.int64).tolist()
    return out


def _fast_columns(items: list[Any]) -> list[dict[str, Any]] | None:
    """:func:`fast_records` for a batch, field by field: type, length, time, amount and currency checks
    as C-level maps over each column instead of Python code per transaction. None when any value needs
    a closer look (the per-record path then decides: valid records, or None for pydantic)."""
    if set(map(type, items)) != {dict}:
        return None
    keysets = set(map(frozenset, items))
    if not all(ks >= _REQUIRED and ks <= _ALLOWED for ks in keysets):
        return None
    present = frozenset().union(*keysets)
    if "from_party" in present or "to_party" in present:
        return None  # party details (even null) take the per-record path
    tid = list(map(itemgetter("id"), items))
    fb = list(map(itemgetter("from_bank"), items))
    fa = list(map(itemgetter("from_account"), items))
    tb = list(map(itemgetter("to_bank"), items))
    ta = list(map(itemgetter("to_account"), items))
    fmt = list(map(itemgetter("payment_format"), items))
    if not (
        _str_column(tid, 200) and _str_column(fb, 64) and _str_column(fa, 100) and _str_column(tb, 64)
        and _str_column(ta, 100) and _str_column(fmt, 40)
    ):  # fmt: skip
        return None
    ts = _ts_column(list(map(itemgetter("timestamp"), items)))
    amount = _amount_column(list(map(itemgetter("amount"), items)))
    if ts is None or amount is None:
        return None
    cur = _CURRENCY_FAST
    c = list(map(itemgetter("currency"), items))
    if set(map(type, c)) != {str}:
        return None
    rcur = list(map(cur.get, c))
    if None in rcur:
        return None
    paid_raw = list(map(dict.get, items, repeat("amount_paid"))) if "amount_paid" in present else None
    if paid_raw is None or set(map(type, paid_raw)) == {type(None)}:
        paid = amount
    elif None in paid_raw:
        return None  # some given, some not: the per-record path
    else:
        got = _amount_column(paid_raw)
        if got is None:
            return None
        paid = got
    pcur_raw: list[Any] | None = (
        list(map(dict.get, items, repeat("payment_currency"))) if "payment_currency" in present else None
    )
    if pcur_raw is None or set(map(type, pcur_raw)) == {type(None)}:
        pcur = rcur
    elif set(map(type, pcur_raw)) != {str}:
        return None
    else:
        pcur = list(map(cur.get, pcur_raw))
        if None in pcur:
            return None
    from_acc = list(map(":".join, zip(fb, fa, strict=True)))  # model.schemas.account_id
    to_acc = list(map(":".join, zip(tb, ta, strict=True)))
    return [
        {"id": a, "ts": b, "from_bank": c, "from_account": d, "to_bank": e, "to_account": f, "amount_received": g,
         "receiving_currency": h, "amount_paid": i, "payment_currency": j, "payment_format": k}
        for a, b, c, d, e, f, g, h, i, j, k in zip(tid, ts, fb, from_acc, tb, to_acc, amount, rcur, paid, pcur, fmt,
                                                   strict=True)
    ]  # fmt: skip


def fast_records(items: list[Any]) -> list[dict[str, Any]] | None:
    """Normalised records of already-parsed JSON objects when every one is plainly valid (strings of
    the right length, ISO 8601 time, non-negative numbers, known currency, no party details);
    None as soon as one is not, and the caller validates with the pydantic models instead (which
    gives the field-precise 422s). Valid input gives the same records on both paths.

    A batch is checked column by column first (:func:`_fast_columns`); what that path does not
    settle, and small requests, take the per-record checks below."""
    if len(items) >= _COLUMNAR_FROM:
        done = _fast_columns(items)
        if done is not None:
            return done
    return _fast_rows(items)


def _fast_rows(items: list[Any]) -> list[dict[str, Any]] | None:
    """:func:`fast_records`, one transaction at a time."""
    out: list[dict[str, Any]] = []
    append = out.append
    cur = _CURRENCY_FAST
    required, allowed = _REQUIRED, _ALLOWED
    str_ = str
    for obj in items:
        if type(obj) is not dict:
            return None
        keys = obj.keys()
        if not (keys >= required and keys <= allowed):
            return None
        tid, fb, fa = obj["id"], obj["from_bank"], obj["from_account"]
        tb, ta, fmt = obj["to_bank"], obj["to_account"], obj["payment_format"]
        # the lengths of _STR_FIELDS, spelt out (one expression instead of a loop per field)
        if not (
            type(tid) is str_ and 0 < len(tid) <= 200 and type(fb) is str_ and 0 < len(fb) <= 64
            and type(fa) is str_ and 0 < len(fa) <= 100 and type(tb) is str_ and 0 < len(tb) <= 64
            and type(ta) is str_ and 0 < len(ta) <= 100 and type(fmt) is str_ and 0 < len(fmt) <= 40
        ):  # fmt: skip
            return None
        if obj.get("from_party") is not None or obj.get("to_party") is not None:
            return None
        ts_raw = obj["timestamp"]
        ts = _fast_ts(ts_raw) if type(ts_raw) is str_ else None
        amount = _fast_amount(obj["amount"])
        c = obj["currency"]
        rcur = cur.get(c) if type(c) is str_ else None
        if ts is None or amount is None or rcur is None:
            return None
        paid_raw = obj.get("amount_paid")
        paid = amount if paid_raw is None else _fast_amount(paid_raw)
        pcur_raw = obj.get("payment_currency")
        pcur = rcur if pcur_raw is None else (cur.get(pcur_raw) if type(pcur_raw) is str_ else None)
        if paid is None or pcur is None:
            return None
        append(
            {
                "id": tid,
                "ts": ts,
                "from_bank": fb,
                "from_account": f"{fb}:{fa}",  # model.schemas.account_id
                "to_bank": tb,
                "to_account": f"{tb}:{ta}",
                "amount_received": amount,
                "receiving_currency": rcur,
                "amount_paid": paid,
                "payment_currency": pcur,
                "payment_format": fmt,
            }
        )
    return out
