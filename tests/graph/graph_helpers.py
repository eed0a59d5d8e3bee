from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pyarrow as pa

from filiere.model import TRANSACTION_SCHEMA

T0 = datetime(2022, 9, 1)


def make_table(rows: Sequence[tuple[float, str, str, float] | tuple[float, str, str, float, str]]) -> pa.Table:
    """Transactions from (minutes after T0, sender, receiver, amount[, format]) tuples; tx_id = row number."""
    cols: dict[str, list[object]] = {f.name: [] for f in TRANSACTION_SCHEMA}
    for i, r in enumerate(rows):
        minutes, src, dst, amount = r[0], r[1], r[2], r[3]
        fmt = r[4] if len(r) > 4 else "Wire"  # type: ignore[misc]
        bank_s, bank_d = f"b{src[-1]}", f"b{dst[-1]}"
        cols["tx_id"].append(str(i))
        cols["ts"].append(T0 + timedelta(minutes=minutes))
        cols["from_bank"].append(bank_s)
        cols["from_account"].append(src)
        cols["to_bank"].append(bank_d)
        cols["to_account"].append(dst)
        cols["amount_received"].append(float(amount))
        cols["receiving_currency"].append("US Dollar")
        cols["amount_paid"].append(float(amount))
        cols["payment_currency"].append("US Dollar")
        cols["payment_format"].append(fmt)
        cols["is_laundering"].append(False)
        cols["source_file_id"].append("test")
        cols["source_row"].append(i)
        cols["properties"].append(None)
    return pa.Table.from_pydict(cols, schema=TRANSACTION_SCHEMA)
