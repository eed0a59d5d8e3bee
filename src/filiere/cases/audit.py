"""The append-only, hash-chained audit log of analyst actions.

DuckDB has no triggers, so append-only is enforced here: this module is the only writer of
``audit_log`` and it only INSERTs. Tampering through another channel (an edited, deleted or
inserted row) is detected by :func:`verify`: every row stores ``hash = sha256(prev_hash ‖ content)``
and the sequence numbers run 1, 2, 3… without gaps. Removing the newest rows leaves a valid shorter
chain: record the head hash elsewhere (``filiere audit verify --json`` prints it) and pass it back
as ``expect_head`` to detect that too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from filiere.store.base import Store

GENESIS = "0" * 64


class Actor(Protocol):
    """Who acts: the API's ``User`` or :class:`SystemActor`."""

    @property
    def username(self) -> str: ...

    @property
    def role(self) -> str: ...


@dataclass(frozen=True, slots=True)
class SystemActor:
    username: str = "cli"
    role: str = "admin"


def _canon(obj: Any) -> str | None:
    if obj is None:
        return None
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)


def _digest(prev_hash: str, fields: list[Any]) -> str:
    payload = json.dumps([prev_hash, *fields], separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def _fields(
    seq: int,
    ts: datetime,
    username: str,
    role: str | None,
    action: str,
    object_type: str | None,
    object_id: str | None,
    before: str | None,
    after: str | None,
    detail: str | None,
) -> list[Any]:
    return [
        seq,
        ts.isoformat(timespec="microseconds"),
        username,
        role,
        action,
        object_type,
        object_id,
        before,
        after,
        detail,
    ]


def record(
    store: Store,
    actor: Actor,
    action: str,
    object_type: str | None = None,
    object_id: str | None = None,
    *,
    before: Any = None,
    after: Any = None,
    detail: Any = None,
) -> int:
    """Append one entry (inside the caller's transaction when there is one); returns its ``seq``."""
    ts = datetime.now(UTC).replace(tzinfo=None)
    b, a, d = _canon(before), _canon(after), _canon(detail)
    with store.transaction():
        last = store.query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        seq, prev = (int(last[0][0]) + 1, str(last[0][1])) if last else (1, GENESIS)
        h = _digest(prev, _fields(seq, ts, actor.username, actor.role, action, object_type, object_id, b, a, d))
        store.execute(
            "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [seq, ts, actor.username, actor.role, action, object_type, object_id, b, a, d, prev, h],
        )
    return seq


def entries(
    store: Store,
    *,
    object_type: str | None = None,
    object_id: str | None = None,
    username: str | None = None,
    action: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Entries, newest first, filtered by object, user or action prefix."""
    where, params = [], []
    for col, val in (("object_type", object_type), ("object_id", object_id), ("username", username)):
        if val is not None:
            where.append(f"{col} = ?")
            params.append(val)
    if action is not None:
        where.append("starts_with(action, ?)")
        params.append(action)
    sql = (
        "SELECT seq, ts, username, role, action, object_type, object_id, CAST(before AS VARCHAR) AS before,"
        " CAST(after AS VARCHAR) AS after, CAST(detail AS VARCHAR) AS detail, hash FROM audit_log"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY seq DESC LIMIT ? OFFSET ?"
    )
    rows = store.query_dicts(sql, [*params, int(limit), int(offset)])
    for r in rows:
        for k in ("before", "after", "detail"):
            r[k] = json.loads(r[k]) if r[k] is not None else None
    return rows


@dataclass(slots=True)
class VerifyResult:
    ok: bool
    rows: int
    head: str
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "rows": self.rows, "head": self.head, "problems": self.problems}


def verify(store: Store, expect_head: str | None = None, max_problems: int = 50) -> VerifyResult:
    """Recompute the chain; report edited rows (hash mismatch), deleted or inserted rows (gaps, broken links)."""
    tbl = store.query_arrow(
        "SELECT seq, ts, username, role, action, object_type, object_id, CAST(before AS VARCHAR) AS before,"
        " CAST(after AS VARCHAR) AS after, CAST(detail AS VARCHAR) AS detail, prev_hash, hash"
        " FROM audit_log ORDER BY seq"
    )
    cols = {name: tbl.column(name).to_pylist() for name in tbl.column_names}
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    for i in range(tbl.num_rows):
        seq = int(cols["seq"][i])
        if seq != expected_seq:
            problems.append(f"seq {seq}: expected seq {expected_seq} (rows deleted or inserted)")
        if cols["prev_hash"][i] != prev:
            problems.append(f"seq {seq}: prev_hash does not link to the row before (a row was deleted or replaced)")
        fields = _fields(
            seq,
            cols["ts"][i],
            cols["username"][i],
            cols["role"][i],
            cols["action"][i],
            cols["object_type"][i],
            cols["object_id"][i],
            cols["before"][i],
            cols["after"][i],
            cols["detail"][i],
        )
        if _digest(cols["prev_hash"][i], fields) != cols["hash"][i]:
            problems.append(f"seq {seq}: content does not match its hash (row edited)")
        prev = cols["hash"][i]
        expected_seq = seq + 1
        if len(problems) >= max_problems:
            break
    if expect_head is not None and prev != expect_head and not problems:
        problems.append(f"head hash {prev} differs from the recorded head {expect_head} (newest rows removed?)")
    return VerifyResult(not problems, tbl.num_rows, prev, problems)
