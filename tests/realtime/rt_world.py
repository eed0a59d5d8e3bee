"""A tiny seeded AMLworld-format world for the real-time tests: random payments among 200 accounts
over 10 days plus labelled fan-in bursts into mule accounts (enough for a model to learn from)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

HEADER = (
    "Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,"
    "Amount Paid,Payment Currency,Payment Format,Is Laundering"
)
T0 = datetime(2022, 9, 1)
END = T0 + timedelta(days=10)


def write_world(folder: Path, n_background: int = 2500, n_bursts: int = 40, seed: int = 3) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    accts = [(int(rng.integers(1, 12)), f"{i:08X}") for i in range(200)]
    rows: list[str] = []

    def row(ts: datetime, a: tuple[int, str], b: tuple[int, str], amt: float, fmt: str, y: int) -> str:
        return (
            f"{ts:%Y/%m/%d %H:%M},{a[0]:03d},{a[1]},{b[0]:03d},{b[1]},{amt:.2f},US Dollar,{amt:.2f},US Dollar,{fmt},{y}"
        )

    minutes = 10 * 24 * 60
    for _ in range(n_background):
        i, j = rng.choice(len(accts), 2, replace=False)
        ts = T0 + timedelta(minutes=int(rng.integers(0, minutes)))
        fmt = str(rng.choice(["Cheque", "Credit Card", "Wire", "Cash", "ACH"]))
        rows.append(row(ts, accts[i], accts[j], float(np.exp(rng.normal(6, 1.2))), fmt, 0))
    for k in range(n_bursts):
        hub = (int(rng.integers(1, 12)), f"M{k:07X}")
        start = T0 + timedelta(minutes=int(rng.integers(0, minutes - 600)))
        for n in range(6):
            src = accts[int(rng.integers(0, len(accts)))]
            rows.append(row(start + timedelta(minutes=n * 7), src, hub, float(rng.uniform(8000, 9900)), "ACH", 1))
    path = folder / "transactions.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path
