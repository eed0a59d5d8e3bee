"""The transaction a feed posts, its validation, and the normalised record the service logs.

The API model (pydantic, documented with examples) is kept apart from the internal record (a plain
dict written to the write-ahead log): the record carries account ids (``bank:number``), ISO
currency codes and the timestamp in microseconds since the epoch, naive UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

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


def fast_records(items: list[Any]) -> list[dict[str, Any]] | None:
    """Normalised records of already-parsed JSON objects when every one is plainly valid (strings of
    the right length, ISO 8601 time, non-negative numbers, known currency, no party details);
    None as soon as one is not, and the caller validates with the pydantic models instead (which
    gives the field-precise 422s). Valid input gives the same records on both paths."""
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
