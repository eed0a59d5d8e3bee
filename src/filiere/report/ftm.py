"""FollowTheMoney export of a case: the entities OCCRP Aleph, yente and nomenklatura read.

Person / Company / Organization / LegalEntity for parties, BankAccount (or CryptoWallet) for
accounts, Ownership linking holders to their accounts, Payment for transactions and Sanction for
screening hits, built with the ``followthemoney`` library itself so that what it writes it reads.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

from filiere._lazy import require
from filiere.report.bundle import Account, CaseBundle, Party

#: FtM schemata a party row may carry; anything else is written as LegalEntity
PARTY_SCHEMATA = ("Person", "Company", "Organization", "LegalEntity", "PublicBody")

_PARTY_PROPS = {
    "Person": ("birthDate", "nationality", "idNumber", "gender", "firstName", "lastName", "position", "alias"),
    "default": ("idNumber", "incorporationDate", "registrationNumber", "jurisdiction", "sector", "alias"),
}


def _id(prefix: str, key: str) -> str:
    """A stable FtM id (letters, digits, ``.``, ``-``, ``_`` only; a short hash keeps it unique)."""
    slug = re.sub(r"[^\w.\-]", "-", key)
    if slug != key:
        slug += "-" + hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:8]
    return f"filiere-{prefix}-{slug}"


def _party_entity(model: Any, party: Party, dataset: str) -> Any:
    schema = party.schema if party.schema in PARTY_SCHEMATA else "LegalEntity"
    e = model.make_entity(schema)
    e.id = _id("party", party.party_id)
    e.add("name", party.name)
    e.add("country", party.country, quiet=True)
    e.add("address", party.address, quiet=True)
    e.add("phone", party.phone, quiet=True)
    e.add("email", party.email, quiet=True)
    e.add("idNumber", party.id_number, quiet=True)
    if schema == "Person":
        e.add("birthDate", party.birth_date, quiet=True)
        e.add("nationality", party.nationality, quiet=True)
    if party.entity_type:
        e.add("notes", f"role: {party.entity_type}", quiet=True)
    for prop in _PARTY_PROPS["Person" if schema == "Person" else "default"]:
        value = party.properties.get(prop)
        if value not in (None, "", []):
            e.add(prop, value, quiet=True)
    e.add("publisher", dataset, quiet=True)
    return e


def _account_entity(model: Any, acc: Account) -> Any:
    if acc.kind == "crypto":
        e = model.make_entity("CryptoWallet")
        e.id = _id("account", acc.account_id)
        e.add("publicKey", acc.account_number)
        e.add("currency", acc.currency, quiet=True)
        e.add("summary", f"wallet {acc.account_number} ({acc.bank_name or acc.bank})")
        return e
    e = model.make_entity("BankAccount")
    e.id = _id("account", acc.account_id)
    e.add("accountNumber", acc.account_number)
    e.add("bankName", acc.bank_name or f"bank {acc.bank}")
    e.add("currency", acc.currency, quiet=True)
    e.add("iban", acc.properties.get("iban"), quiet=True)
    e.add("bic", acc.properties.get("swift") or acc.properties.get("bic"), quiet=True)
    e.add("openingDate", acc.properties.get("opened"), quiet=True)
    e.add("accountType", acc.kind, quiet=True)
    return e


def case_entities(bundle: CaseBundle, dataset: str = "filiere") -> Iterator[Any]:
    """The case as FtM entity proxies (parties, accounts, holders, payments, sanctions)."""
    ftm = require("followthemoney", "report")
    model = ftm.model
    for party in bundle.parties:
        yield _party_entity(model, party, dataset)
    for acc in bundle.accounts:
        yield _account_entity(model, acc)
        owner = bundle.party(acc.owner_party_id)
        if owner is not None:
            own = model.make_entity("Ownership")
            own.id = _id("ownership", f"{owner.party_id}-{acc.account_id}")
            own.add("owner", _id("party", owner.party_id))
            own.add("asset", _id("account", acc.account_id))
            own.add("role", "account holder")
            yield own
    alerts_of_tx: dict[str, list[str]] = {}
    for a in bundle.alerts:
        for t in a.tx_ids:
            alerts_of_tx.setdefault(t, []).append(a.alert_id)
    for tx in bundle.transactions:
        pay = model.make_entity("Payment")
        pay.id = _id("payment", tx.tx_id)
        pay.add("transactionNumber", tx.tx_id)
        pay.add("date", tx.ts.isoformat(timespec="seconds"))
        pay.add("amount", tx.amount_paid)
        pay.add("currency", tx.payment_currency, quiet=True)
        pay.add("purpose", tx.properties.get("remittance") or tx.properties.get("purpose"), quiet=True)
        pay.add("summary", f"{tx.payment_format}; received {tx.amount_received} {tx.receiving_currency}")
        pay.add("payerAccount", _id("account", tx.from_account))
        pay.add("beneficiaryAccount", _id("account", tx.to_account))
        payer, payee = bundle.owner(tx.from_account), bundle.owner(tx.to_account)
        if payer is not None:
            pay.add("payer", _id("party", payer.party_id))
        if payee is not None:
            pay.add("beneficiary", _id("party", payee.party_id))
        if tx.tx_id in alerts_of_tx:
            pay.add("description", "alerts: " + ", ".join(alerts_of_tx[tx.tx_id]))
        yield pay
    for hit in bundle.screening_hits:
        if hit.party_id is None or bundle.party(hit.party_id) is None:
            continue
        s = model.make_entity("Sanction")
        s.id = _id("sanction", f"{hit.alert_id}-{hit.entity_id}")
        s.add("entity", _id("party", hit.party_id))
        s.add("authority", hit.list_id, quiet=True)
        s.add("authorityId", hit.entity_id, quiet=True)
        s.add("program", list(hit.programs), quiet=True)
        s.add("reason", f"screening match {hit.matched_name!r} ~ {hit.caption!r}, score {hit.score:.2f}")
        s.add("summary", hit.explanation or None, quiet=True)
        yield s


def export_ftm_lines(bundle: CaseBundle, dataset: str = "filiere") -> Iterator[str]:
    """One JSON document per entity (FtM's ``to_dict``), without trailing newline."""
    for entity in case_entities(bundle, dataset):
        yield json.dumps(entity.to_dict(), ensure_ascii=False, sort_keys=True)


def export_ftm(bundle: CaseBundle, dataset: str = "filiere") -> str:
    return "".join(line + "\n" for line in export_ftm_lines(bundle, dataset))
