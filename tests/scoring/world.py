"""A tiny seeded AMLworld-format world for scoring tests (no dependency on the scenario generator).

Background: random payments between 300 accounts over 20 days. Laundering: fan-in and fan-out
bursts and cycles through a few mule accounts (written as patterns.txt blocks) plus some untyped
laundering payments (in no block), like AMLworld.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

HEADER = (
    "Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,"
    "Amount Paid,Payment Currency,Payment Format,Is Laundering"
)
T0 = datetime(2022, 9, 1)


def _row(ts: datetime, fb: int, fa: str, tb: int, ta: str, amt: float, fmt: str, y: int) -> str:
    return f"{ts:%Y/%m/%d %H:%M},{fb:03d},{fa},{tb:03d},{ta},{amt:.2f},US Dollar,{amt:.2f},US Dollar,{fmt},{y}"


def write_world(folder: Path, n_background: int = 6000, seed: int = 1, n_schemes: int = 60) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    accts = [(int(rng.integers(1, 20)), f"{i:08X}") for i in range(300)]
    rows: list[str] = []
    minutes = 20 * 24 * 60
    for _ in range(n_background):
        a, b = rng.choice(len(accts), 2, replace=False)
        ts = T0 + timedelta(minutes=int(rng.integers(0, minutes)))
        amt = float(np.exp(rng.normal(7, 1.5)))
        fmt = str(rng.choice(["Cheque", "Credit Card", "Wire", "Cash", "ACH"], p=[0.3, 0.3, 0.2, 0.15, 0.05]))
        rows.append(_row(ts, *accts[a], *accts[b], amt, fmt, 0))
    blocks: list[str] = []
    mules = [(int(rng.integers(1, 20)), f"M{i:07X}") for i in range(400)]
    m = 0
    for k in range(n_schemes):
        start = T0 + timedelta(minutes=int(rng.integers(0, minutes - 3000)))
        kind = ["FAN-IN", "FAN-OUT", "CYCLE"][k % 3]
        size = int(rng.integers(5, 9))
        group = mules[m : m + size]
        m = (m + size) % (len(mules) - 10)
        hub = group[0]
        lines = []
        amt = float(rng.uniform(3000, 9000))
        for i, acc in enumerate(group[1:]):
            ts = start + timedelta(minutes=int(rng.integers(0, 600)) + i)
            if kind == "FAN-IN":
                lines.append(_row(ts, *acc, *hub, amt * rng.uniform(0.9, 1.0), "ACH", 1))
            elif kind == "FAN-OUT":
                lines.append(_row(ts, *hub, *acc, amt * rng.uniform(0.9, 1.0), "ACH", 1))
            else:
                nxt = group[(i + 2) % size]
                lines.append(_row(start + timedelta(hours=i * 3), *acc, *nxt, amt * 0.97**i, "Wire", 1))
        rows.extend(lines)
        blocks.append(f"BEGIN LAUNDERING ATTEMPT - {kind}:  Max {size}-degree {kind.title()}")
        blocks.extend(lines)
        blocks.append(f"END LAUNDERING ATTEMPT - {kind}")
        blocks.append("")
        # untyped laundering: a mule pays a random legit account (integration)
        ts = start + timedelta(hours=20)
        b = accts[int(rng.integers(0, len(accts)))]
        rows.append(_row(ts, *hub, *b, amt * 0.5, "ACH", 1))
    order = rng.permutation(len(rows))
    path = folder / "transactions.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows[i] for i in order) + "\n", encoding="utf-8")
    (folder / "patterns.txt").write_text("\n".join(blocks) + "\n", encoding="utf-8")
    return path
