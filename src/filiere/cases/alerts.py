"""Alerts: the one way every detector hands a finding to analysts.

``insert_alerts`` is idempotent on ``dedup_key``: running a detector twice raises nothing twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from filiere.store.base import Store

SEVERITIES = ("low", "medium", "high", "critical")


def severity_for(score: float) -> str:
    if score >= 0.9:
        return "critical"
    if score >= 0.7:
        return "high"
    if score >= 0.4:
        return "medium"
    return "low"


@dataclass(slots=True)
class AlertRecord:
    source: str
    title: str
    score: float
    dedup_key: str
    typology: str | None = None
    vector: str | None = None
    severity: str | None = None
    indicator_codes: list[str] = field(default_factory=list)
    rule_ids: list[str] = field(default_factory=list)
    tx_ids: list[str] = field(default_factory=list)
    account_ids: list[str] = field(default_factory=list)
    party_ids: list[str] = field(default_factory=list)
    explanation: dict[str, Any] = field(default_factory=dict)
    model_version: str | None = None
    event_ts: datetime | None = None

    @property
    def alert_id(self) -> str:
        return "A-" + hashlib.sha256(f"{self.source}|{self.dedup_key}".encode()).hexdigest()[:12]


_ALERT_ARROW = pa.schema(
    [
        ("alert_id", pa.string()),
        ("dedup_key", pa.string()),
        ("created_at", pa.timestamp("us")),
        ("source", pa.string()),
        ("typology", pa.string()),
        ("vector", pa.string()),
        ("title", pa.string()),
        ("score", pa.float64()),
        ("severity", pa.string()),
        ("indicator_codes", pa.list_(pa.string())),
        ("rule_ids", pa.list_(pa.string())),
        ("tx_ids", pa.list_(pa.string())),
        ("account_ids", pa.list_(pa.string())),
        ("party_ids", pa.list_(pa.string())),
        ("explanation", pa.string()),
        ("model_version", pa.string()),
        ("event_ts", pa.timestamp("us")),
    ]
)


def insert_alerts(store: Store, alerts: Sequence[AlertRecord]) -> int:
    """Store new alerts; those whose ``source|dedup_key`` already exists are skipped. Returns inserted."""
    if not alerts:
        return 0
    now = datetime.now(UTC).replace(tzinfo=None)
    seen: set[str] = set()
    rows: list[dict[str, Any]] = []
    for a in alerts:
        key = f"{a.source}|{a.dedup_key}"
        if key in seen:
            continue
        seen.add(key)
        rows.append(
            {
                "alert_id": a.alert_id,
                "dedup_key": key,
                "created_at": now,
                "source": a.source,
                "typology": a.typology,
                "vector": a.vector,
                "title": a.title,
                "score": float(a.score),
                "severity": a.severity or severity_for(a.score),
                "indicator_codes": list(a.indicator_codes),
                "rule_ids": list(a.rule_ids),
                "tx_ids": list(a.tx_ids),
                "account_ids": list(a.account_ids),
                "party_ids": list(a.party_ids),
                "explanation": json.dumps(a.explanation, default=str, ensure_ascii=False),
                "model_version": a.model_version,
                "event_ts": a.event_ts,
            }
        )
    table = pa.Table.from_pylist(rows, schema=_ALERT_ARROW)
    with store.transaction():
        store.execute("CREATE TEMP TABLE IF NOT EXISTS __new_alerts AS SELECT * FROM alerts LIMIT 0")
        store.execute("DELETE FROM __new_alerts")
        store.insert_arrow("__new_alerts", table)
        before = int(store.scalar("SELECT count(*) FROM alerts") or 0)
        cols = ", ".join(table.column_names)
        store.execute(
            f"INSERT INTO alerts ({cols}) SELECT {cols} FROM __new_alerts n "
            "WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE a.dedup_key = n.dedup_key)"
        )
        after = int(store.scalar("SELECT count(*) FROM alerts") or 0)
        store.execute("DELETE FROM __new_alerts")
    return after - before
