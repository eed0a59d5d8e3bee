"""``CaseBundle``: a case with everything a report needs, loaded in a few set-based queries.

A case holds items (parties, accounts, transactions, alerts). The bundle closes over them: the
transactions, accounts and parties that its alerts name, both accounts of each transaction, the
owners of those accounts, the screening hits of its screening alerts and, where the audit table
exists (migration 004), the case's audit trail. Reporting, the UI and the API read the same bundle.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from filiere.errors import NotFoundError
from filiere.store.base import Store


def _json(value: Any) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, dict):
        return value
    try:
        data = json.loads(value)
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True, slots=True)
class Case:
    case_id: str
    title: str
    status: str
    created_at: datetime
    created_by: str
    assignee: str | None = None
    summary: str | None = None


@dataclass(frozen=True, slots=True)
class Party:
    party_id: str
    schema: str
    name: str | None = None
    birth_date: str | None = None
    nationality: str | None = None
    country: str | None = None
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    id_number: str | None = None
    entity_type: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    #: False for a person only named by another record (a company's director not in the store)
    known: bool = True

    @property
    def is_person(self) -> bool:
        return self.schema == "Person"

    @property
    def label(self) -> str:
        return f"{self.name or '(no name)'} [{self.party_id}]"

    def prop(self, *names: str) -> str | None:
        """First non-empty value among the named columns or FtM properties (lists give their first item)."""
        for name in names:
            value = getattr(self, name) if name in _PARTY_COLUMNS else None
            if value in (None, "", []):
                value = self.properties.get(name)
            if isinstance(value, list):
                value = next((v for v in value if v not in (None, "")), None)
            if value not in (None, ""):
                return str(value)
        return None


_PARTY_COLUMNS = frozenset(f.name for f in fields(Party))


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    bank: str
    account_number: str
    bank_name: str | None = None
    currency: str | None = None
    kind: str | None = None
    owner_party_id: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    #: False when only a transaction names it (no row in the accounts table)
    known: bool = True

    @property
    def label(self) -> str:
        bank = self.bank_name or f"bank {self.bank}"
        return f"{self.account_number} at {bank} [{self.account_id}]"

    def prop(self, name: str) -> str | None:
        value = self.properties.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        return None if value in (None, "") else str(value)


@dataclass(frozen=True, slots=True)
class Transaction:
    tx_id: str
    ts: datetime
    from_bank: str
    from_account: str
    to_bank: str
    to_account: str
    amount_received: float
    receiving_currency: str
    amount_paid: float
    payment_currency: str
    payment_format: str
    is_laundering: bool | None = None
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"transaction {self.tx_id} of {self.ts:%Y-%m-%d %H:%M}"


@dataclass(frozen=True, slots=True)
class Alert:
    alert_id: str
    created_at: datetime
    source: str
    title: str
    score: float
    severity: str
    typology: str | None = None
    vector: str | None = None
    indicator_codes: tuple[str, ...] = ()
    rule_ids: tuple[str, ...] = ()
    tx_ids: tuple[str, ...] = ()
    account_ids: tuple[str, ...] = ()
    party_ids: tuple[str, ...] = ()
    explanation: dict[str, Any] = field(default_factory=dict)
    event_ts: datetime | None = None
    status: str = "new"
    disposition: str | None = None
    disposition_comment: str | None = None

    @property
    def summary(self) -> str:
        text = self.explanation.get("summary")
        return str(text) if text else self.title


@dataclass(frozen=True, slots=True)
class ScreeningHit:
    """One list entry a screening alert matched, with the case party it concerns."""

    alert_id: str
    party_id: str | None
    list_id: str
    entity_id: str
    caption: str
    matched_name: str
    score: float
    programs: tuple[str, ...] = ()
    explanation: str = ""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    ts: datetime | None
    user: str
    action: str
    target: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class CaseBundle:
    case: Case
    parties: list[Party]
    accounts: list[Account]
    transactions: list[Transaction]
    alerts: list[Alert]
    screening_hits: list[ScreeningHit]
    audit: list[AuditEntry]
    #: ids the case names directly (case_items), by item type
    items: dict[str, list[str]] = field(default_factory=dict)
    _parties: dict[str, Party] = field(init=False, repr=False, default_factory=dict)
    _accounts: dict[str, Account] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._parties = {p.party_id: p for p in self.parties}
        self._accounts = {a.account_id: a for a in self.accounts}

    def party(self, party_id: str | None) -> Party | None:
        return self._parties.get(party_id) if party_id else None

    def account(self, account_id: str) -> Account | None:
        return self._accounts.get(account_id)

    def owner(self, account_id: str) -> Party | None:
        acc = self._accounts.get(account_id)
        return self.party(acc.owner_party_id) if acc else None

    def indicator_codes(self) -> list[str]:
        """Every indicator code of the case's alerts, in first-seen order."""
        seen: dict[str, None] = {}
        for alert in self.alerts:
            for code in alert.indicator_codes:
                seen.setdefault(code, None)
        return list(seen)


