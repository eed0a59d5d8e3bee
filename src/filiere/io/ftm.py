"""FollowTheMoney JSON lines (OpenSanctions, OCCRP Aleph): one entity per line.

- Person, Company, Organization, LegalEntity (and other LegalEntity schemata) → parties (the FtM id
  is the party id; an AMLworld accounts file's Entity IDs match them);
- BankAccount (IBAN or account number at its BIC or bank name) and CryptoWallet (public key on its
  currency) → accounts; ``CryptoWallet:holder`` and ``Ownership`` (owner → asset) set the owner;
- Payment → a transaction ``ftm:<entity id>``, from ``payerAccount`` (else the payer party, as
  account ``FTM:PARTY/<id>``) to ``beneficiaryAccount`` (else the beneficiary party).

Every non-blank line is one record: a line that is not JSON, not a valid entity, of a schema
filiere does not use, or a Payment lacking amount, currency, date or ends goes to quarantine.
Entities are validated with the ``followthemoney`` model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from filiere.io._records import Reject, dumps, parse_amount, parse_currency, parse_ts, tables
from filiere.io.result import Batch, UnreadableFileError
from filiere.model import account_id

#: party column → FtM properties read into it, first non-empty wins (shared with the columnar
#: sidecar reader of ``filiere.scoring.evaluate``, which must give the same tables)
PARTY_FIELDS = {
    "birth_date": ("birthDate", "incorporationDate"),
    "nationality": ("nationality", "citizenship"),
    "country": ("country", "jurisdiction", "mainCountry"),
    "address": ("address", "addressFull"),
    "phone": ("phone",),
    "email": ("email",),
    "id_number": ("idNumber", "registrationNumber", "taxNumber", "innCode", "vatCode", "leiCode"),
}


#: the BankAccount properties the reader turns into columns (the rest go to ``properties``)
ACCOUNT_PROPS = ("iban", "accountNumber", "bic", "bankName")


class _Entity:
    """An FtM proxy with the properties as written in the file."""

    __slots__ = ("id", "properties", "proxy", "raw", "schema")

    def __init__(self, proxy: Any, raw: dict[str, Any]) -> None:
        self.proxy = proxy
        self.raw = raw
        self.id: str = proxy.id
        self.schema = proxy.schema
        self.properties: dict[str, Any] = proxy.properties

    def first(self, prop: str, quiet: bool = True) -> Any:
        return self.proxy.first(prop, quiet=quiet)


def _first(proxy: _Entity, *props: str) -> str | None:
    """First value of the first property set, as written in the file (FtM's cleaning drops values
    it cannot validate, such as an IBAN with a wrong checksum, which investigators still need)."""
    raw = proxy.raw
    for p in props:
        vals = raw.get(p)
        if isinstance(vals, list) and vals and vals[0] not in (None, ""):
            return str(vals[0])
        if isinstance(vals, str | int | float) and vals != "":
            return str(vals)
        if p in proxy.schema.properties:
            v = proxy.first(p, quiet=True)
            if v:
                return str(v)
    return None


def _others(proxy: Any, used: set[str]) -> str | None:
    return dumps({k: v for k, v in proxy.properties.items() if k not in used})


def read_ftm(path: Path, file_id: str) -> Batch:
    try:
        from followthemoney import model
    except ImportError as exc:  # pragma: no cover - followthemoney is in the report extra
        from filiere.errors import MissingExtraError

        raise MissingExtraError("followthemoney", "report") from exc
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    if b"\x00" in data[:4096]:
        raise UnreadableFileError(f"{path}: binary data, not FollowTheMoney JSON lines")
    quarantine: list[dict[str, Any]] = []
    entities: list[tuple[int, Any, str]] = []
    read = 0
    for n, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        read += 1
        text = line.decode("utf-8", "replace").rstrip("\r")

        def bad(reason: str, field: str | None = None, n: int = n, text: str = text) -> None:
            quarantine.append(
                {
                    "path": str(path),
                    "row_number": n,
                    "location": "line",
                    "field": field,
                    "reason": reason,
                    "raw": text[:4000],
                }
            )

        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad("bad encoding: not UTF-8")
            continue
        try:
            obj = json.loads(text)
        except ValueError as exc:
            bad(f"bad JSON: {exc}")
            continue
        if not isinstance(obj, dict):
            bad("bad JSON: not an object")
            continue
        try:
            proxy = model.get_proxy(obj, cleaned=False)
        except Exception as exc:
            bad(f"invalid entity: {exc}", "schema")
            continue
        if not proxy.id:
            bad("missing field", "id")
            continue
        props = obj.get("properties")
        entities.append((n, _Entity(proxy, props if isinstance(props, dict) else {}), text))

    parties: dict[str, dict[str, Any]] = {}
    accounts: dict[str, dict[str, Any]] = {}  # FtM id -> account row
    owners: dict[str, str] = {}
    payments: list[tuple[int, Any, str]] = []
    other = 0
    for n, proxy, text in entities:
        s = proxy.schema
        if s.name == "Payment":
            payments.append((n, proxy, text))
        elif s.is_a("LegalEntity"):
            used = {p for props in PARTY_FIELDS.values() for p in props} | {"name"}
            row = {"party_id": proxy.id, "schema": s.name, "name": _first(proxy, "name")}
            for col, props in PARTY_FIELDS.items():
                row[col] = _first(proxy, *props)
            row["properties"] = _others(proxy, used)
            row["source_file_id"] = file_id
            parties[proxy.id] = row
            other += 1
        elif s.name in ("BankAccount", "CryptoWallet"):
            if s.name == "BankAccount":
                number = _first(proxy, "iban", "accountNumber")
                bic = _first(proxy, "bic")
                bank = (bic.upper()[:8] if bic and len(bic) == 11 and bic.upper().endswith("XXX") else bic) or _first(
                    proxy, "bankName"
                )
                kind, currency = "bank", None
                used = set(ACCOUNT_PROPS)
            else:
                number = _first(proxy, "publicKey", "cryptoAddress", "accountId")
                bank = _first(proxy, "currencySymbol", "blockchain") or "CRYPTO"
                kind, currency = "crypto", _first(proxy, "currencySymbol")
                used = {"publicKey", "cryptoAddress", "accountId", "currencySymbol", "holder"}
                holder = _first(proxy, "holder")
                if holder:
                    owners[proxy.id] = holder
            number = (number or f"ID/{proxy.id}").replace(" ", "")
            bank = (bank or ("FTM" if kind == "bank" else "CRYPTO")).upper()
            accounts[proxy.id] = {
                "account_id": account_id(bank, number),
                "bank": bank,
                "account_number": number,
                "bank_name": _first(proxy, "bankName"),
                "currency": currency,
                "kind": kind,
                "owner_party_id": None,
                "properties": dumps(
                    {"ftm_id": proxy.id, **{k: v for k, v in proxy.properties.items() if k not in used}}
                ),
                "source_file_id": file_id,
            }
            other += 1
        elif s.name == "Ownership":
            owner, asset = _first(proxy, "owner"), _first(proxy, "asset")
            if owner and asset:
                owners[asset] = owner
                other += 1
            else:
                quarantine.append(
                    {
                        "path": str(path),
                        "row_number": n,
                        "location": "line",
                        "field": "owner" if not owner else "asset",
                        "reason": "missing field",
                        "raw": text[:4000],
                    }
                )
        else:
            quarantine.append(
                {
                    "path": str(path),
                    "row_number": n,
                    "location": "line",
                    "field": "schema",
                    "reason": f"unsupported schema: {s.name}",
                    "raw": text[:4000],
                }
            )
    for asset, owner in owners.items():
        if asset in accounts:
            accounts[asset]["owner_party_id"] = owner

    txs: list[dict[str, Any]] = []
    for n, proxy, text in payments:
        try:
            amount_text = _first(proxy, "amount")
            cur_text = _first(proxy, "currency")
            if amount_text is None:
                for prop, code in (("amountEur", "EUR"), ("amountUsd", "USD")):
                    if _first(proxy, prop):
                        amount_text, cur_text = _first(proxy, prop), cur_text or code
                        break
            amount = parse_amount(amount_text.replace(",", "") if amount_text else None, "amount", "amount")
            currency = parse_currency(cur_text, "currency", "currency")
            ts = parse_ts(_first(proxy, "date", "startDate"), "ts", "date")
            ends = []
            for acc_prop, party_prop, role in (
                ("payerAccount", "payer", "from"),
                ("beneficiaryAccount", "beneficiary", "to"),
            ):
                acc_ref = _first(proxy, acc_prop)
                party_ref = _first(proxy, party_prop)
                if acc_ref and acc_ref in accounts:
                    a = accounts[acc_ref]
                elif acc_ref or party_ref:
                    number = f"ID/{acc_ref}" if acc_ref else f"PARTY/{party_ref}"
                    a = {
                        "account_id": account_id("FTM", number),
                        "bank": "FTM",
                        "account_number": number,
                        "kind": "bank",
                        "owner_party_id": party_ref,
                        "source_file_id": file_id,
                    }
                    accounts.setdefault(f"~{a['account_id']}", a)
                else:
                    raise Reject(f"{role}_account", f"{acc_prop}|{party_prop}", "missing field")
                ends.append(a)
        except Reject as r:
            quarantine.append(
                {
                    "path": str(path),
                    "row_number": n,
                    "location": r.location,
                    "field": r.field,
                    "reason": r.reason,
                    "raw": text[:4000],
                }
            )
            continue
        used = {"amount", "currency", "date", "payer", "payerAccount", "beneficiary", "beneficiaryAccount"}
        txs.append(
            {
                "tx_id": f"ftm:{proxy.id}",
                "ts": ts,
                "from_bank": ends[0]["bank"],
                "from_account": ends[0]["account_id"],
                "to_bank": ends[1]["bank"],
                "to_account": ends[1]["account_id"],
                "amount_received": amount,
                "receiving_currency": currency,
                "amount_paid": amount,
                "payment_currency": currency,
                "payment_format": "Wire",
                "is_laundering": None,
                "source_file_id": file_id,
                "source_row": n,
                "properties": dumps(
                    {
                        "ftm_id": proxy.id,
                        "payer": _first(proxy, "payer"),
                        "beneficiary": _first(proxy, "beneficiary"),
                        **{k: v for k, v in proxy.properties.items() if k not in used},
                    }
                ),
            }
        )
    t, a, p, q = tables(txs, list(accounts.values()), list(parties.values()), quarantine)
    assert read == len(txs) + len(quarantine) + other
    return Batch(t, q, read, accounts=a, parties=p, other=other)
