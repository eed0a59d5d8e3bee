"""Arrow schemas of the bulk records. Every reader produces these; every engine consumes them.

An account is identified by ``bank:account_number`` (AMLworld's convention: the same number at two
banks is two accounts). Timestamps are naive UTC, microsecond precision.
"""

from __future__ import annotations

import pyarrow as pa

TRANSACTION_SCHEMA = pa.schema(
    [
        pa.field("tx_id", pa.string(), nullable=False),
        pa.field("ts", pa.timestamp("us"), nullable=False),
        pa.field("from_bank", pa.string(), nullable=False),
        pa.field("from_account", pa.string(), nullable=False),  # account_id = bank:number
        pa.field("to_bank", pa.string(), nullable=False),
        pa.field("to_account", pa.string(), nullable=False),
        pa.field("amount_received", pa.float64(), nullable=False),
        pa.field("receiving_currency", pa.string(), nullable=False),
        pa.field("amount_paid", pa.float64(), nullable=False),
        pa.field("payment_currency", pa.string(), nullable=False),
        pa.field("payment_format", pa.string(), nullable=False),
        pa.field("is_laundering", pa.bool_()),
        pa.field("source_file_id", pa.string()),
        pa.field("source_row", pa.int64()),
        pa.field("properties", pa.string()),  # JSON text
    ]
)

ACCOUNT_SCHEMA = pa.schema(
    [
        pa.field("account_id", pa.string(), nullable=False),
        pa.field("bank", pa.string(), nullable=False),
        pa.field("account_number", pa.string(), nullable=False),
        pa.field("bank_name", pa.string()),
        pa.field("currency", pa.string()),
        pa.field("kind", pa.string()),
        pa.field("owner_party_id", pa.string()),
        pa.field("properties", pa.string()),
        pa.field("source_file_id", pa.string()),
    ]
)

PARTY_SCHEMA = pa.schema(
    [
        pa.field("party_id", pa.string(), nullable=False),
        pa.field("schema", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("birth_date", pa.string()),
        pa.field("nationality", pa.string()),
        pa.field("country", pa.string()),
        pa.field("address", pa.string()),
        pa.field("phone", pa.string()),
        pa.field("email", pa.string()),
        pa.field("id_number", pa.string()),
        pa.field("entity_type", pa.string()),
        pa.field("properties", pa.string()),
        pa.field("source_file_id", pa.string()),
    ]
)

#: AMLworld's payment formats, and those filiere's worlds add
PAYMENT_FORMATS = (
    "Reinvestment",
    "Cheque",
    "Credit Card",
    "ACH",
    "Cash",
    "Wire",
    "Bitcoin",
    "Mobile Money",
)


def account_id(bank: str, number: str) -> str:
    return f"{bank}:{number}"
