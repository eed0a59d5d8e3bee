"""Alert triage and case management: the repository the API, the UI and the CLI share.

Every state change and every view of personal data goes through here and is written to the audit
log (:mod:`filiere.cases.audit`) in the same transaction as the change.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from filiere.cases import audit, graph
from filiere.cases.audit import Actor
from filiere.errors import ConflictError, NotFoundError, PermissionDeniedError, UserInputError
from filiere.store.base import Store

ALERT_STATUSES = ("new", "assigned", "closed")
DISPOSITIONS = ("true_positive", "false_positive", "needs_information")
CASE_STATUSES = ("open", "under_review", "reported", "closed")
ITEM_TYPES = ("party", "account", "transaction", "alert")

#: (from, to) → roles that may make the move
CASE_TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    ("open", "under_review"): frozenset({"analyst", "supervisor"}),
    ("under_review", "open"): frozenset({"analyst", "supervisor"}),
    ("under_review", "reported"): frozenset({"supervisor"}),
    ("under_review", "closed"): frozenset({"supervisor"}),
    ("open", "closed"): frozenset({"supervisor"}),
    ("closed", "open"): frozenset({"supervisor"}),
}

#: columns the alert queue may be sorted by (API value → SQL)
ALERT_SORTS = {
    "score": "score",
    "created_at": "created_at",
    "event_ts": "event_ts",
    "severity": "CASE severity WHEN 'critical' THEN 3 WHEN 'high' THEN 2 WHEN 'medium' THEN 1 ELSE 0 END",
    "status": "status",
    "source": "source",
}
_ALERT_COLS = (
    "alert_id, created_at, source, typology, vector, title, score, severity, indicator_codes, rule_ids,"
    " len(tx_ids) AS n_transactions, len(account_ids) AS n_accounts, event_ts, status, assignee, disposition, case_id"
)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(slots=True)
class AlertFilter:
    min_score: float | None = None
    max_score: float | None = None
    rule: str | None = None
    indicator: str | None = None
    vector: str | None = None
    typology: str | None = None
    source: str | None = None
    severity: str | None = None
    status: str | None = None
    assignee: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None
    sort: str = "score"
    descending: bool = True
    limit: int = 50
    offset: int = 0


def list_alerts(store: Store, f: AlertFilter) -> tuple[list[dict[str, Any]], int]:
    """One page of the alert queue and the total matching. Every value is a bound parameter."""
    if f.sort not in ALERT_SORTS:
        raise UserInputError(f"cannot sort alerts by {f.sort!r} (choose from {', '.join(ALERT_SORTS)})")
    if f.status is not None and f.status not in ALERT_STATUSES:
        raise UserInputError(f"unknown alert status {f.status!r} (statuses: {', '.join(ALERT_STATUSES)})")
    if not 1 <= f.limit <= 1000:
        raise UserInputError("limit must be between 1 and 1000")
    where: list[str] = []
    params: list[Any] = []

    def add(cond: str, value: Any) -> None:
        where.append(cond)
        params.append(value)

    if f.min_score is not None:
        add("score >= ?", f.min_score)
    if f.max_score is not None:
        add("score <= ?", f.max_score)
    if f.rule:
        add("list_contains(rule_ids, ?)", f.rule)
    if f.indicator:
        add("list_contains(indicator_codes, ?)", f.indicator)
    for col in ("vector", "typology", "source", "severity", "status"):
        val = getattr(f, col)
        if val:
            add(f"{col} = ?", val)
    if f.assignee == "-":
        where.append("assignee IS NULL")
    elif f.assignee:
        add("assignee = ?", f.assignee)
    if f.since is not None:
        add("coalesce(event_ts, created_at) >= ?", f.since)
    if f.until is not None:
        add("coalesce(event_ts, created_at) <= ?", f.until)
    if f.q:
        add("contains(lower(title || ' ' || alert_id || ' ' || coalesce(typology, '')), lower(?))", f.q)
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    total = int(store.scalar(f"SELECT count(*) FROM alerts{cond}", params) or 0)
    order = f"{ALERT_SORTS[f.sort]} {'DESC' if f.descending else 'ASC'} NULLS LAST, alert_id"
    rows = store.query_dicts(
        f"SELECT {_ALERT_COLS} FROM alerts{cond} ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, int(f.limit), int(f.offset)],
    )
    return rows, total


def _alert_row(store: Store, alert_id: str) -> dict[str, Any]:
    rows = store.query_dicts("SELECT * FROM alerts WHERE alert_id = ?", [alert_id])
    if not rows:
        raise NotFoundError(f"no alert {alert_id!r}")
    row = rows[0]
    row["explanation"] = json.loads(row["explanation"]) if row.get("explanation") else {}
    for k in ("indicator_codes", "rule_ids", "tx_ids", "account_ids", "party_ids"):
        row[k] = list(row.get(k) or [])
    return row


def get_alert(store: Store, actor: Actor, alert_id: str, *, audit_view: bool = True) -> dict[str, Any]:
    """The alert with its explanation, parties and member transactions (a view of personal data)."""
    row = _alert_row(store, alert_id)
    row["parties"] = _parties(store, row["party_ids"])
    row["transactions"] = graph.timeline(graph.transactions(store, row["tx_ids"]))
    if audit_view:
        audit.record(store, actor, "alert.view", "alert", alert_id)
    return row


def alert_network(store: Store, alert_id: str) -> dict[str, Any]:
    row = _alert_row(store, alert_id)
    return graph.network(store, row["tx_ids"], row["account_ids"])


def _parties(store: Store, party_ids: Sequence[str]) -> list[dict[str, Any]]:
    if not party_ids:
        return []
    return store.query_dicts(
        "SELECT party_id, schema, name, birth_date, nationality, country, entity_type FROM parties"
        " WHERE party_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY name",
        [list(party_ids)],
    )


def assign_alert(store: Store, actor: Actor, alert_id: str, assignee: str | None) -> dict[str, Any]:
    with store.transaction():
        row = _alert_row(store, alert_id)
        if assignee is not None and not store.scalar("SELECT 1 FROM users WHERE username = ?", [assignee]):
            raise UserInputError(f"no user {assignee!r} to assign to")
        if row["status"] == "closed":
            raise ConflictError(f"alert {alert_id} is closed")
        status = "assigned" if assignee else "new"
        store.execute("UPDATE alerts SET assignee = ?, status = ? WHERE alert_id = ?", [assignee, status, alert_id])
        audit.record(
            store,
            actor,
            "alert.assign",
            "alert",
            alert_id,
            before={"assignee": row["assignee"], "status": row["status"]},
            after={"assignee": assignee, "status": status},
        )
    return {"alert_id": alert_id, "assignee": assignee, "status": status}


def disposition_alert(store: Store, actor: Actor, alert_id: str, disposition: str, comment: str) -> dict[str, Any]:
    """Record the analyst's decision. True/false positive close the alert; needs_information keeps it open."""
    if disposition not in DISPOSITIONS:
        raise UserInputError(f"unknown disposition {disposition!r} (choose from {', '.join(DISPOSITIONS)})")
    if not comment or not comment.strip():
        raise UserInputError("a disposition needs a comment")
    with store.transaction():
        row = _alert_row(store, alert_id)
        status = "assigned" if disposition == "needs_information" else "closed"
        assignee = row["assignee"] or actor.username
        store.execute(
            "UPDATE alerts SET disposition = ?, disposition_comment = ?, status = ?, assignee = ? WHERE alert_id = ?",
            [disposition, comment.strip(), status, assignee, alert_id],
        )
        audit.record(
            store,
            actor,
            "alert.disposition",
            "alert",
            alert_id,
            before={k: row[k] for k in ("status", "disposition", "disposition_comment", "assignee")},
            after={
                "status": status,
                "disposition": disposition,
                "disposition_comment": comment.strip(),
                "assignee": assignee,
            },
        )
    return {"alert_id": alert_id, "status": status, "disposition": disposition}


