"""goAML reports (STR, SAR, CTR…) from a case, validated against the FIU's schema before writing.

The XML is built with lxml in the schema's element order. Required values a case lacks are not
invented: the builder notes them, the schema validation (``xmlschema``'s XSD 1.1 validator, as
goAML's schema declares ``vc:minVersion="1.1"``) catches the rest, and every problem is reported
against the party, account or transaction it concerns (``party P-7 (Amadou Diallo): birth date is
missing``), never as a schema path.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree

from filiere._lazy import require
from filiere.errors import UserInputError
from filiere.report.bundle import Account, CaseBundle, Party, Transaction
from filiere.report.profile import GoamlProfile

XS = "http://www.w3.org/2001/XMLSchema"

#: human names of goAML fields, with where filiere reads them from
FIELD_NAMES: dict[str, str] = {
    "first_name": "first name",
    "last_name": "last name",
    "birthdate": "birth date (parties.birth_date, a full date)",
    "ssn": "national identity number (parties.id_number)",
    "nationality1": "nationality (parties.nationality)",
    "residence": "country of residence (parties.country)",
    "phones": "phone number (parties.phone)",
    "phone": "phone number (parties.phone)",
    "tph_country_prefix": "international dialling prefix of the phone number (+NNN)",
    "tph_number": "phone number",
    "occupation": "occupation (properties.occupation)",
    "name": "name",
    "commercial_name": "commercial name (properties.commercialName, else the name)",
    "incorporation_legal_form": "legal form",
    "incorporation_number": "registration number (parties.id_number)",
    "business": "line of business (parties.entity_type)",
    "incorporation_country_code": "country of incorporation (parties.country)",
    "director_id": "director (properties.directors: the name of a person)",
    "incorporation_date": "incorporation date (properties.incorporationDate, a full date)",
    "institution_name": "institution name (accounts.bank_name)",
    "institution_code": "institution code (accounts.bank)",
    "swift": "SWIFT/BIC code",
    "branch": "branch (accounts.properties.branch, else the profile's institution.branch)",
    "account": "account number",
    "currency_code": "currency (accounts.currency)",
    "account_name": "account holder's name (owner party)",
    "client_number": "client number (accounts.properties.client_number, else the owner's party id)",
    "personal_account_type": "account type (profile account_types)",
    "signatory": "signatory: a person holding the account (accounts.owner_party_id)",
    "signatory_entity": "signatory: a person who operates the company's account (the company's properties.directors"
    " naming a person of the case)",
    "opened": "opening date (accounts.properties.opened, a full date)",
    "status_code": "account status (profile account_status_code)",
    "from_country": "country of the sending side",
    "to_country": "country of the receiving side",
    "country_code": "country",
    "address": "address",
    "city": "city",
    "amount_local": "amount in local currency",
    "transmode_code": "transaction mode (profile transmodes)",
    "from_funds_code": "funds type (profile funds)",
    "to_funds_code": "funds type (profile funds)",
    "indicator": "report indicator (profile indicators)",
    "report_indicators": "report indicator (profile indicators)",
    "rentity_id": "reporting entity id (profile rentity_id)",
    "rentity_branch": "reporting entity branch (profile rentity_branch)",
    "report_code": "report code (profile report_code)",
    "currency_code_local": "local currency (profile currency_code_local)",
    "transactionnumber": "transaction number",
    "foreign_currency_code": "foreign currency code",
}


class GoamlValidationError(UserInputError):
    """The case cannot make a valid goAML report; ``problems`` says what each object lacks."""

    status_code = 422

    def __init__(self, case_id: str, problems: list[str]) -> None:
        self.case_id = case_id
        self.problems = problems
        shown = problems[:25]
        more = f"\n  … and {len(problems) - 25} more" if len(problems) > 25 else ""
        super().__init__(
            f"case {case_id} cannot be reported in goAML as it stands ({len(problems)} problem"
            f"{'s' if len(problems) != 1 else ''}):\n  - " + "\n  - ".join(shown) + more
        )


# ---- schema ------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _schema_cached(path: str, mtime: float, code_lists: tuple[tuple[str, tuple[str, ...]], ...]) -> Any:
    xmlschema = require("xmlschema", "report")
    tree = etree.parse(path)
    for type_name, values in code_lists:
        nodes = tree.getroot().findall(f"{{{XS}}}simpleType[@name='{type_name}']")
        if not nodes:
            raise UserInputError(f"profile code list {type_name!r}: no simple type of that name in {path}")
        restriction = nodes[0].find(f"{{{XS}}}restriction")
        if restriction is None:
            raise UserInputError(f"profile code list {type_name!r}: {path} does not define it by enumeration")
        for enum in restriction.findall(f"{{{XS}}}enumeration"):
            restriction.remove(enum)
        for v in values:
            etree.SubElement(restriction, f"{{{XS}}}enumeration", value=v)
    source = etree.tostring(tree, encoding="unicode")
    return xmlschema.XMLSchema11(source, base_url=str(Path(path).parent))


def load_schema(xsd: Path, code_lists: dict[str, list[str]] | None = None) -> Any:
    """The goAML schema (``xmlschema.XMLSchema11``), with the profile's code lists put in. Cached."""
    if not xsd.exists():
        raise UserInputError(
            f"goAML schema {xsd} not found: set the profile's `schema:` or FILIERE_SHARED_DATA to the folder "
            "holding goaml/goAMLSchema.xsd"
        )
    lists = tuple(sorted((k, tuple(v)) for k, v in (code_lists or {}).items()))
    return _schema_cached(str(xsd.resolve()), xsd.stat().st_mtime, lists)


