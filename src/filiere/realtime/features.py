"""Per-transaction features for the real-time service, the online twin of :mod:`filiere.scoring.features`.

The batch feature table is DuckDB window SQL over the whole history; here the same quantities are
kept as running per-account state and updated one transaction at a time, in arrival order:

* raw columns (amount sizes, format and currency codes, hour, weekday…): computed from the record;
* account history (payments so far, age, gap, amount ratio, pair counts): running counters;
* pattern features: :class:`filiere.graph.StreamingEngine`, identical to batch for the same order;
* account suspicion (two-stage models): the highest first-stage score of each account's earlier
  transactions, updated after each micro-batch's first-stage prediction (sequential semantics);
* rule flags: no per-transaction rule evaluator exists (rules compile to windowed SQL), so they
  read 0 ("did not fire") here; the batch ``filiere detect`` still runs them.

Differences from batch, by construction: transactions arrive in arrival order, and a timestamp
earlier than the previous one is read as the previous one (the streaming engine needs
non-decreasing time); transactions sharing a timestamp see only those that arrived before them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from filiere.scoring.features import CURRENCY_CODES, FORMAT_CODES, HISTORY_FEATURES, PROPAGATED_FEATURES, RAW_FEATURES

_EPOCH = datetime(1970, 1, 1)
_H = 3600.0
# per-account state slots
_NOUT, _NIN, _FIRST, _LAST, _SOUT, _SIN, _PMAX, _PIN, _POUT = range(9)


def _bank_id(bank: str) -> float:
    try:
        return float(int(bank))
    except ValueError:
        return float("nan")


class OnlineFeatures:
    """Running state over every transaction seen; :meth:`step` adds one and returns its features."""

    def __init__(self, graph_config: Any = None, usd_rates: Mapping[str, float] | None = None) -> None:
        from filiere.graph import FeatureConfig, StreamingEngine  # type: ignore[attr-defined]
        from filiere.rules.context import DEFAULT_USD_RATES

        self.engine = StreamingEngine(graph_config or FeatureConfig())
        self.pattern_names: list[str] = [
            n for n in self.engine.feature_names if n not in RAW_FEATURES and n not in HISTORY_FEATURES
        ]
        self.names: list[str] = [*RAW_FEATURES, *HISTORY_FEATURES, *self.pattern_names]
        self.rates = dict(usd_rates or DEFAULT_USD_RATES)
        self.accounts: dict[str, list[float]] = {}
        self.pairs: dict[tuple[str, str], int] = {}
        self.last_ts: int | None = None
        self.count = 0

    # ------------------------------------------------------------------------------ one record
    def _acc(self, key: str) -> list[float]:
        st = self.accounts.get(key)
        if st is None:
            st = [0.0, 0.0, -1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
            self.accounts[key] = st
        return st

    def step(self, rec: Mapping[str, Any]) -> tuple[int, dict[str, float]]:
        """Add ``rec`` (a normalised record) and return (effective time in µs, features).

        The effective time is ``max(rec.ts, previous effective time)``.
        """
        ts = int(rec["ts"])
        if self.last_ts is not None and ts < self.last_ts:
            ts = self.last_ts
        self.last_ts = ts
        self.count += 1
        src = str(rec["from_account"])
        dst = str(rec["to_account"])
        paid = float(rec["amount_paid"])
        received = float(rec["amount_received"])
        pcur = str(rec["payment_currency"])
        rcur = str(rec["receiving_currency"])
        fmt = str(rec["payment_format"])
        usd = paid * self.rates.get(pcur, 1.0)
        when = _EPOCH + timedelta(microseconds=ts)
        f: dict[str, float] = {
            "log_amount_paid": math.log1p(paid),
            "log_amount_received": math.log1p(received),
            "log_amount_usd": math.log1p(usd),
            "payment_format": float(FORMAT_CODES.get(fmt, -1)),
            "payment_currency": float(CURRENCY_CODES.get(pcur, -1)),
            "receiving_currency": float(CURRENCY_CODES.get(rcur, -1)),
            "cross_currency": float(pcur != rcur),
            "same_bank": float(rec["from_bank"] == rec["to_bank"]),
            "self_transfer": float(src == dst),
            "hour": float(when.hour),
            "weekday": float((when.weekday() + 1) % 7),
            "round_amount": float(paid >= 1000 and paid % 1000 == 0),
            "cents": paid - math.floor(paid),
            "from_bank_id": _bank_id(str(rec["from_bank"])),
            "to_bank_id": _bank_id(str(rec["to_bank"])),
        }
        # account history (the current transaction counts in its own window, as in batch)
        s = self._acc(src)
        r = self._acc(dst)
        sec = ts // 1_000_000
        s_gap = (sec - s[_LAST]) / _H if s[_LAST] >= 0 else float("nan")
        r_gap = (sec - r[_LAST]) / _H if r[_LAST] >= 0 else float("nan")
        s[_NOUT] += 1
        s[_SOUT] += usd
        r[_NIN] += 1
        r[_SIN] += usd
        for st in (s, r):
            if st[_FIRST] < 0:
                st[_FIRST] = sec
            st[_LAST] = sec
        avg_out = s[_SOUT] / s[_NOUT]
        avg_in = r[_SIN] / r[_NIN]
        f["s_n_out"] = s[_NOUT]
        f["s_n_in"] = s[_NIN]
        f["s_age_h"] = (sec - s[_FIRST]) / _H
        f["s_gap_h"] = s_gap
        f["s_amt_ratio"] = usd / avg_out if avg_out else float("nan")
        f["r_n_out"] = r[_NOUT]
        f["r_n_in"] = r[_NIN]
        f["r_age_h"] = (sec - r[_FIRST]) / _H
        f["r_gap_h"] = r_gap
        f["r_amt_ratio"] = usd / avg_in if avg_in else float("nan")
        key = (src, dst)
        f["pair_n"] = float(self.pairs.get(key, 0))
        f["pair_reverse_n"] = float(self.pairs.get((dst, src), 0))
        self.pairs[key] = self.pairs.get(key, 0) + 1
        # pattern engine
        pat = self.engine.update(
            {
                "tx_id": rec["id"],
                "ts": ts,
                "from_account": src,
                "to_account": dst,
                "from_bank": rec["from_bank"],
                "payment_format": fmt,
                "amount_paid": paid,
                "amount_received": received,
            }
        )
        for n in self.pattern_names:
            f[n] = pat[n]
        return ts, f

    # --------------------------------------------------------------------- account suspicion
    def propagate(self, recs: Sequence[Mapping[str, Any]], p1: np.ndarray | None) -> list[dict[str, float]]:
        """Account-suspicion features of ``recs`` (in order), then fold their first-stage scores in."""
        out: list[dict[str, float]] = []
        for i, rec in enumerate(recs):
            s = self._acc(str(rec["from_account"]))
            r = self._acc(str(rec["to_account"]))
            out.append(
                {
                    "s_prev_max_p": s[_PMAX],
                    "s_prev_in_max_p": s[_PIN],
                    "r_prev_max_p": r[_PMAX],
                    "r_prev_out_max_p": r[_POUT],
                }
            )
            if p1 is not None:
                p = float(p1[i])
                s[_PMAX] = max(s[_PMAX], p)
                s[_POUT] = max(s[_POUT], p)
                r[_PMAX] = max(r[_PMAX], p)
                r[_PIN] = max(r[_PIN], p)
        return out


def matrix(rows: Sequence[Mapping[str, float]], names: Sequence[str]) -> np.ndarray:
    """Float64 matrix of ``names`` (absent names, such as rule flags, read 0)."""
    X = np.zeros((len(rows), len(names)), dtype=np.float64)
    for i, row in enumerate(rows):
        X[i] = [row.get(n, 0.0) for n in names]
    return X


__all__ = ["PROPAGATED_FEATURES", "OnlineFeatures", "matrix"]