# ---- cases -----------------------------------------------------------------------------------


def _new_case_id() -> str:
    return f"C-{_now():%Y%m%d}-{secrets.token_hex(3)}"


def create_case(
    store: Store, actor: Actor, title: str | None = None, alert_ids: Sequence[str] = (), summary: str | None = None
) -> str:
    """A new case holding ``alert_ids`` (with their parties, accounts and transactions); returns its id."""
    alert_ids = list(dict.fromkeys(alert_ids))
    with store.transaction():
        alerts = [_alert_row(store, a) for a in alert_ids]
        for a in alerts:
            if a["case_id"]:
                raise ConflictError(f"alert {a['alert_id']} is already in case {a['case_id']}")
        if not title:
            title = alerts[0]["title"] if alerts else None
        if not title:
            raise UserInputError("a case needs a title (or at least one alert)")
        case_id = _new_case_id()
        store.execute(
            "INSERT INTO cases (case_id, title, status, created_at, created_by, assignee, summary)"
            " VALUES (?, ?, 'open', ?, ?, ?, ?)",
            [case_id, title, _now(), actor.username, actor.username, summary],
        )
        audit.record(store, actor, "case.create", "case", case_id, after={"title": title, "alerts": alert_ids})
        _attach_alerts(store, actor, case_id, alerts)
    return case_id