def _table_exists(store: Store, name: str) -> bool:
    return bool(store.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]))


def _columns(store: Store, name: str) -> list[str]:
    rows = store.query("SELECT column_name FROM information_schema.columns WHERE table_name = ?", [name])
    return [str(r[0]) for r in rows]


def _tuple(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if value else ()


def load_case_bundle(store: Store, case_id: str) -> CaseBundle:
    """Load case ``case_id`` and everything it concerns. Raises :class:`NotFoundError` if absent."""
    rows = store.query_dicts(
        "SELECT case_id, title, status, created_at, created_by, assignee, summary FROM cases WHERE case_id = ?",
        [case_id],
    )
    if not rows:
        raise NotFoundError(f"no case {case_id!r} in this workspace")
    case = Case(**rows[0])

    items: dict[str, list[str]] = {"party": [], "account": [], "transaction": [], "alert": []}
    for item_type, item_id in store.query(
        "SELECT item_type, item_id FROM case_items WHERE case_id = ? ORDER BY added_at, item_id", [case_id]
    ):
        items.setdefault(str(item_type), []).append(str(item_id))

    alert_rows = store.query_dicts(
        "SELECT alert_id, created_at, source, title, score, severity, typology, vector, indicator_codes, rule_ids,"
        " tx_ids, account_ids, party_ids, explanation, event_ts, status, disposition, disposition_comment"
        " FROM alerts WHERE list_contains(?, alert_id) OR case_id = ? ORDER BY created_at, alert_id",
        [items["alert"], case_id],
    )
    alerts = [
        Alert(
            **{
                **r,
                "indicator_codes": _tuple(r["indicator_codes"]),
                "rule_ids": _tuple(r["rule_ids"]),
                "tx_ids": _tuple(r["tx_ids"]),
                "account_ids": _tuple(r["account_ids"]),
                "party_ids": _tuple(r["party_ids"]),
                "explanation": _json(r["explanation"]),
            }
        )
        for r in alert_rows
    ]

    tx_ids = list(dict.fromkeys([*items["transaction"], *(t for a in alerts for t in a.tx_ids)]))
    tx_rows = store.query_dicts(
        "SELECT tx_id, ts, from_bank, from_account, to_bank, to_account, amount_received, receiving_currency,"
        " amount_paid, payment_currency, payment_format, is_laundering, properties"
        " FROM transactions WHERE list_contains(?, tx_id) ORDER BY ts, tx_id",
        [tx_ids],
    )
    transactions = [Transaction(**{**r, "properties": _json(r["properties"])}) for r in tx_rows]

    account_ids = list(
        dict.fromkeys(
            [
                *items["account"],
                *(a for al in alerts for a in al.account_ids),
                *(a for t in transactions for a in (t.from_account, t.to_account)),
            ]
        )
    )
    acc_rows = store.query_dicts(
        "SELECT account_id, bank, account_number, bank_name, currency, kind, owner_party_id, properties"
        " FROM accounts WHERE list_contains(?, account_id) ORDER BY account_id",
        [account_ids],
    )
    accounts = [Account(**{**r, "properties": _json(r["properties"])}) for r in acc_rows]
    found = {a.account_id for a in accounts}
    bank_of = {t.from_account: t.from_bank for t in transactions} | {t.to_account: t.to_bank for t in transactions}
    for acc_id in account_ids:
        if acc_id not in found:  # named by a transaction only: keep what the id tells
            bank, _, number = acc_id.partition(":")
            accounts.append(Account(acc_id, bank_of.get(acc_id, bank), number or acc_id, known=False))
    order = {a: i for i, a in enumerate(account_ids)}
    accounts.sort(key=lambda a: order.get(a.account_id, len(order)))

    party_ids = list(
        dict.fromkeys(
            [
                *items["party"],
                *(p for al in alerts for p in al.party_ids),
                *(a.owner_party_id for a in accounts if a.owner_party_id),
            ]
        )
    )
    party_rows = store.query_dicts(
        "SELECT party_id, schema, name, birth_date, nationality, country, address, phone, email, id_number,"
        " entity_type, properties FROM parties WHERE list_contains(?, party_id)",
        [party_ids],
    )
    porder = {p: i for i, p in enumerate(party_ids)}
    parties = sorted(
        (Party(**{**r, "properties": _json(r["properties"])}) for r in party_rows),
        key=lambda p: porder.get(p.party_id, len(porder)),
    )

    hits = _screening_hits(alerts)
    audit = _audit_entries(store, case_id, [a.alert_id for a in alerts])
    return CaseBundle(case, parties, accounts, transactions, alerts, hits, audit, items)


def _screening_hits(alerts: list[Alert]) -> list[ScreeningHit]:
    hits: list[ScreeningHit] = []
    for alert in alerts:
        if alert.source != "screening":
            continue
        party_id = alert.party_ids[0] if alert.party_ids else None
        matches = alert.explanation.get("matches") or []
        for m in matches if isinstance(matches, list) else []:
            if not isinstance(m, dict):
                continue
            hits.append(
                ScreeningHit(
                    alert_id=alert.alert_id,
                    party_id=str(m.get("party_id") or party_id) if (m.get("party_id") or party_id) else None,
                    list_id=str(m.get("list") or m.get("list_id") or ""),
                    entity_id=str(m.get("entity_id") or ""),
                    caption=str(m.get("caption") or m.get("matched_name") or ""),
                    matched_name=str(m.get("matched_name") or m.get("caption") or ""),
                    score=float(m.get("score") or alert.score),
                    programs=_tuple(m.get("programs")),
                    explanation=str(m.get("explanation") or ""),
                )
            )
    return hits


_TARGET_COLUMNS = ("case_id", "object_id", "target_id", "entity_id", "subject_id", "resource_id")
_TS_COLUMNS = ("ts", "at", "created_at", "timestamp", "occurred_at")
_USER_COLUMNS = ("user", "username", "actor", "user_id")
_ACTION_COLUMNS = ("action", "event", "verb", "operation")


def _audit_entries(store: Store, case_id: str, alert_ids: list[str]) -> list[AuditEntry]:
    """The case's audit trail, when the audit table (migration 004) exists; columns found by name."""
    if not _table_exists(store, "audit_log"):
        return []
    cols = _columns(store, "audit_log")
    targets = [c for c in _TARGET_COLUMNS if c in cols]
    if not targets:
        return []
    ts_col = next((c for c in _TS_COLUMNS if c in cols), None)
    where = " OR ".join(f'CAST("{c}" AS VARCHAR) = ? OR list_contains(?, CAST("{c}" AS VARCHAR))' for c in targets)
    params: list[Any] = []
    for _ in targets:
        params += [case_id, alert_ids]
    order = f'"{ts_col}"' if ts_col else "1"
    rows = store.query_dicts(f"SELECT * FROM audit_log WHERE {where} ORDER BY {order}", params)
    user_col = next((c for c in _USER_COLUMNS if c in cols), None)
    action_col = next((c for c in _ACTION_COLUMNS if c in cols), None)
    out: list[AuditEntry] = []
    for r in rows:
        ts = r.get(ts_col) if ts_col else None
        target = next((str(r[c]) for c in targets if r.get(c)), "")
        shown = {ts_col, user_col, action_col, *targets}
        detail = {k: v for k, v in r.items() if k not in shown and v not in (None, "")}
        out.append(
            AuditEntry(
                ts=ts if isinstance(ts, datetime) else None,
                user=str(r.get(user_col) or "") if user_col else "",
                action=str(r.get(action_col) or "") if action_col else "",
                target=target,
                detail=detail,
            )
        )
    return out