def schema_for(profile: GoamlProfile, shared_data: Path) -> Any:
    return load_schema(profile.schema_file(shared_data), profile.code_lists)


# ---- small helpers -----------------------------------------------------------------------------
_FULL_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def _sql_date(value: Any) -> str | None:
    """goAML's sql_date (xs:dateTime) from a datetime or a full ISO date; None for partial dates."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0).isoformat()
    m = _FULL_DATE.match(str(value).strip())
    return f"{m.group(1)}-{m.group(2)}-{m.group(3)}T00:00:00" if m else None


def _decimal(x: float, digits: int = 2) -> str:
    return f"{round(float(x), digits):.{digits}f}"


def _country(value: str | None) -> str | None:
    if not value:
        return None
    v = value.strip().upper()
    return v if len(v) == 2 and v.isalpha() else None


_PHONE = re.compile(r"^\s*(?:\+|00)(\d{1,4})[\s.\-/()]*(.+)$")


def _phone(value: str | None) -> tuple[str | None, str] | None:
    """(international prefix, number) from a written phone number; prefix None when absent."""
    if not value:
        return None
    m = _PHONE.match(value)
    if m:
        # prefixes are 1 to 3 digits; a 4th digit belongs to the number
        digits = m.group(1)
        cc, rest = (digits[:3], digits[3:] + m.group(2)) if len(digits) == 4 else (digits, m.group(2))
        return cc, re.sub(r"\D", "", rest) or rest
    return None, re.sub(r"[^\d+]", "", value) or value


def _split_name(party: Party) -> tuple[str | None, str | None]:
    first = party.prop("firstName")
    last = party.prop("lastName")
    if first and last:
        return first, last
    name = (party.name or "").strip()
    if not name:
        return None, None
    parts = name.split()
    if len(parts) == 1:
        return "-", parts[0]  # one-word names (aliases, noms de guerre): goAML needs both parts
    return " ".join(parts[:-1]), parts[-1]


def _norm_path(path: str) -> str:
    return re.sub(r"\[1\]", "", path)


@dataclass(slots=True)
class _Problems:
    """What the case lacks, keyed by (owner, goAML field) so one gap is told once."""

    found: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, owner: str, tag: str, detail: str = "is missing") -> None:
        self.found.setdefault((owner, tag), detail)

    def merge(self, other: _Problems) -> None:
        for key, detail in other.found.items():
            self.found.setdefault(key, detail)

    def messages(self) -> list[str]:
        return [f"{owner}: {FIELD_NAMES.get(tag, tag.replace('_', ' '))} {d}" for (owner, tag), d in self.found.items()]


# ---- builder -----------------------------------------------------------------------------------
class _Builder:
    def __init__(self, bundle: CaseBundle, profile: GoamlProfile, currencies: frozenset[str]) -> None:
        self.b = bundle
        self.p = profile
        self.currencies = currencies
        self.problems = _Problems()
        self.labels: dict[Any, str] = {}  # element -> human owner label

    # elements
    def own(self, el: Any, label: str) -> Any:
        self.labels[el] = label
        return el

    @staticmethod
    def opt(parent: Any, tag: str, value: Any) -> Any | None:
        if value is None or value == "":
            return None
        el = etree.SubElement(parent, tag)
        el.text = str(value)
        return el

    def req(self, parent: Any, tag: str, value: Any, owner: str, detail: str = "is missing") -> Any | None:
        if value is None or value == "":
            self.problems.add(owner, tag, detail)
            return None
        el = etree.SubElement(parent, tag)
        el.text = str(value)
        return el

    # parties
    def _party_comments(self, party: Party) -> str | None:
        lines = [
            f"Screening: {h.matched_name or h.caption} on list {h.list_id} (entry {h.entity_id}, score {h.score:.2f}"
            + (f", programmes {', '.join(h.programs)}" if h.programs else "")
            + ")"
            for h in self.b.screening_hits
            if h.party_id == party.party_id
        ]
        return "\n".join(lines)[:8000] or None

    def phones(self, parent: Any, party: Party, owner: str, required: bool) -> None:
        parsed = _phone(party.phone or party.prop("phone"))
        if parsed is None:
            if required:
                self.problems.add(owner, "phones")
            return
        prefix, number = parsed
        if prefix is None:
            if required:
                self.problems.add(owner, "tph_country_prefix", f"is missing in {party.phone!r}")
            return
        phones = etree.SubElement(parent, "phones")
        ph = etree.SubElement(phones, "phone")
        self.opt(ph, "tph_contact_type", self.p.phone.contact_type)
        self.opt(ph, "tph_communication_type", self.p.phone.communication_type)
        self.opt(ph, "tph_country_prefix", prefix)
        self.opt(ph, "tph_number", number)

    def addresses(self, parent: Any, party: Party) -> None:
        country = _country(party.country) or _country(party.nationality)
        if not party.address or not country:
            return
        city = party.prop("city") or party.address.split(",")[-1].strip() or party.address
        addrs = etree.SubElement(parent, "addresses")
        a = etree.SubElement(addrs, "address")
        self.opt(a, "address_type", self.p.location.address_type)
        self.opt(a, "address", party.address[:100])
        self.opt(a, "city", city[:255])
        self.opt(a, "country_code", country)

    def person(self, parent: Any, tag: str, party: Party, mine: bool) -> Any:
        owner = f"party {party.party_id} ({party.name or 'no name'})" + (
            ", a client of the institution" if mine else ""
        )
        el = self.own(etree.SubElement(parent, tag), owner)
        gender = (party.prop("gender") or "").lower()
        self.opt(el, "gender", {"male": "M", "female": "F", "m": "M", "f": "F"}.get(gender))
        first, last = _split_name(party)
        self.req(el, "first_name", first, owner)
        self.req(el, "last_name", last, owner)
        birth = _sql_date(party.birth_date)
        if mine:
            detail = (
                f"is only known as {party.birth_date!r} (goAML needs a full date)" if party.birth_date else "is missing"
            )
            self.req(el, "birthdate", birth, owner, detail)
        else:
            self.opt(el, "birthdate", birth)
        self.opt(el, "birth_place", party.prop("birthPlace"))
        self.opt(el, "alias", party.prop("alias"))
        if mine:
            self.req(el, "ssn", party.id_number, owner)
        else:
            self.opt(el, "ssn", party.id_number)
        nat, res = _country(party.nationality), _country(party.country) or _country(party.nationality)
        if mine:
            self.req(el, "nationality1", nat, owner)
            self.req(el, "residence", res, owner)
        else:
            self.opt(el, "nationality1", nat)
            self.opt(el, "residence", res)
        self.phones(el, party, owner, required=mine)
        self.addresses(el, party)
        if party.email and "@" in party.email:
            self.opt(el, "email", party.email)
        occupation = party.prop("occupation", "position")
        if mine:
            self.req(el, "occupation", occupation, owner)
        else:
            self.opt(el, "occupation", occupation)
        self.opt(el, "comments", self._party_comments(party))
        return el

    def directors(self, party: Party) -> list[Party]:
        """The company's directors (``properties.directors``: party ids or names), as case parties if known."""
        raw = party.properties.get("directors") or []
        names = [raw] if isinstance(raw, str) else list(raw)
        by_name = {p.name: p for p in self.b.parties if p.is_person and p.name}
        out: list[Party] = []
        for d in names:
            key = str(d.get("name") or d.get("party_id") if isinstance(d, dict) else d)
            found = self.b.party(key) or by_name.get(key)
            out.append(found or Party(party_id=f"{party.party_id}/director", schema="Person", name=key, known=False))
        return out

    def entity(self, parent: Any, tag: str, party: Party, mine: bool) -> Any:
        owner = f"party {party.party_id} ({party.name or 'no name'})" + (
            ", a client of the institution" if mine else ""
        )
        el = self.own(etree.SubElement(parent, tag), owner)
        put = self.req if mine else (lambda p, t, v, o, d="": self.opt(p, t, v))
        put(el, "name", party.name, owner)
        put(el, "commercial_name", party.prop("commercialName") or party.name, owner)
        put(el, "incorporation_legal_form", self.p.legal_form(party.entity_type) if mine else None, owner)
        put(el, "incorporation_number", party.id_number or party.prop("registrationNumber"), owner)
        put(el, "business", party.entity_type or party.prop("sector"), owner)
        self.phones(el, party, owner, required=mine)
        self.addresses(el, party)
        if party.email and "@" in party.email:
            self.opt(el, "email", party.email)
        put(el, "incorporation_country_code", _country(party.country) or _country(party.prop("jurisdiction")), owner)
        directors = self.directors(party)
        if directors:
            for dp in directors[:5]:
                first, last = _split_name(dp)
                de = etree.SubElement(el, "director_id")
                self.opt(de, "first_name", first)
                self.opt(de, "last_name", last)
                self.opt(de, "role", self.p.director_role)
        elif mine:
            self.problems.add(owner, "director_id")
        incorporated = _sql_date(party.prop("incorporationDate"))
        if mine:
            self.req(el, "incorporation_date", incorporated, owner)
        else:
            self.opt(el, "incorporation_date", incorporated)
        self.opt(el, "comments", self._party_comments(party))
        return el

    def party(self, parent: Any, tag_base: str, party: Party, mine: bool) -> Any:
        if party.is_person:
            return self.person(parent, f"{tag_base}_person" if tag_base else "person", party, mine)
        return self.entity(parent, f"{tag_base}_entity" if tag_base else "entity", party, mine)

    def account(self, parent: Any, tag: str, acc: Account, mine: bool, tx_currency: str | None) -> Any:
        owner_party = self.b.party(acc.owner_party_id)
        owner = f"account {acc.account_id}" + (f" of {owner_party.name}" if owner_party and owner_party.name else "")
        owner += ", held at the institution" if mine else ""
        el = self.own(etree.SubElement(parent, tag), owner)
        inst = self.p.institution if mine else None
        self.req(el, "institution_name", acc.bank_name or (inst.name if inst else None) or f"Bank {acc.bank}", owner)
        swift = acc.prop("swift") or acc.prop("bic") or (inst.swift if inst else None)
        if swift:
            self.opt(el, "swift", swift)
        else:
            self.req(el, "institution_code", acc.bank, owner)
        self.opt(el, "institution_country", None)
        if acc.kind in ("mobile", "crypto"):
            self.opt(el, "non_bank_institution", "true")
        branch = acc.prop("branch") or (inst.branch if inst else None)
        self.req(el, "branch", branch, owner) if mine else self.opt(el, "branch", branch)
        self.req(el, "account", acc.account_number, owner)
        currency = acc.currency or tx_currency
        currency = currency if currency in self.currencies else None
        holder_name = (owner_party.name if owner_party else None) or acc.prop("name")
        client = acc.prop("client_number") or (owner_party.party_id if owner_party else None)
        if mine:
            self.req(el, "currency_code", currency, owner)
            self.req(el, "account_name", holder_name[:255] if holder_name else None, owner)
            self.opt(el, "iban", acc.prop("iban"))
            if client and len(client) > 30:
                self.problems.add(owner, "client_number", f"{client!r} is longer than goAML's 30 characters")
                client = None
            self.req(el, "client_number", client, owner)
            self.req(el, "personal_account_type", self.p.account_type(acc.kind), owner)
        else:
            self.opt(el, "currency_code", currency)
            self.opt(el, "account_name", holder_name[:255] if holder_name else None)
            self.opt(el, "iban", acc.prop("iban"))
            self.opt(el, "client_number", client if client and len(client) <= 30 else None)
            self.opt(el, "personal_account_type", self.p.account_type(acc.kind))
        if owner_party is not None and not owner_party.is_person:
            self.entity(el, "t_entity", owner_party, mine)
        if owner_party is not None and owner_party.is_person:
            sig = etree.SubElement(el, "signatory")
            self.opt(sig, "is_primary", "1")
            self.person(sig, "t_person", owner_party, mine)
            self.opt(sig, "role", self.p.signatory_role)
        elif owner_party is not None and (known := [d for d in self.directors(owner_party) if d.known]):
            for director in known:
                sig = etree.SubElement(el, "signatory")
                self.opt(sig, "is_primary", "1")
                self.person(sig, "t_person", director, mine)
                self.opt(sig, "role", self.p.director_signatory_role)
        elif mine:
            self.problems.add(owner, "signatory_entity" if owner_party is not None else "signatory")
        opened = _sql_date(acc.prop("opened") or acc.prop("openingDate"))
        if mine:
            self.req(el, "opened", opened, owner)
            self.req(el, "status_code", self.p.account_status_code, owner)
        else:
            self.opt(el, "opened", opened)
        return el

    # transactions
    def side_country(self, acc: Account) -> str | None:
        owner = self.b.party(acc.owner_party_id)
        return (
            _country(acc.prop("country"))
            or (_country(owner.country) or _country(owner.nationality) if owner else None)
            or (self.p.institution.country if self.p.institution and self.p.is_mine(acc.bank) else None)
            or _country(self.p.default_country)
        )

    def amount_local(self, tx: Transaction, owner: str) -> str | None:
        local = self.p.currency_code_local
        if tx.payment_currency == local:
            return _decimal(tx.amount_paid)
        if tx.receiving_currency == local:
            return _decimal(tx.amount_received)
        for amount, cur in ((tx.amount_paid, tx.payment_currency), (tx.amount_received, tx.receiving_currency)):
            rate = self.p.exchange_rates.get(cur)
            if rate:
                return _decimal(amount * rate)
        self.problems.add(
            owner,
            "amount_local",
            f"cannot be computed: it moved {tx.payment_currency}/{tx.receiving_currency} and the profile "
            f"'{self.p.name}' has no exchange rate from either into {local}",
        )
        return None

    def foreign(self, parent: Any, tag: str, amount: float, currency: str) -> None:
        if currency == self.p.currency_code_local or currency not in self.currencies:
            return
        rate = self.p.exchange_rates.get(currency)
        if not rate:
            return
        fc = etree.SubElement(parent, tag)
        self.opt(fc, "foreign_currency_code", currency)
        self.opt(fc, "foreign_amount", _decimal(amount, 8 if amount < 1 else 2))
        self.opt(fc, "foreign_exchange_rate", _decimal(rate, 6))

    def transaction(self, parent: Any, tx: Transaction) -> None:
        owner = f"transaction {tx.tx_id} ({tx.ts:%Y-%m-%d %H:%M}, {tx.amount_paid:,.2f} {tx.payment_currency})"
        el = self.own(etree.SubElement(parent, "transaction"), owner)
        self.req(el, "transactionnumber", tx.tx_id[:100], owner)
        ref = tx.properties.get("reference") or tx.properties.get("end_to_end_id")
        self.opt(el, "internal_ref_number", str(ref)[:100] if ref else None)
        etree.SubElement(el, "transaction_location").text = str(
            tx.properties.get("location") or self.p.transaction_location
        )[:255]
        desc = [f"{tx.payment_format} of {tx.amount_paid:,.2f} {tx.payment_currency}"]
        if tx.receiving_currency != tx.payment_currency or tx.amount_received != tx.amount_paid:
            desc.append(f"received as {tx.amount_received:,.2f} {tx.receiving_currency}")
        desc.append(f"from account {tx.from_account} to account {tx.to_account}")
        remittance = tx.properties.get("remittance") or tx.properties.get("purpose")
        if remittance:
            desc.append(f"remittance: {remittance}")
        etree.SubElement(el, "transaction_description").text = "; ".join(desc)[:8000]
        self.req(el, "date_transaction", _sql_date(tx.ts), owner)
        self.req(el, "transmode_code", self.p.transmode(tx.payment_format), owner)
        self.opt(el, "transmode_comment", tx.payment_format[:50])
        self.req(el, "amount_local", self.amount_local(tx, owner), owner)
        for side in ("from", "to"):
            acc_id = tx.from_account if side == "from" else tx.to_account
            bank = tx.from_bank if side == "from" else tx.to_bank
            acc = self.b.account(acc_id) or Account(acc_id, bank, acc_id.partition(":")[2] or acc_id, known=False)
            mine = self.p.is_mine(acc.bank)
            holder = etree.SubElement(el, f"t_{side}_my_client" if mine else f"t_{side}")
            self.req(holder, f"{side}_funds_code", self.p.funds_code(tx.payment_format), owner)
            amount, cur = (
                (tx.amount_paid, tx.payment_currency) if side == "from" else (tx.amount_received, tx.receiving_currency)
            )
            self.foreign(holder, f"{side}_foreign_currency", amount, cur)
            self.account(holder, f"{side}_account", acc, mine, cur)
            self.req(
                holder,
                f"{side}_country",
                self.side_country(acc),
                f"{owner}, {'sending' if side == 'from' else 'receiving'} account {acc.account_id}",
            )

    def activity(self, parent: Any) -> None:
        act = etree.SubElement(parent, "activity")
        parties = etree.SubElement(act, "report_parties")
        for party in self.b.parties:
            rp = etree.SubElement(parties, "report_party")
            self.party(rp, "", party, mine=False)
            self.opt(rp, "reason", self._party_comments(party))
        for acc in self.b.accounts:
            rp = etree.SubElement(parties, "report_party")
            self.account(rp, "account", acc, False, acc.currency)
        if not len(parties):
            self.problems.add(
                f"case {self.b.case.case_id}", "report_party", "— the case names no party, account or transaction"
            )

    # report
    def reason(self) -> str:
        c = self.b.case
        lines = [c.title]
        if c.summary:
            lines.append(c.summary)
        for a in self.b.alerts:
            codes = f" [{', '.join(a.indicator_codes)}]" if a.indicator_codes else ""
            lines.append(f"- {a.severity} {a.source} alert {a.alert_id}: {a.summary}{codes}")
        return "\n".join(lines)[:8000]

    def report(self, report_code: str, report_date: datetime, action: str | None) -> Any:
        p, owner = self.p, f"profile '{self.p.name}'"
        root = self.own(etree.Element("report"), f"case {self.b.case.case_id}")
        self.req(root, "rentity_id", p.rentity_id, owner)
        self.req(root, "rentity_branch", p.rentity_branch, owner)
        self.req(root, "submission_code", p.submission_code, owner)
        self.req(root, "report_code", report_code, owner)
        self.opt(root, "entity_reference", self.b.case.case_id[:255])
        self.req(root, "report_date", _sql_date(report_date), owner)
        self.req(root, "currency_code_local", p.currency_code_local, owner)
        if p.reporting_person is not None:
            rp = self.own(etree.SubElement(root, "reporting_person"), f"{owner}, reporting person")
            self.opt(rp, "title", p.reporting_person.title)
            self.opt(rp, "first_name", p.reporting_person.first_name)
            self.opt(rp, "last_name", p.reporting_person.last_name)
            self.opt(rp, "email", p.reporting_person.email)
            self.opt(rp, "occupation", p.reporting_person.occupation)
        else:
            self.req(root, "reporting_user_code", p.reporting_user_code, owner, "is missing (or reporting_person)")
        loc = self.own(etree.SubElement(root, "location"), f"{owner}, location")
        self.opt(loc, "address_type", p.location.address_type)
        self.opt(loc, "address", p.location.address)
        self.opt(loc, "city", p.location.city)
        self.opt(loc, "country_code", p.location.country_code)
        self.opt(root, "reason", self.reason())
        self.opt(root, "action", action or p.action)
        if self.b.transactions:
            for tx in self.b.transactions:
                self.transaction(root, tx)
        else:
            self.activity(root)
        indicators = p.map_indicators(self.b.indicator_codes())
        ri = self.own(etree.SubElement(root, "report_indicators"), f"case {self.b.case.case_id}")
        if not indicators:
            codes = ", ".join(self.b.indicator_codes()) or "none"
            self.problems.add(
                f"case {self.b.case.case_id}",
                "indicator",
                f"is missing: the alerts' codes ({codes}) are not in profile '{p.name}' indicators, "
                "and the profile sets no fallback_indicator",
            )
        for code in indicators:
            etree.SubElement(ri, "indicator").text = code
        return root