def _attach_alerts(store: Store, actor: Actor, case_id: str, alerts: list[dict[str, Any]]) -> None:
    items: list[tuple[str, str]] = []
    for a in alerts:
        items.append(("alert", a["alert_id"]))
        items += [("party", p) for p in a["party_ids"]]
        items += [("account", x) for x in a["account_ids"]]
        items += [("transaction", t) for t in a["tx_ids"]]
    _insert_items(store, actor, case_id, items)
    for a in alerts:
        store.execute("UPDATE alerts SET case_id = ? WHERE alert_id = ?", [case_id, a["alert_id"]])
        audit.record(
            store,
            actor,
            "alert.merge",
            "alert",
            a["alert_id"],
            before={"case_id": a["case_id"]},
            after={"case_id": case_id},
        )


def _insert_items(store: Store, actor: Actor, case_id: str, items: Sequence[tuple[str, str]]) -> int:
    if not items:
        return 0
    types = [t for t, _ in items]
    ids = [i for _, i in items]
    before = int(store.scalar("SELECT count(*) FROM case_items WHERE case_id = ?", [case_id]) or 0)
    store.execute(
        "INSERT INTO case_items (case_id, item_type, item_id, added_at, added_by)"
        " SELECT DISTINCT ?, t, i, ?, ? FROM (SELECT unnest(?::VARCHAR[]) AS t, unnest(?::VARCHAR[]) AS i) n"
        " WHERE NOT EXISTS (SELECT 1 FROM case_items c WHERE c.case_id = ? AND c.item_type = n.t AND c.item_id = n.i)",
        [case_id, _now(), actor.username, types, ids, case_id],
    )
    return int(store.scalar("SELECT count(*) FROM case_items WHERE case_id = ?", [case_id]) or 0) - before


def merge_alerts(store: Store, actor: Actor, case_id: str, alert_ids: Sequence[str]) -> int:
    """Add alerts (and what they concern) to an existing case; returns the number of alerts added."""
    with store.transaction():
        case = _case_row(store, case_id)
        if case["status"] in ("reported", "closed"):
            raise ConflictError(f"case {case_id} is {case['status']}: reopen it first")
        alerts = [_alert_row(store, a) for a in dict.fromkeys(alert_ids)]
        for a in alerts:
            if a["case_id"] and a["case_id"] != case_id:
                raise ConflictError(f"alert {a['alert_id']} is already in case {a['case_id']}")
        alerts = [a for a in alerts if a["case_id"] != case_id]
        _attach_alerts(store, actor, case_id, alerts)
    return len(alerts)


def add_items(store: Store, actor: Actor, case_id: str, item_type: str, item_ids: Sequence[str]) -> int:
    if item_type not in ("party", "account", "transaction"):
        raise UserInputError(f"cannot add {item_type!r} to a case (party, account, transaction; alerts are merged)")
    table, key = {
        "party": ("parties", "party_id"),
        "account": ("accounts", "account_id"),
        "transaction": ("transactions", "tx_id"),
    }[item_type]
    with store.transaction():
        _case_row(store, case_id)
        ids = list(dict.fromkeys(item_ids))
        found = {
            r[0] for r in store.query(f"SELECT {key} FROM {table} WHERE {key} IN (SELECT unnest(?::VARCHAR[]))", [ids])
        }
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFoundError(
                f"no {item_type} {missing[0]!r}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
            )
        n = _insert_items(store, actor, case_id, [(item_type, i) for i in ids])
        audit.record(store, actor, "case.add_items", "case", case_id, after={"item_type": item_type, "ids": ids})
    return n


