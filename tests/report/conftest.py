"""A small Sahel-like case seeded straight into the core tables (ingestion and detection are not needed)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from filiere.config import Settings, load_settings
from filiere.store import open_store
from filiere.store.base import Store

CASE_ID = "C-2024-0007"
T0 = datetime(2024, 3, 1, 9, 0)

PARTIES: list[dict[str, Any]] = [
    {
        "party_id": "P-1",
        "schema": "Person",
        "name": "Amadou Diallo",
        "birth_date": "1979-03-14",
        "nationality": "ml",
        "country": "ml",
        "address": "Rue 12, Bamako",
        "phone": "+223 76 12 34 56",
        "email": "a.diallo@example.ml",
        "id_number": "ML123456",
        "entity_type": "trader",
        "properties": {"occupation": "Livestock trader", "gender": "male"},
    },
    {
        "party_id": "P-2",
        "schema": "Company",
        "name": "Sahel Négoce SARL",
        "country": "ml",
        "address": "Zone industrielle, Bamako",
        "phone": "+223 20 22 33 44",
        "id_number": "RCCM-BKO-2015-B-1234",
        "entity_type": "trading_company",
        "properties": {"incorporationDate": "2015-06-01", "directors": ["Amadou Diallo"]},
    },
    {
        "party_id": "P-3",
        "schema": "Person",
        "name": "Moussa Ag Ibrahim",
        "birth_date": "1985",
        "nationality": "ne",
        "country": "ne",
        "phone": "+227 90 11 22 33",
        "entity_type": "mm_agent",
        "properties": {},
    },
    {
        "party_id": "P-4",
        "schema": "Organization",
        "name": "Association Espoir du Sahel",
        "country": "bf",
        "address": "Secteur 15, Ouagadougou",
        "entity_type": "npo",
        "properties": {},
    },
]

ACCOUNTS: list[dict[str, Any]] = [
    {
        "account_id": "010:1001",
        "bank": "010",
        "account_number": "1001",
        "bank_name": "Demo Bank Mali",
        "currency": "XOF",
        "kind": "bank",
        "owner_party_id": "P-1",
        "properties": {"opened": "2018-01-10", "branch": "Bamako Centre"},
    },
    {
        "account_id": "010:2002",
        "bank": "010",
        "account_number": "2002",
        "bank_name": "Demo Bank Mali",
        "currency": "XOF",
        "kind": "bank",
        "owner_party_id": "P-2",
        "properties": {"opened": "2016-02-01"},
    },
    {
        "account_id": "020:3003",
        "bank": "020",
        "account_number": "3003",
        "bank_name": "Sahel Mobile Money Niger",
        "currency": "XOF",
        "kind": "mobile",
        "owner_party_id": "P-3",
        "properties": {},
    },
    {
        "account_id": "030:4004",
        "bank": "030",
        "account_number": "4004",
        "bank_name": "Banque Atlantique Burkina",
        "currency": "EUR",
        "kind": "bank",
        "owner_party_id": "P-4",
        "properties": {},
    },
]


def _tx(n: int, hours: int, src: str, dst: str, amount: float, cur: str = "XOF", fmt: str = "Wire") -> dict[str, Any]:
    received, rcur = (amount, cur)
    if dst == "030:4004" and cur == "XOF":
        received, rcur = round(amount / 655.957, 2), "EUR"
    return {
        "tx_id": f"T-{n}",
        "ts": T0.replace(hour=9) if hours == 0 else datetime.fromtimestamp(T0.timestamp() + hours * 3600),
        "from_bank": src.split(":")[0],
        "from_account": src,
        "to_bank": dst.split(":")[0],
        "to_account": dst,
        "amount_received": received,
        "receiving_currency": rcur,
        "amount_paid": amount,
        "payment_currency": cur,
        "payment_format": fmt,
        "is_laundering": True,
        "properties": {"remittance": f"facture {n}"},
    }


TRANSACTIONS: list[dict[str, Any]] = [
    _tx(1, 0, "020:3003", "010:1001", 450_000.0, fmt="Mobile Money"),
    _tx(2, 5, "020:3003", "010:1001", 475_000.0, fmt="Mobile Money"),
    _tx(3, 26, "010:1001", "010:2002", 900_000.0),
    _tx(4, 30, "010:2002", "030:4004", 880_000.0),
    _tx(5, 50, "010:2002", "020:3003", 150_000.0, fmt="Cash"),
]

ALERTS: list[dict[str, Any]] = [
    {
        "alert_id": "A-rule-0001",
        "dedup_key": "rule|fan-in|010:1001",
        "created_at": datetime(2024, 3, 4, 8, 0),
        "source": "rule",
        "typology": "pass-through",
        "vector": "mobile-money",
        "title": "Mobile-money collection passed through to a trading company within 24 h",
        "score": 0.86,
        "severity": "high",
        "indicator_codes": ["SPTSA", "SPOEQ"],
        "rule_ids": ["R-PASS-THROUGH"],
        "tx_ids": ["T-1", "T-2", "T-3"],
        "account_ids": ["010:1001"],
        "party_ids": ["P-1", "P-2"],
        "explanation": {
            "summary": "925,000 XOF collected from a mobile-money agent left within 26 hours",
            "rules": [{"rule_id": "R-PASS-THROUGH", "detail": "97% of inflow out within 48 h"}],
        },
    },
    {
        "alert_id": "A-scr-0002",
        "dedup_key": "screening|P-3",
        "created_at": datetime(2024, 3, 4, 8, 5),
        "source": "screening",
        "typology": "sanctions-match",
        "vector": "cell",
        "title": "Moussa Ag Ibrahim matches a UN-listed individual",
        "score": 0.93,
        "severity": "critical",
        "indicator_codes": ["SPOSI"],
        "rule_ids": [],
        "tx_ids": [],
        "account_ids": [],
        "party_ids": ["P-3"],
        "explanation": {
            "summary": "name and nationality match UN entry QDi.999",
            "matches": [
                {
                    "entity_id": "un-QDi.999",
                    "list": "un_consolidated",
                    "schema": "Person",
                    "caption": "MOUSSA AG IBRAHIM",
                    "matched_name": "Moussa Ag Ibrahim",
                    "score": 0.93,
                    "match": True,
                    "programs": ["1267"],
                }
            ],
        },
    },
]


def seed_case(store: Store, *, parties: list[dict[str, Any]] | None = None) -> str:
    """Insert the case's rows; ``parties`` replaces the default party rows (to remove a field)."""

    def ins(table: str, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            cols = list(row)
            vals = [json.dumps(v) if isinstance(v, dict) else v for v in row.values()]
            store.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})", vals)

    with store.transaction():
        ins("parties", parties if parties is not None else PARTIES)
        ins("accounts", ACCOUNTS)
        ins("transactions", TRANSACTIONS)
        ins("alerts", ALERTS)
        ins(
            "cases",
            [
                {
                    "case_id": CASE_ID,
                    "title": "Mobile-money collection for a listed individual through Sahel Négoce",
                    "status": "under_review",
                    "created_at": datetime(2024, 3, 5, 10, 0),
                    "created_by": "analyst1",
                    "assignee": "analyst1",
                    "summary": "Funds collected through a Niger mobile-money agent who matches the UN list move "
                    "through a Bamako trader and his company to an NPO in Burkina Faso.",
                }
            ],
        )
        items = [
            ("alert", "A-rule-0001"),
            ("alert", "A-scr-0002"),
            ("party", "P-4"),
            ("transaction", "T-4"),
            ("transaction", "T-5"),
        ]
        ins(
            "case_items",
            [
                {
                    "case_id": CASE_ID,
                    "item_type": t,
                    "item_id": i,
                    "added_at": datetime(2024, 3, 5, 10, k),
                    "added_by": "analyst1",
                }
                for k, (t, i) in enumerate(items)
            ],
        )
    return CASE_ID


@pytest.fixture()
def settings(workspace: Path, shared_data: Path) -> Settings:
    return load_settings(workspace).model_copy(update={"shared_data": shared_data})


@pytest.fixture()
def case_id(settings: Settings) -> str:
    with open_store(settings) as store:
        return seed_case(store)