# ---- public API --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class GoamlReport:
    xml: bytes
    report_code: str
    transactions: int
    parties: int
    indicators: list[str]


def _schema_problems(schema: Any, root: Any, labels: dict[Any, str]) -> _Problems:
    tree = root.getroottree()
    by_path = {_norm_path(tree.getpath(el)): label for el, label in labels.items()}
    problems = _Problems()
    doc = etree.tostring(root, encoding="unicode")
    for err in schema.iter_errors(doc):
        path = _norm_path(err.path or "")
        parts = path.split("/")
        owner = "report"
        for i in range(len(parts), 0, -1):
            hit = by_path.get("/".join(parts[:i]))
            if hit:
                owner = hit
                break
        expected = [str(t) for t in (getattr(err, "expected_tags", None) or [])]
        if expected:
            problems.add(owner, expected[0], "is missing" if len(expected) == 1 else f"is missing (one of {expected})")
            continue
        tag = parts[-1].split("[")[0] if parts else "value"
        value = err.obj if isinstance(err.obj, str | int | float) else getattr(err.elem, "text", None)
        reason = str(err.reason or err.message)
        if "must be one of" in reason:
            reason = "is not in the FIU's code list"
        problems.add(owner, tag, f"has a value goAML does not accept ({value!r}: {reason})")
    return problems