def _case_row(store: Store, case_id: str) -> dict[str, Any]:
    rows = store.query_dicts("SELECT * FROM cases WHERE case_id = ?", [case_id])
    if not rows:
        raise NotFoundError(f"no case {case_id!r}")
    return rows[0]


def list_cases(
    store: Store, status: str | None = None, assignee: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    if status is not None and status not in CASE_STATUSES:
        raise UserInputError(f"unknown case status {status!r} (statuses: {', '.join(CASE_STATUSES)})")
    where, params = [], []
    if status:
        where.append("c.status = ?")
        params.append(status)
    if assignee:
        where.append("c.assignee = ?")
        params.append(assignee)
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    total = int(store.scalar(f"SELECT count(*) FROM cases c{cond}", params) or 0)
    rows = store.query_dicts(
        "SELECT c.*, count(*) FILTER (WHERE i.item_type = 'alert') AS n_alerts,"
        " count(*) FILTER (WHERE i.item_type = 'transaction') AS n_transactions"
        f" FROM cases c LEFT JOIN case_items i ON i.case_id = c.case_id{cond}"
        " GROUP BY ALL ORDER BY c.created_at DESC LIMIT ? OFFSET ?",
        [*params, int(limit), int(offset)],
    )
    return rows, total


def _item_ids(store: Store, case_id: str, item_type: str) -> list[str]:
    return [
        r[0]
        for r in store.query(
            "SELECT item_id FROM case_items WHERE case_id = ? AND item_type = ? ORDER BY item_id", [case_id, item_type]
        )
    ]


def get_case(store: Store, actor: Actor, case_id: str, *, audit_view: bool = True) -> dict[str, Any]:
    """The case with its alerts, parties, accounts, transactions (timeline), notes and attachments."""
    case = _case_row(store, case_id)
    alert_ids = _item_ids(store, case_id, "alert")
    case["alerts"] = (
        store.query_dicts(
            f"SELECT {_ALERT_COLS} FROM alerts WHERE alert_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY score DESC",
            [alert_ids],
        )
        if alert_ids
        else []
    )
    case["parties"] = _parties(store, _item_ids(store, case_id, "party"))
    case["accounts"] = _item_ids(store, case_id, "account")
    case["timeline"] = graph.timeline(graph.transactions(store, _item_ids(store, case_id, "transaction")))
    case["notes"] = store.query_dicts(
        "SELECT note_id, created_at, author, body FROM case_notes WHERE case_id = ? ORDER BY created_at", [case_id]
    )
    case["attachments"] = store.query_dicts(
        "SELECT attachment_id, created_at, author, filename, media_type, size_bytes, sha256 FROM case_attachments"
        " WHERE case_id = ? ORDER BY created_at",
        [case_id],
    )
    case["transitions"] = [
        to for (fr, to), roles in CASE_TRANSITIONS.items() if fr == case["status"] and actor.role in roles
    ]
    if audit_view:
        audit.record(store, actor, "case.view", "case", case_id)
    return case


def case_network(store: Store, case_id: str) -> dict[str, Any]:
    _case_row(store, case_id)
    return graph.network(store, _item_ids(store, case_id, "transaction"), _item_ids(store, case_id, "account"))


def transition_case(
    store: Store, actor: Actor, case_id: str, to_status: str, comment: str | None = None
) -> dict[str, Any]:
    if to_status not in CASE_STATUSES:
        raise UserInputError(f"unknown case status {to_status!r} (statuses: {', '.join(CASE_STATUSES)})")
    with store.transaction():
        case = _case_row(store, case_id)
        roles = CASE_TRANSITIONS.get((case["status"], to_status))
        if roles is None:
            raise ConflictError(f"case {case_id} cannot move from {case['status']} to {to_status}")
        if actor.role not in roles:
            raise PermissionDeniedError(f"role {actor.role!r} may not move a case from {case['status']} to {to_status}")
        store.execute("UPDATE cases SET status = ? WHERE case_id = ?", [to_status, case_id])
        audit.record(
            store,
            actor,
            "case.status",
            "case",
            case_id,
            before={"status": case["status"]},
            after={"status": to_status},
            detail={"comment": comment},
        )
    return {"case_id": case_id, "status": to_status}


def add_note(store: Store, actor: Actor, case_id: str, body: str) -> str:
    if not body.strip():
        raise UserInputError("a note cannot be empty")
    with store.transaction():
        _case_row(store, case_id)
        note_id = "N-" + secrets.token_hex(6)
        store.execute("INSERT INTO case_notes VALUES (?, ?, ?, ?, ?)", [note_id, case_id, _now(), actor.username, body])
        audit.record(store, actor, "case.note", "case", case_id, after={"note_id": note_id, "body": body})
    return note_id


MAX_ATTACHMENT = 20 * 1024 * 1024


def add_attachment(
    store: Store, actor: Actor, case_id: str, filename: str, media_type: str | None, content: bytes
) -> str:
    if len(content) > MAX_ATTACHMENT:
        raise UserInputError(f"attachment {filename!r} is larger than {MAX_ATTACHMENT // 1024 // 1024} MiB")
    digest = hashlib.sha256(content).hexdigest()
    with store.transaction():
        _case_row(store, case_id)
        att_id = "F-" + secrets.token_hex(6)
        store.execute(
            "INSERT INTO case_attachments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [att_id, case_id, _now(), actor.username, filename, media_type, len(content), digest, content],
        )
        audit.record(
            store,
            actor,
            "case.attach",
            "case",
            case_id,
            after={"attachment_id": att_id, "filename": filename, "sha256": digest},
        )
    return att_id


def get_attachment(store: Store, actor: Actor, case_id: str, attachment_id: str) -> tuple[str, str | None, bytes]:
    rows = store.query(
        "SELECT filename, media_type, content FROM case_attachments WHERE case_id = ? AND attachment_id = ?",
        [case_id, attachment_id],
    )
    if not rows:
        raise NotFoundError(f"no attachment {attachment_id!r} in case {case_id!r}")
    audit.record(store, actor, "case.attachment.view", "case", case_id, detail={"attachment_id": attachment_id})
    return str(rows[0][0]), rows[0][1], bytes(rows[0][2])


# ---- parties and transactions -----------------------------------------------------------------


def get_party(store: Store, actor: Actor, party_id: str) -> dict[str, Any]:
    rows = store.query_dicts("SELECT * FROM parties WHERE party_id = ?", [party_id])
    if not rows:
        raise NotFoundError(f"no party {party_id!r}")
    party = rows[0]
    party["properties"] = json.loads(party["properties"]) if party.get("properties") else None
    party["accounts"] = store.query_dicts(
        "SELECT account_id, bank, bank_name, currency, kind FROM accounts WHERE owner_party_id = ? ORDER BY account_id",
        [party_id],
    )
    party["alerts"] = store.query_dicts(
        f"SELECT {_ALERT_COLS} FROM alerts WHERE list_contains(party_ids, ?) ORDER BY score DESC LIMIT 100", [party_id]
    )
    audit.record(store, actor, "party.view", "party", party_id)
    return party


def search_parties(store: Store, actor: Actor, q: str, limit: int = 50) -> list[dict[str, Any]]:
    if not q.strip():
        raise UserInputError("empty search")
    rows = store.query_dicts(
        "SELECT party_id, schema, name, country, entity_type FROM parties"
        " WHERE contains(lower(coalesce(name, '') || ' ' || party_id), lower(?)) ORDER BY name LIMIT ?",
        [q.strip(), int(limit)],
    )
    audit.record(store, actor, "party.search", "party", None, detail={"q": q, "results": len(rows)})
    return rows


def list_transactions(
    store: Store,
    actor: Actor,
    account: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    min_amount: float | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    if not 1 <= limit <= 5000:
        raise UserInputError("limit must be between 1 and 5000")
    where: list[str] = []
    params: list[Any] = []
    if account:
        where.append("(from_account = ? OR to_account = ?)")
        params += [account, account]
    if since:
        where.append("ts >= ?")
        params.append(since)
    if until:
        where.append("ts <= ?")
        params.append(until)
    if min_amount is not None:
        where.append("amount_paid >= ?")
        params.append(min_amount)
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    rows = store.query_dicts(
        "SELECT tx_id, ts, from_account, to_account, amount_paid, payment_currency, amount_received,"
        f" receiving_currency, payment_format FROM transactions{cond} ORDER BY ts, tx_id LIMIT ? OFFSET ?",
        [*params, int(limit), int(offset)],
    )
    audit.record(store, actor, "transaction.list", "account" if account else None, account, detail={"rows": len(rows)})
    return rows
