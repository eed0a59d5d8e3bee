"""Per-transaction features for the real-time service, the online twin of :mod:`filiere.scoring.features`.

The batch feature table is DuckDB window SQL over the whole history; here the same quantities are
kept as running per-account state and computed a micro-batch at a time, in arrival order:

* raw columns (amount sizes, format and currency codes, hour, weekday…): numpy over the batch;
* account history (payments so far, age, gap, amount ratio, pair counts): per-account and per-pair
  counters in flat arrays, updated by one compiled (numba) kernel per micro-batch, transaction by
  transaction in order (a later transaction of the batch sees the earlier ones);
* pattern features: :class:`filiere.graph.StreamingEngine`, identical to batch for the same order;
* account suspicion (two-stage models): the highest first-stage score of each account's earlier
  transactions, folded in by a second kernel after each micro-batch's first-stage prediction;
* rule flags: see :mod:`filiere.realtime.rules` (the flags expressible on one transaction and the
  streaming state are evaluated; the others read 0 and stay with the batch ``filiere detect``).

Differences from batch, by construction: transactions arrive in arrival order, and a timestamp
earlier than the previous one is read as the previous one (the streaming engine needs
non-decreasing time); transactions sharing a timestamp see only those that arrived before them.
Accounts and pairs with no transaction for ``retention_days`` (of transaction time) are forgotten,
at deterministic points (every ``SWEEP_EVERY`` transactions), so a replay of the same records in
the same order gives the same state whatever the micro-batch sizes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import compress, repeat
from operator import eq, is_, itemgetter, ne
from typing import Any

import numpy as np
from numba import njit

from filiere.scoring.features import CURRENCY_CODES, FORMAT_CODES, HISTORY_FEATURES, PROPAGATED_EXTRA, RAW_FEATURES
from filiere.scoring.features import PROPAGATED_FEATURES as _PROPAGATED_BASE

#: account-suspicion columns the service computes: the base four, then the extra four (sums, mean,
#: age of the most suspicious earlier transaction), as :func:`filiere.scoring.features.propagate`
PROPAGATED_FEATURES = (*_PROPAGATED_BASE, *PROPAGATED_EXTRA)

_H = 3600.0
_DAY_US = 86_400_000_000
#: transactions between two evictions of idle accounts and pairs (fixed: part of the semantics)
SWEEP_EVERY = 65_536
# per-account state columns
_NOUT, _NIN, _FIRST, _LAST, _SOUT, _SIN, _PMAX, _PIN, _POUT, _PSUM, _PCNT, _PMAXT = range(12)
_FRESH = np.array([0.0, 0.0, -1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0])
_PAIR_FRESH = np.array([0.0, -1.0])


_get_from, _get_to = itemgetter("from_account"), itemgetter("to_account")
_get_fb, _get_tb = itemgetter("from_bank"), itemgetter("to_bank")
_get_pcur, _get_rcur = itemgetter("payment_currency"), itemgetter("receiving_currency")
_get_fmt, _get_ts = itemgetter("payment_format"), itemgetter("ts")
_get_paid, _get_received = itemgetter("amount_paid"), itemgetter("amount_received")
_get_fields = itemgetter(
    "from_account", "to_account", "from_bank", "to_bank", "payment_currency", "receiving_currency",
    "payment_format", "ts", "amount_paid", "amount_received",
)  # fmt: skip


def _bank_id(bank: str) -> float:
    try:
        return float(int(bank))
    except ValueError:
        return float("nan")


@njit(cache=True)  # short: GIL kept (re-taking it after a nogil call can wait up to 5 ms)
def _history_kernel(
    acc: np.ndarray,
    pairs: np.ndarray,
    s_idx: np.ndarray,
    r_idx: np.ndarray,
    p_idx: np.ndarray,
    rp_idx: np.ndarray,
    sec: np.ndarray,
    usd: np.ndarray,
    out: np.ndarray,
) -> None:
    """Update account and pair counters transaction by transaction; write the 12 history features."""
    nan = np.nan
    for i in range(s_idx.shape[0]):
        s = s_idx[i]
        r = r_idx[i]
        t = sec[i]
        u = usd[i]
        s_gap = (t - acc[s, _LAST]) / _H if acc[s, _LAST] >= 0 else nan
        r_gap = (t - acc[r, _LAST]) / _H if acc[r, _LAST] >= 0 else nan
        acc[s, _NOUT] += 1.0
        acc[s, _SOUT] += u
        acc[r, _NIN] += 1.0
        acc[r, _SIN] += u
        if acc[s, _FIRST] < 0:
            acc[s, _FIRST] = t
        acc[s, _LAST] = t
        if acc[r, _FIRST] < 0:
            acc[r, _FIRST] = t
        acc[r, _LAST] = t
        avg_out = acc[s, _SOUT] / acc[s, _NOUT]
        avg_in = acc[r, _SIN] / acc[r, _NIN]
        out[i, 0] = acc[s, _NOUT]
        out[i, 1] = acc[s, _NIN]
        out[i, 2] = (t - acc[s, _FIRST]) / _H
        out[i, 3] = s_gap
        out[i, 4] = u / avg_out if avg_out != 0 else nan
        out[i, 5] = acc[r, _NOUT]
        out[i, 6] = acc[r, _NIN]
        out[i, 7] = (t - acc[r, _FIRST]) / _H
        out[i, 8] = r_gap
        out[i, 9] = u / avg_in if avg_in != 0 else nan
        p = p_idx[i]
        rp = rp_idx[i]
        out[i, 10] = pairs[p, 0]
        out[i, 11] = pairs[rp, 0] if rp >= 0 else 0.0
        pairs[p, 0] += 1.0
        pairs[p, 1] = t


@njit(cache=True)  # short: GIL kept (re-taking it after a nogil call can wait up to 5 ms)
def _propagate_kernel(
    acc: np.ndarray,
    s_idx: np.ndarray,
    r_idx: np.ndarray,
    p1: np.ndarray,
    has_p: bool,
    sec: np.ndarray,
    out: np.ndarray,
) -> None:
    """Account-suspicion features (before each transaction), then its first-stage score folded in."""
    for i in range(s_idx.shape[0]):
        s = s_idx[i]
        r = r_idx[i]
        out[i, 0] = acc[s, _PMAX]
        out[i, 1] = acc[s, _PIN]
        out[i, 2] = acc[r, _PMAX]
        out[i, 3] = acc[r, _POUT]
        out[i, 4] = acc[s, _PSUM]
        out[i, 5] = acc[s, _PSUM] / acc[s, _PCNT] if acc[s, _PCNT] > 0 else 0.0
        out[i, 6] = (sec[i] - acc[s, _PMAXT]) / _H if acc[s, _PCNT] > 0 else np.nan
        out[i, 7] = acc[r, _PSUM]
        if has_p:
            p = p1[i]
            for a in (s, r):
                if acc[a, _PCNT] == 0 or p > acc[a, _PMAX]:
                    acc[a, _PMAXT] = sec[i]
                acc[a, _PMAX] = max(acc[a, _PMAX], p)
                acc[a, _PSUM] += p
                acc[a, _PCNT] += 1.0
            acc[s, _POUT] = max(acc[s, _POUT], p)
            acc[r, _PIN] = max(acc[r, _PIN], p)


class _Slots:
    """Key → row of a growable state array, with rows of forgotten keys reused."""

    def __init__(self, fresh: np.ndarray, capacity: int = 1024) -> None:
        self.index: dict[Any, int] = {}
        self.keys: list[Any] = []
        self.free: list[int] = []
        self.fresh = fresh
        self.data = np.tile(fresh, (capacity, 1))

    def slot(self, key: Any) -> int:
        i = self.index.get(key)
        if i is not None:
            return i
        if self.free:
            i = self.free.pop()
            self.keys[i] = key
        else:
            i = len(self.keys)
            self.keys.append(key)
            if i >= self.data.shape[0]:
                self.data = np.concatenate([self.data, np.tile(self.fresh, (self.data.shape[0], 1))])
        self.index[key] = i
        return i

    def forget(self, rows: np.ndarray) -> int:
        for i in rows.tolist():
            key = self.keys[i]
            if key is not None:
                del self.index[key]
                self.keys[i] = None
                self.free.append(i)
        self.data[rows] = self.fresh
        return len(rows)

    def slots(self, keys: Sequence[Any]) -> list[int]:
        """:meth:`slot` of each key, new keys taking rows in order of first appearance (as :meth:`slot`
        one key after the other would), by C-level maps over the index."""
        index = self.index
        rows: list[int | None] = list(map(index.get, keys))
        if None not in rows:
            return rows  # type: ignore[return-value]
        new = list(dict.fromkeys(compress(keys, map(is_, rows, repeat(None)))))
        free, keys_of = self.free, self.keys
        reused = [free.pop() for _ in range(min(len(free), len(new)))]
        for i, key in zip(reused, new, strict=False):
            keys_of[i] = key
        first = len(keys_of)
        fresh = new[len(reused) :]
        keys_of.extend(fresh)
        size = held = self.data.shape[0]
        while size < len(keys_of):  # doubled as slot() would
            size *= 2
        if size > held:
            self.data = np.concatenate([self.data, np.tile(self.fresh, (size - held, 1))])
        index.update(zip(new, [*reused, *range(first, first + len(fresh))], strict=True))
        return list(map(index.__getitem__, keys))

    def __len__(self) -> int:
        return len(self.index)


_EMPTY, _GONE = -1, -2  # hash-table cells: never used, a forgotten key (probing goes on past it)
_HASH = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, inline="always")
def _cell(key: int, mask: int) -> int:
    h = np.uint64(key) * _HASH  # Fibonacci hashing, the high half folded in
    return int(h ^ (h >> np.uint64(32))) & mask


@njit(cache=True)
def _find(tk: np.ndarray, key: int) -> int:
    """The table cell holding ``key``, or -1 - (the first reusable cell) when it is absent."""
    mask = tk.shape[0] - 1
    c = _cell(key, mask)
    spare = -1
    while True:
        k = tk[c]
        if k == key:
            return c
        if k == _EMPTY:
            return -1 - (spare if spare >= 0 else c)
        if k == _GONE and spare < 0:
            spare = c
        c = (c + 1) & mask


@njit(cache=True)  # short: GIL kept (re-taking it after a nogil call can wait up to 5 ms)
def _int_slots(
    keys: np.ndarray, out: np.ndarray, tk: np.ndarray, tr: np.ndarray, keyarr: np.ndarray, free: np.ndarray,
    meta: np.ndarray, insert: bool,
) -> None:  # fmt: skip
    """Row of each key (``insert``: new keys take rows as :meth:`_Slots.slot` one key at a time would,
    a freed row first, the last freed first; otherwise -1 for an absent key). ``meta``: rows ever
    used, freed rows waiting, keys held, table cells used (held or forgotten)."""
    for i in range(keys.shape[0]):
        key = keys[i]
        c = _find(tk, key)
        if c >= 0:
            out[i] = tr[c]
            continue
        if not insert:
            out[i] = -1
            continue
        if meta[1] > 0:
            meta[1] -= 1
            row = free[meta[1]]
        else:
            row = meta[0]
            meta[0] += 1
        keyarr[row] = key
        c = -1 - c
        if tk[c] == _EMPTY:
            meta[3] += 1
        tk[c] = key
        tr[c] = row
        meta[2] += 1
        out[i] = row


@njit(cache=True)  # short: GIL kept (re-taking it after a nogil call can wait up to 5 ms)
def _int_forget(rows: np.ndarray, tk: np.ndarray, keyarr: np.ndarray, free: np.ndarray, meta: np.ndarray) -> None:
    for row in rows:
        key = keyarr[row]
        if key < 0:
            continue
        c = _find(tk, key)
        tk[c] = _GONE
        keyarr[row] = -1
        free[meta[1]] = row
        meta[1] += 1
        meta[2] -= 1


@njit(cache=True)
def _int_rehash(keyarr: np.ndarray, held: int, tk: np.ndarray, tr: np.ndarray) -> int:
    used = 0
    for row in range(held):
        key = keyarr[row]
        if key >= 0:
            c = -1 - _find(tk, key)
            tk[c] = key
            tr[c] = row
            used += 1
    return used


class _IntSlots:
    """:class:`_Slots` for non-negative integer keys, the key → row table compiled (open addressing,
    linear probing): a micro-batch's lookups and new rows in one compiled call, the same rows
    as :class:`_Slots` gives (tested)."""

    def __init__(self, fresh: np.ndarray, capacity: int = 1024) -> None:
        self.fresh = fresh
        self.data = np.tile(fresh, (capacity, 1))
        self.keyarr = np.full(capacity, -1, dtype=np.int64)  # key of each row (-1: none)
        self.freed = np.zeros(capacity, dtype=np.int64)  # freed rows, a stack
        self.meta = np.zeros(4, dtype=np.int64)  # rows ever used, freed waiting, keys held, cells used
        self.tk = np.full(2 * capacity, _EMPTY, dtype=np.int64)
        self.tr = np.zeros(2 * capacity, dtype=np.int64)

    @classmethod
    def from_slots(cls, old: _Slots) -> _IntSlots:
        """The same rows, keys and freed rows as ``old`` (its keys integers or None)."""
        held = len(old.keys)
        new = cls(old.fresh, max(old.data.shape[0], 1))
        new.data = old.data.copy()
        new.keyarr[:held] = [-1 if k is None else k for k in old.keys]
        new.freed[: len(old.free)] = old.free
        new.meta[:] = (held, len(old.free), len(old.index), 0)
        new._reserve(0, rebuild=True)
        return new

    def to_slots(self) -> _Slots:
        old = _Slots(self.fresh, 1)
        old.data = self.data.copy()
        old.keys = [None if k < 0 else k for k in self.keyarr[: self.held].tolist()]
        old.free = self.freed[: self.meta[1]].tolist()
        old.index = self.index
        return old

    @property
    def held(self) -> int:
        """Rows ever used (``len(keys)`` of :class:`_Slots`)."""
        return int(self.meta[0])

    @property
    def index(self) -> dict[int, int]:
        """Key → row, as a dict (for checks; the service never builds it)."""
        keys = self.keyarr[: self.held]
        rows = np.flatnonzero(keys >= 0)
        return dict(zip(keys[rows].tolist(), rows.tolist(), strict=True))

    def _reserve(self, n: int, rebuild: bool = False) -> None:
        """Room for ``n`` more keys: rows (doubled as :class:`_Slots` does) and table cells (at most
        half used, forgotten keys dropped when it is rebuilt)."""
        need = self.held + n
        size = held = self.data.shape[0]
        while size < need:
            size *= 2
        if size > held:
            self.data = np.concatenate([self.data, np.tile(self.fresh, (size - held, 1))])
            self.keyarr = np.concatenate([self.keyarr, np.full(size - held, -1, dtype=np.int64)])
            self.freed = np.concatenate([self.freed, np.zeros(size - held, dtype=np.int64)])
        if rebuild or 2 * (int(self.meta[3]) + n) > self.tk.shape[0]:
            cells = 1024
            while cells < 4 * (int(self.meta[2]) + n):
                cells *= 2
            self.tk = np.full(cells, _EMPTY, dtype=np.int64)
            self.tr = np.zeros(cells, dtype=np.int64)
            self.meta[3] = _int_rehash(self.keyarr, self.held, self.tk, self.tr)

    def slots(self, keys: np.ndarray) -> np.ndarray:
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        self._reserve(len(keys))
        out = np.empty(len(keys), dtype=np.int64)
        _int_slots(keys, out, self.tk, self.tr, self.keyarr, self.freed, self.meta, True)
        return out

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """Row of each key, -1 for an absent one."""
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        out = np.empty(len(keys), dtype=np.int64)
        _int_slots(keys, out, self.tk, self.tr, self.keyarr, self.freed, self.meta, False)
        return out

    def forget(self, rows: np.ndarray) -> int:
        _int_forget(np.ascontiguousarray(rows, dtype=np.int64), self.tk, self.keyarr, self.freed, self.meta)
        self.data[rows] = self.fresh
        return len(rows)

    def __len__(self) -> int:
        return int(self.meta[2])


class OnlineFeatures:
    """Running state over every transaction seen; :meth:`step_many` adds a micro-batch.

    ``names`` are the raw, history and pattern feature names, in the columns of the matrices
    :meth:`step_many` returns; the account-suspicion features come from :meth:`propagate`.
    """

    def __init__(
        self, graph_config: Any = None, usd_rates: Mapping[str, float] | None = None, retention_days: float = 400.0
    ) -> None:
        from filiere.graph import FeatureConfig, StreamingEngine  # type: ignore[attr-defined]
        from filiere.rules.context import DEFAULT_USD_RATES

        self.engine = StreamingEngine(graph_config or FeatureConfig())
        self.pattern_names: list[str] = [
            n for n in self.engine.feature_names if n not in RAW_FEATURES and n not in HISTORY_FEATURES
        ]
        self.names: list[str] = [*RAW_FEATURES, *HISTORY_FEATURES, *self.pattern_names]
        self.index: dict[str, int] = {n: i for i, n in enumerate(self.names)}
        self._pattern_direct = self.pattern_names == self.engine.feature_names
        engine_cols = {n: i for i, n in enumerate(self.engine.feature_names)}
        self._pattern_cols = np.array([engine_cols[n] for n in self.pattern_names], dtype=np.int64)
        self.rates = dict(usd_rates or DEFAULT_USD_RATES)
        self.retention_us = int(retention_days * _DAY_US)
        self.accounts = _Slots(_FRESH)
        self.pairs = _IntSlots(_PAIR_FRESH)  # earlier payments, last time (s); keyed by the two slots
        self.last_ts: int | None = None
        self.count = 0
        self.evicted_accounts = 0
        self.evicted_pairs = 0
        self._banks: dict[str, float] = {}  # bank -> its number (NaN when not a number)
        self._bank_codes: dict[str, int] = {}  # bank -> dense code (the pattern engine's key)
        self._cash = frozenset(self.engine.config.cash_formats)
        #: account slots of the last micro-batch, for propagate_many on the same records
        self._idx: tuple[Any, np.ndarray, np.ndarray, tuple[Any, ...]] | None = None
        self._nraw = len(RAW_FEATURES)
        self._nhist = len(HISTORY_FEATURES)

    @staticmethod
    def feature_index(graph_config: Any = None) -> dict[str, int]:
        """Column of each feature name in :meth:`step_many`'s matrix (for a default graph config)."""
        from filiere.graph import FeatureConfig
        from filiere.graph.features import enabled_features

        pattern = [
            f.name for f in enabled_features(graph_config or FeatureConfig())
            if f.name not in RAW_FEATURES and f.name not in HISTORY_FEATURES
        ]  # fmt: skip
        return {n: i for i, n in enumerate([*RAW_FEATURES, *HISTORY_FEATURES, *pattern])}

    @property
    def accounts_held(self) -> int:
        return len(self.accounts)

    @property
    def pairs_held(self) -> int:
        return len(self.pairs)

    # ------------------------------------------------------------------------------ micro-batch
    def step_many(self, recs: Sequence[Mapping[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Add ``recs`` (normalised records, in order); returns (effective times in µs, features).

        The features are a float64 matrix, one row per record, columns :attr:`names`. The
        effective time is the running maximum of the records' times.
        """
        n = len(recs)
        X = np.empty((n, len(self.names)), dtype=np.float64)
        eff = np.empty(n, dtype=np.int64)
        self._idx = None
        start = 0
        while start < n:
            # split where the eviction sweep falls, so the state never depends on batch boundaries
            room = SWEEP_EVERY - (self.count % SWEEP_EVERY)
            stop = min(n, start + room)
            # the usual case, one chunk, passes recs itself: propagate_many(recs) then reuses its slots
            part = recs if stop - start == n else recs[start:stop]
            self._chunk(part, X[start:stop], eff[start:stop])
            start = stop
            if self.count % SWEEP_EVERY == 0 and self.last_ts is not None:
                self._idx = None  # slots may be reused after the sweep
                self.sweep(self.last_ts)
        return eff, X

    def step(self, rec: Mapping[str, Any]) -> tuple[int, dict[str, float]]:
        """One record: (effective time in µs, features by name)."""
        eff, X = self.step_many([rec])
        return int(eff[0]), dict(zip(self.names, X[0].tolist(), strict=True))

    def _chunk(self, recs: Sequence[Mapping[str, Any]], X: np.ndarray, eff: np.ndarray) -> None:
        n = len(recs)
        if n == 0:
            return
        # every field in one C-level pass over the records (no Python-level loop per transaction)
        src, dst, fb, tb, pcur, rcur, fmts, ts_t, paid_t, recv_t = zip(*map(_get_fields, recs), strict=True)
        ts = np.array(ts_t, dtype=np.int64)
        paid = np.array(paid_t, dtype=np.float64)
        received = np.array(recv_t, dtype=np.float64)
        banks, codes = self._banks, self._bank_codes
        for b in {*fb, *tb}.difference(banks):
            banks[b] = _bank_id(b)
            codes[b] = len(codes)
        rate = np.fromiter(map(self.rates.get, pcur, repeat(1.0)), dtype=np.float64, count=n)
        fmt_code = np.fromiter(map(FORMAT_CODES.get, fmts, repeat(-1)), dtype=np.float64, count=n)
        pcode = np.fromiter(map(CURRENCY_CODES.get, pcur, repeat(-1)), dtype=np.float64, count=n)
        rcode = np.fromiter(map(CURRENCY_CODES.get, rcur, repeat(-1)), dtype=np.float64, count=n)
        cross = np.fromiter(map(ne, pcur, rcur), dtype=np.float64, count=n)
        same_bank = np.fromiter(map(eq, fb, tb), dtype=np.float64, count=n)
        self_tx = np.fromiter(map(eq, src, dst), dtype=np.float64, count=n)
        cash = np.fromiter(map(self._cash.__contains__, fmts), dtype=np.int64, count=n)
        # integer ids once per micro-batch: account slots, then pairs keyed by the two slots
        # (senders then receivers in one lookup: new accounts take rows in the order of two calls)
        sr_idx = np.array(self.accounts.slots(src + dst), dtype=np.int64)
        s_idx, r_idx = sr_idx[:n], sr_idx[n:]
        p_idx = self.pairs.slots((s_idx << 32) | r_idx)  # compiled table, one call
        rp_idx = self.pairs.lookup((r_idx << 32) | s_idx)
        # effective time: never earlier than the previous transaction
        if self.last_ts is not None:
            np.maximum(ts, self.last_ts, out=ts)
        np.maximum.accumulate(ts, out=eff)
        self.last_ts = int(eff[-1])
        self.count += n
        # raw columns
        usd = paid * rate
        sec = eff // 1_000_000
        days = eff // _DAY_US
        R = X[:, : self._nraw]
        R[:, 0] = np.log1p(paid)
        R[:, 1] = np.log1p(received)
        R[:, 2] = np.log1p(usd)
        R[:, 3] = fmt_code
        R[:, 4] = pcode
        R[:, 5] = rcode
        R[:, 6] = cross
        R[:, 7] = same_bank
        R[:, 8] = self_tx
        R[:, 9] = (eff // 3_600_000_000) % 24
        R[:, 10] = (days + 4) % 7
        R[:, 11] = (paid >= 1000) & (np.mod(paid, 1000) == 0)
        R[:, 12] = paid - np.floor(paid)
        R[:, 13] = np.fromiter(map(banks.__getitem__, fb), dtype=np.float64, count=n)
        R[:, 14] = np.fromiter(map(banks.__getitem__, tb), dtype=np.float64, count=n)
        # account history
        _history_kernel(
            self.accounts.data,
            self.pairs.data,
            s_idx,
            r_idx,
            p_idx,
            rp_idx,
            sec.astype(np.float64),
            usd,
            X[:, self._nraw : self._nraw + self._nhist],
        )
        # pattern engine: the whole micro-batch through one compiled kernel call (no GIL held), keyed
        # by the account slots (the engine forgets an account before its slot is reused: see sweep)
        pat = self.engine.update_many(
            {
                "ts": eff,
                "from_account": s_idx,
                "to_account": r_idx,
                "from_bank": np.fromiter(map(codes.__getitem__, fb), dtype=np.int64, count=n),
                "cash": cash,
                "amount_paid": paid,
                "amount_received": received,
            }
        )
        off = self._nraw + self._nhist
        X[:, off:] = pat if self._pattern_direct else pat[:, self._pattern_cols]
        self._idx = (recs, s_idx, r_idx, ts_t)

    def sweep(self, now_us: int) -> None:
        """Forget accounts and pairs with no transaction since ``now_us - retention``."""
        horizon = (now_us - self.retention_us) // 1_000_000
        held = len(self.accounts.keys)
        last = self.accounts.data[:held, _LAST]
        rows = np.flatnonzero((last >= 0) & (last < horizon))
        if len(rows):
            self.engine.forget(rows)  # the pattern engine holds them by slot: before the slot is reused
            self.evicted_accounts += self.accounts.forget(rows)
        held = self.pairs.held
        plast = self.pairs.data[:held, 1]
        rows = np.flatnonzero((plast >= 0) & (plast < horizon))
        if len(rows):
            self.evicted_pairs += self.pairs.forget(rows)

    # --------------------------------------------------------------------- account suspicion
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_idx"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._idx = None
        if "_cash" not in state:
            self._upgrade_keys()
        if not isinstance(self.pairs, _IntSlots):  # a snapshot from before the compiled pair table
            self.pairs = _IntSlots.from_slots(self.pairs)
        # a snapshot from before the extra suspicion columns: widen the account state with fresh values
        data = self.accounts.data
        if data.shape[1] < len(_FRESH):
            wide = np.tile(_FRESH, (data.shape[0], 1))
            wide[:, : data.shape[1]] = data
            self.accounts.data = wide
            self.accounts.fresh = _FRESH

    def _upgrade_keys(self) -> None:
        """A snapshot from before integer keys: pairs keyed by the two account slots, the pattern
        engine's accounts by slot, banks with a dense code."""
        index = self.accounts.index
        pairs: Any = self.pairs  # a _Slots keyed by account names (made an _IntSlots after)
        keys: list[Any] = []
        for i, k in enumerate(pairs.keys):
            a, b = (None, None) if k is None else (index.get(k[0]), index.get(k[1]))
            if a is None or b is None:  # free (or, impossibly, an account gone before its pair)
                if k is not None:
                    pairs.free.append(i)
                    pairs.data[i] = pairs.fresh
                keys.append(None)
            else:
                keys.append((a << 32) | b)
        pairs.keys = keys
        pairs.index = {k: i for i, k in enumerate(keys) if k is not None}
        self._bank_codes = {b: i for i, b in enumerate(self._banks)}
        self._cash = frozenset(self.engine.config.cash_formats)
        self.engine.rekey(index, self._bank_codes)

    def propagate_many(self, recs: Sequence[Mapping[str, Any]], p1: np.ndarray | None) -> np.ndarray:
        """Account-suspicion features of ``recs`` (n × 8, :data:`PROPAGATED_FEATURES`), then their
        first-stage scores ``p1`` folded into the accounts' state."""
        n = len(recs)
        cached = self._idx
        if cached is not None and cached[0] is recs:  # right after step_many(recs), no sweep between
            _, s_idx, r_idx, ts_t = cached
            sec = (np.array(ts_t, dtype=np.int64) // 1_000_000).astype(np.float64)
        else:
            sec = (np.fromiter(map(_get_ts, recs), dtype=np.int64, count=n) // 1_000_000).astype(np.float64)
            # an account forgotten meanwhile comes back fresh, as in a replay
            s_idx = np.array(self.accounts.slots(list(map(_get_from, recs))), dtype=np.int64)
            r_idx = np.array(self.accounts.slots(list(map(_get_to, recs))), dtype=np.int64)
        out = np.empty((n, len(PROPAGATED_FEATURES)))
        has_p = p1 is not None
        p = np.ascontiguousarray(p1, dtype=np.float64) if p1 is not None else np.zeros(n)
        _propagate_kernel(self.accounts.data, s_idx, r_idx, p, has_p, sec, out)
        return out

    def propagate(self, recs: Sequence[Mapping[str, Any]], p1: np.ndarray | None) -> list[dict[str, float]]:
        """:meth:`propagate_many` as one dict per record."""
        out = self.propagate_many(recs, p1)
        return [dict(zip(PROPAGATED_FEATURES, row, strict=True)) for row in out.tolist()]


class ModelColumns:
    """Where each of a model's feature names is found: the online matrix, the account-suspicion
    matrix, the rule flags, or nowhere (reads 0)."""

    def __init__(self, names: Sequence[str], online: Mapping[str, int], rules: Sequence[str] = ()) -> None:
        prop = {n: i for i, n in enumerate(PROPAGATED_FEATURES)}
        rule = {n: i for i, n in enumerate(rules)}
        self.src = np.zeros(len(names), dtype=np.int64)  # 0 online, 1 propagated, 2 rule, 3 zero
        self.col = np.zeros(len(names), dtype=np.int64)
        for j, n in enumerate(names):
            for k, table in enumerate((online, prop, rule)):
                if n in table:
                    self.src[j], self.col[j] = k, table[n]
                    break
            else:
                self.src[j] = 3
        self.width = len(names)
        self._n_rules = len(rules)
        #: (online width, column of each name in the parts side by side)
        self._take: tuple[int, np.ndarray] | None = None

    def build(self, online: np.ndarray, prop: np.ndarray | None = None, rules: np.ndarray | None = None) -> np.ndarray:
        """The model's input matrix (n × its features) from the parts: the parts side by side (an
        absent part, and names found nowhere, read 0), then one gather of the model's columns."""
        n, w = online.shape
        if self._take is None or self._take[0] != w:
            offset = np.array([0, w, w + len(PROPAGATED_FEATURES), w + len(PROPAGATED_FEATURES) + self._n_rules])
            self._take = (w, np.where(self.src == 3, offset[3], offset[self.src] + self.col))
        if not (self.src > 0).any():  # every column from the online matrix (a first stage)
            return np.take(online, self._take[1], axis=1)  # C-ordered, as the boosters read rows
        parts = [
            online,
            prop if prop is not None else np.zeros((n, len(PROPAGATED_FEATURES))),
            rules if rules is not None else np.zeros((n, self._n_rules)),
            np.zeros((n, 1)),
        ]
        return np.take(np.concatenate(parts, axis=1, dtype=np.float64), self._take[1], axis=1)


def matrix(rows: Sequence[Mapping[str, float]], names: Sequence[str]) -> np.ndarray:
    """Float64 matrix of ``names`` from dicts (absent names read 0)."""
    X = np.zeros((len(rows), len(names)), dtype=np.float64)
    for i, row in enumerate(rows):
        X[i] = [row.get(n, 0.0) for n in names]
    return X


__all__ = ["PROPAGATED_FEATURES", "SWEEP_EVERY", "ModelColumns", "OnlineFeatures", "matrix"]