def build_goaml(
    bundle: CaseBundle,
    profile: GoamlProfile,
    schema: Any,
    *,
    report_code: str | None = None,
    action: str | None = None,
    report_date: datetime | None = None,
) -> GoamlReport:
    """Build and validate the goAML report of ``bundle``; raise :class:`GoamlValidationError` if invalid."""
    currencies = frozenset(getattr(schema.types.get("currency_type"), "enumeration", None) or [])
    builder = _Builder(bundle, profile, currencies)
    code = report_code or profile.report_code
    root = builder.report(code, report_date or datetime.now(UTC).replace(tzinfo=None), action)
    problems = builder.problems
    problems.merge(_schema_problems(schema, root, builder.labels))
    if problems.found:
        raise GoamlValidationError(bundle.case.case_id, problems.messages())
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    persons = {p.party_id for p in bundle.parties}
    return GoamlReport(
        xml=xml,
        report_code=code,
        transactions=len(bundle.transactions),
        parties=len(persons),
        indicators=[i.text or "" for i in root.iterfind("report_indicators/indicator")],
    )


def write_goaml(report: GoamlReport, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_bytes(report.xml)
    tmp.replace(out)
    return out


def validate_goaml(xml: bytes | str | Path, schema: Any) -> list[str]:
    """Schema errors of a goAML document as ``path: reason`` lines (empty when valid)."""
    source = str(xml) if isinstance(xml, Path) else xml.decode() if isinstance(xml, bytes) else xml
    return [f"{e.path}: {e.reason}" for e in schema.iter_errors(source)]


def count_goaml(xml: bytes) -> dict[str, int]:
    """Counts read back from a goAML document: transactions, distinct persons, entities, accounts."""
    root = etree.fromstring(xml)
    persons = {
        (el.findtext("first_name"), el.findtext("last_name"), el.findtext("birthdate"))
        for el in root.iter()
        if el.tag in _PERSON_TAGS
    }
    entities = {el.findtext("name") for el in root.iter() if el.tag in _ENTITY_TAGS}
    accounts = {
        (el.findtext("institution_code") or el.findtext("swift"), el.findtext("account"))
        for el in root.iter()
        if el.tag in _ACCOUNT_TAGS and len(el)
    }
    return {
        "transactions": len(root.findall("transaction")),
        "persons": len(persons),
        "entities": len(entities),
        "accounts": len(accounts),
        "indicators": len(root.findall("report_indicators/indicator")),
    }


_PERSON_TAGS: frozenset[str] = frozenset({"from_person", "to_person", "t_person", "person"})
_ENTITY_TAGS: frozenset[str] = frozenset({"from_entity", "to_entity", "t_entity", "entity"})
_ACCOUNT_TAGS: frozenset[str] = frozenset({"from_account", "to_account", "account"})
