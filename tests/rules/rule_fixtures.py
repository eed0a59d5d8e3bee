"""Tiny hand-built transaction, account and party tables for rule tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from filiere.model.schemas import ACCOUNT_SCHEMA, PARTY_SCHEMA, TRANSACTION_SCHEMA

T0 = datetime(2022, 9, 1, 8, 0)


def tx(rows: list[dict[str, Any]]) -> pa.Table:
    """Transactions with defaults: USD wire of 100 from A to B at T0 + ``h`` hours."""
    out = []
    for i, r in enumerate(rows):
        amount = float(r.get("amount", 100.0))
        cur = r.get("currency", "USD")
        props = r.get("properties")
        out.append(
            {
                "tx_id": r.get("tx_id", f"t{i}"),
                "ts": T0 + timedelta(hours=float(r.get("h", i))),
                "from_bank": r.get("from_bank", "1"),
                "from_account": r.get("src", "1:A"),
                "to_bank": r.get("to_bank", "1"),
                "to_account": r.get("dst", "1:B"),
                "amount_received": float(r.get("received", amount)),
                "receiving_currency": r.get("rcur", cur),
                "amount_paid": amount,
                "payment_currency": cur,
                "payment_format": r.get("fmt", "Wire"),
                "is_laundering": bool(r.get("y", False)),
                "source_file_id": None,
                "source_row": i + 1,
                "properties": props,
            }
        )
    return pa.Table.from_pylist(out, schema=TRANSACTION_SCHEMA)


def accounts(rows: list[dict[str, Any]]) -> pa.Table:
    out = [
        {
            "account_id": r["account_id"],
            "bank": r["account_id"].split(":")[0],
            "account_number": r["account_id"].split(":")[1],
            "bank_name": None,
            "currency": None,
            "kind": r.get("kind", "bank"),
            "owner_party_id": r.get("owner"),
            "properties": None,
            "source_file_id": None,
        }
        for r in rows
    ]
    return pa.Table.from_pylist(out, schema=ACCOUNT_SCHEMA)


def parties(rows: list[dict[str, Any]]) -> pa.Table:
    out = [
        {
            "party_id": r["party_id"],
            "schema": r.get("schema", "Person"),
            "name": r.get("name", r["party_id"]),
            "birth_date": None,
            "nationality": None,
            "country": r.get("country"),
            "address": None,
            "phone": r.get("phone"),
            "email": None,
            "id_number": None,
            "entity_type": r.get("entity_type"),
            "properties": None,
            "source_file_id": None,
        }
        for r in rows
    ]
    return pa.Table.from_pylist(out, schema=PARTY_SCHEMA)
