"""Batch and streaming front-ends over the compiled kernels.

Streaming feeds edges one at a time, in (timestamp, arrival order), through the ring kernel
(:func:`filiere.graph.kernels.process`). Batch feeds the whole file, in (timestamp, row order), through
the same ring kernel for the path families and through the account-grouped kernel
(:mod:`filiere.graph.batch_kernels`) for the per-account families; both compute the same values with
the same floating-point operations in the same order, and the tests check batch == streaming ==
brute force exactly.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filiere.errors import UserInputError
from filiere.graph import batch_kernels as bk
from filiere.graph import kernels as kn
from filiere.graph.config import ALL_FAMILIES, FeatureConfig, hours_to_us
from filiere.graph.features import FEATURE_INDEX, FeatureSpec, enabled_features

ProgressFn = Callable[[int, int], None]

_CHUNK = 1 << 18
#: the ring kernel's families, split in two groups of similar cost that run in two threads in batch
_RING_GROUPS = (kn.F_CYCLE | kn.F_PEEL | kn.F_STRUCT, kn.F_SG | kn.F_BIP | kn.F_STACK)
_EPOCH = datetime(1970, 1, 1)


def _params(config: FeatureConfig, cap: int) -> tuple[np.ndarray, np.ndarray]:
    Pi = np.zeros(kn.NPI, dtype=np.int64)
    Pi[kn.P_W] = hours_to_us(config.window_h)
    Pi[kn.P_WSG] = hours_to_us(config.sg_window_h)
    Pi[kn.P_WC] = hours_to_us(config.cycle_window_h)
    Pi[kn.P_K] = config.cycle_max_len
    Pi[kn.P_CAP] = cap
    Pi[kn.P_WP] = hours_to_us(config.peel_gap_h)
    Pi[kn.P_WPT] = hours_to_us(config.pass_through_window_h)
    Pi[kn.P_WS] = hours_to_us(config.structuring_window_h)
    Pi[kn.P_FLAGS] = sum(1 << ALL_FAMILIES.index(f) for f in config.families)
    Pi[kn.P_CCAP] = config.cycle_count_cap
    Pf = np.zeros(kn.NPF, dtype=np.float64)
    Pf[kn.PF_PEEL] = config.peel_min_ratio
    Pf[kn.PF_TOL] = config.pass_through_tolerance
    Pf[kn.PF_SLO] = config.structuring_threshold * (1.0 - config.structuring_margin)
    Pf[kn.PF_SHI] = config.structuring_threshold
    return Pi, Pf


def _column(table: pa.Table, name: str) -> pa.ChunkedArray:
    if name not in table.column_names:
        raise UserInputError(f"transactions table has no column '{name}' (columns: {', '.join(table.column_names)})")
    return table.column(name)


def _no_nulls(col: pa.ChunkedArray, name: str) -> None:
    n = col.null_count
    if n:
        first = int(pc.index(pc.is_null(col), True).as_py())
        raise UserInputError(f"column '{name}' has {n} empty values (first at row {first})")


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def amount_column(config: FeatureConfig) -> str:
    return config.amount_column or "amount_paid"


def prepare_edges(table: pa.Table, config: FeatureConfig) -> dict[str, Any]:
    """Encode a transactions table into sorted compact arrays (vectorised, no per-row Python)."""
    ts_col = _column(table, "ts")
    src_col = _column(table, "from_account")
    dst_col = _column(table, "to_account")
    bank_col = _column(table, "from_bank")
    fmt_col = _column(table, "payment_format")
    amt_name = amount_column(config)
    amt_col = _column(table, amt_name)
    for name, col in (("ts", ts_col), ("from_account", src_col), ("to_account", dst_col), (amt_name, amt_col)):
        _no_nulls(col, name)
    ts = ts_col.cast(pa.timestamp("us")).cast(pa.int64()).to_numpy()
    amt = amt_col.cast(pa.float64()).to_numpy()
    bad = ~np.isfinite(amt)
    if bad.any():
        raise UserInputError(f"column '{amt_name}' is not a finite number at row {int(np.argmax(bad))}")
    n = len(ts)
    both = pa.chunked_array(src_col.chunks + dst_col.chunks, type=pa.string()).combine_chunks()
    enc = both.dictionary_encode()
    acc_idx = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    banks = bank_col.combine_chunks().dictionary_encode()
    bank_idx = banks.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    cash = pc.fill_null(pc.is_in(fmt_col, value_set=pa.array(list(config.cash_formats), pa.string())), False)
    order = np.argsort(ts, kind="stable")
    return {
        "n": n,
        "order": order,
        "ts": ts[order],
        "src": acc_idx[:n][order],
        "dst": acc_idx[n:][order],
        "bank": bank_idx[order] if n else bank_idx,
        "cash": cash.to_numpy().astype(np.int64)[order] if n else np.zeros(0, np.int64),
        "amount": amt[order],
        "accounts": enc.dictionary,
        "n_accounts": len(enc.dictionary),
        "n_banks": max(1, len(banks.dictionary)),
    }


def feature_names(config: FeatureConfig) -> list[str]:
    return [f.name for f in enabled_features(config)]


def compute_features(
    table: pa.Table,
    config: FeatureConfig | None = None,
    progress: ProgressFn | None = None,
) -> pa.Table:
    """Causal pattern features of every transaction: ``tx_id`` + one column per feature, input row order.

    Two compiled kernels run side by side (numba releases the GIL): the per-account families
    (degree, stats, gather-scatter, pass-through) over edges grouped by account
    (:mod:`filiere.graph.batch_kernels`, accounts split over threads), and the path families (scatter-gather,
    bipartite, stack, cycle, peel, structuring) through the streaming kernel over the whole file.
    """
    config = config or FeatureConfig()
    specs = enabled_features(config)
    e = prepare_edges(table, config)
    n = e["n"]
    n_acc = max(1, e["n_accounts"])
    fslot = np.full(kn.NFEAT, -1, dtype=np.int64)
    islot = np.full(kn.NFEAT, -1, dtype=np.int64)
    nf = ni = 0
    for f in specs:
        if f.integer:
            islot[FEATURE_INDEX[f.name]] = ni
            ni += 1
        else:
            fslot[FEATURE_INDEX[f.name]] = nf
            nf += 1
    F = np.zeros((nf, n), dtype=np.float64)
    Iv = np.zeros((ni, n), dtype=np.int32)
    cap = max(1, n)
    Pi, Pf = _params(config, cap)
    flags = int(Pi[kn.P_FLAGS])
    order = e["order"]
    cores = _cores()

    def accounts() -> None:
        Pa = Pi.copy()
        Pa[kn.P_FLAGS] = flags & bk.ACCOUNT_FLAGS
        out_off, out_e = bk.group_by(e["src"], n_acc)
        in_off, in_e = bk.group_by(e["dst"], n_acc)
        ts, amt, src, dst = e["ts"], e["amount"], e["src"], e["dst"]
        out_ts, out_amt, out_peer = ts[out_e], amt[out_e], dst[out_e]
        in_ts, in_amt, in_peer = ts[in_e], amt[in_e], src[in_e]

        def chunk(c: int) -> None:
            bk.account_features(
                c, cores, n_acc, out_off, out_e, out_ts, out_amt, out_peer, in_off, in_e, in_ts, in_amt, in_peer,
                order, Pa, Pf, F, Iv, fslot, islot,
            )  # fmt: skip

        later = [pool.submit(chunk, c) for c in range(1, cores)]
        chunk(0)
        for fut in later:
            fut.result()

    def ring(ring_flags: int, report: bool) -> None:
        Ei, Ef, A, B, S, G = kn.new_state(cap, n_acc, e["n_banks"])
        Ei[:n, kn.TS] = e["ts"]
        Ei[:n, kn.SRC] = e["src"]
        Ei[:n, kn.DST] = e["dst"]
        Ei[:n, kn.CASH] = e["cash"]
        Ei[:n, kn.BANK] = e["bank"]
        Ef[:n] = e["amount"]
        Pr = Pi.copy()
        Pr[kn.P_FLAGS] = ring_flags
        cols = [(FEATURE_INDEX[f.name], f.integer) for f in specs if (1 << ALL_FAMILIES.index(f.family)) & ring_flags]
        buf = np.zeros((min(_CHUNK, cap), kn.NFEAT), dtype=np.float64)
        for g0 in range(0, n, _CHUNK):
            g1 = min(n, g0 + _CHUNK)
            out = buf[: g1 - g0]
            kn.process(Ei, Ef, A, B, S, G, Pr, Pf, out, g0, g1)
            rows = order[g0:g1]
            for c, integer in cols:
                if integer:
                    Iv[islot[c], rows] = out[:, c]
                else:
                    F[fslot[c], rows] = out[:, c]
            if report and progress is not None:
                progress(g1, n)

    # independent tasks, one thread each (the kernels release the GIL); the first runs here
    tasks: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
    if n:
        for group in _RING_GROUPS:
            if flags & group:
                tasks.append((ring, (flags & group, not tasks)))
        if flags & bk.ACCOUNT_FLAGS:
            tasks.append((accounts, ()))
    if tasks:
        with ThreadPoolExecutor(max_workers=len(tasks) + cores) as pool:
            futures = [pool.submit(fn, *args) for fn, args in tasks[1:]]
            tasks[0][0](*tasks[0][1])
            for fut in futures:
                fut.result()
    if progress is not None:
        progress(n, n)
    arrays: list[pa.Array | pa.ChunkedArray] = [_column(table, "tx_id")]
    for f in specs:
        c = FEATURE_INDEX[f.name]
        arrays.append(pa.array(Iv[islot[c]] if f.integer else F[fslot[c]]))
    return pa.Table.from_arrays(arrays, names=["tx_id", *[f.name for f in specs]])


def _ts_us(value: Any) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return int((value - _EPOCH) // timedelta(microseconds=1))
    if isinstance(value, np.datetime64):
        return int(value.astype("datetime64[us]").astype(np.int64))
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, str):
        try:
            return _ts_us(datetime.fromisoformat(value))
        except ValueError as exc:
            raise UserInputError(f"field 'ts': not an ISO timestamp: {value!r}") from exc
    raise UserInputError(f"field 'ts': expected a datetime, got {type(value).__name__}")


def _field(tx: Mapping[str, Any] | Any, name: str) -> Any:
    if isinstance(tx, Mapping):
        if name not in tx:
            raise UserInputError(f"transaction has no field '{name}'")
        return tx[name]
    if not hasattr(tx, name):
        raise UserInputError(f"transaction has no field '{name}'")
    return getattr(tx, name)


class StreamingEngine:
    """Features of one transaction at a time, identical to batch for the same edge order.

    Transactions must arrive with non-decreasing timestamps; ties keep arrival order (as batch keeps
    row order). Memory follows the largest window, not the history: edges older than it are
    overwritten in a ring buffer that doubles only while the window holds more edges than it, and
    accounts with no transaction in it are forgotten (their slots, ~100 bytes each, are reused) by a
    sweep that runs every ``sweep_min`` updates or every as many updates as accounts held,
    whichever is more (amortised O(1) per update).
    """

    def __init__(
        self, config: FeatureConfig | None = None, initial_capacity: int = 1 << 14, *, sweep_min: int = 4096
    ) -> None:
        self.config = config or FeatureConfig()
        self._specs: list[FeatureSpec] = enabled_features(self.config)
        self._cols = np.array([FEATURE_INDEX[f.name] for f in self._specs], dtype=np.int64)
        self._names = [f.name for f in self._specs]
        self._ints = [f.integer for f in self._specs]
        self._cap = max(16, int(initial_capacity))
        self._Ei, self._Ef, self._A, self._B, self._S, self._G = kn.new_state(self._cap, 1024, 64)
        self._Pi, self._Pf = _params(self.config, self._cap)
        self._out = np.zeros((1, kn.NFEAT), dtype=np.float64)
        self._accounts: dict[Any, int] = {}  # account key (str, or the caller's int id) -> slot
        self._keys: list[Any] = []  # account slot -> key (None when free)
        self._free: list[int] = []
        self._last = np.zeros(self._A.shape[0], dtype=np.int64)  # latest timestamp per account slot
        self._sweep_min = max(1, int(sweep_min))
        self._since_sweep = 0
        self._evicted = 0
        self._banks: dict[Any, int] = {}
        self._ext = np.zeros(0, dtype=np.int64)  # integer key -> slot (-1: none), for integer keys
        self._n = 0
        self._last_ts: int | None = None
        self._max_w = self.config.max_window_us()
        self._amount = amount_column(self.config)
        self._cash = frozenset(self.config.cash_formats)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "_ext" not in state:  # pickled before integer keys
            self._ext = np.zeros(0, dtype=np.int64)

    @property
    def edges_seen(self) -> int:
        return self._n

    @property
    def capacity(self) -> int:
        """Edges the ring buffer holds (follows the number of edges in the largest window)."""
        return self._cap

    @property
    def feature_names(self) -> list[str]:
        return list(self._names)

    @property
    def accounts_held(self) -> int:
        """Accounts with state in memory (those with a transaction in the largest window, until a sweep)."""
        return len(self._accounts)

    @property
    def accounts_evicted(self) -> int:
        return self._evicted

    def _account(self, key: Any) -> int:
        idx = self._accounts.get(key)
        if idx is None:
            if self._free:
                idx = self._free.pop()
                self._keys[idx] = key
            else:
                idx = len(self._keys)
                self._keys.append(key)
            self._accounts[key] = idx
            if idx >= self._A.shape[0]:
                old = self._A
                self._A = np.zeros((old.shape[0] * 2, kn.NA), dtype=np.int64)
                self._A[:, kn.HOUT] = -1
                self._A[:, kn.HIN] = -1
                self._A[:, kn.HNOUT] = -1
                self._A[:, kn.HNIN] = -1
                self._A[: old.shape[0]] = old
                self._S = np.zeros((self._A.shape[0], 4), dtype=np.int64)
                self._last = np.concatenate([self._last, np.zeros_like(self._last)])
        return idx

    def _sweep(self, now: int) -> None:
        """Forget accounts whose latest transaction is older than every window (no walk can reach it)."""
        self._since_sweep = 0
        held = len(self._keys)
        rows = np.flatnonzero(self._last[:held] < now - self._max_w)
        if len(rows):
            self._free_rows(rows)

    def forget(self, keys: Any) -> int:
        """Forget these accounts now (keys not held are skipped); returns how many were held.

        For a caller whose integer keys are its own account slots: before it gives a slot to another
        account it forgets the old one here, so the new account starts fresh. Only accounts idle for
        longer than every window may be forgotten this way (no walk reaches their edges any more):
        the features stay exactly those of a replay; only the timing of the next sweep may move.
        """
        get = self._accounts.get
        rows = [r for r in map(get, keys.tolist() if isinstance(keys, np.ndarray) else keys) if r is not None]
        if rows:
            self._free_rows(np.array(sorted(rows), dtype=np.int64))
        return len(rows)

    def rekey(self, accounts: Mapping[Any, int], banks: Mapping[Any, int]) -> None:
        """Hold the accounts and banks under new keys (``accounts``, ``banks``: old key → the caller's
        non-negative integer id), for a caller moving from string keys to its own ids (an old
        snapshot). Accounts missing from ``accounts`` are held by the engine only — idle, the caller
        forgot them — and are forgotten here; banks missing from ``banks`` are dropped."""
        gone = [k for k in self._accounts if k not in accounts]
        if gone:
            self.forget(gone)
        self._keys = [None if k is None else accounts[k] for k in self._keys]
        self._accounts = {k: i for i, k in enumerate(self._keys) if k is not None}
        self._ext = np.full(max(accounts.values(), default=0) + 1, -1, dtype=np.int64)
        for k, i in self._accounts.items():
            self._ext[k] = i
        self._banks = {banks[b]: i for b, i in self._banks.items() if b in banks}

    def _free_rows(self, rows: np.ndarray) -> None:
        """Free the account slots ``rows`` (ascending): state reset, keys dropped, slots reusable."""
        self._last[rows] = np.iinfo(np.int64).max  # free slots are not found again
        self._A[rows] = 0  # stamps 0 never match a live stamp
        self._A[rows, kn.HOUT] = -1
        self._A[rows, kn.HIN] = -1
        self._A[rows, kn.HNOUT] = -1
        self._A[rows, kn.HNIN] = -1
        stale = rows.tolist()
        ext = self._ext
        for i in stale:
            key = self._keys[i]
            if key is not None:
                del self._accounts[key]
                self._keys[i] = None
                if type(key) is int and key < len(ext):
                    ext[key] = -1
        self._free.extend(reversed(stale))
        self._evicted += len(stale)

    def _bank(self, key: Any) -> int:
        idx = self._banks.get(key)
        if idx is None:
            idx = len(self._banks)
            self._banks[key] = idx
            if idx >= self._B.shape[0]:
                self._B = np.concatenate([self._B, np.zeros_like(self._B)])
        return idx

    def _grow(self) -> None:
        g, cap = self._n, self._cap
        new = cap * 2
        idx = np.arange(max(0, g - cap), g)
        Ei = np.zeros((new, kn.NE), dtype=np.int64)
        Ef = np.zeros(new, dtype=np.float64)
        Ei[idx % new] = self._Ei[idx % cap]
        Ef[idx % new] = self._Ef[idx % cap]
        self._Ei, self._Ef, self._cap = Ei, Ef, new
        self._Pi[kn.P_CAP] = new

    def update(self, tx: Mapping[str, Any] | Any) -> dict[str, float]:
        """Add one transaction and return its features (same names and values as batch)."""
        ts = _ts_us(_field(tx, "ts"))
        if self._last_ts is not None and ts < self._last_ts:
            raise UserInputError(
                f"transaction {_field(tx, 'tx_id')!r} is earlier than the previous one: "
                "the streaming engine needs non-decreasing timestamps"
            )
        amount = float(_field(tx, self._amount))
        if not np.isfinite(amount):
            raise UserInputError(f"transaction {_field(tx, 'tx_id')!r}: field '{self._amount}' is not a number")
        self._since_sweep += 1
        if self._since_sweep >= max(self._sweep_min, len(self._accounts)):
            self._sweep(ts)
        u = self._account(str(_field(tx, "from_account")))
        v = self._account(str(_field(tx, "to_account")))
        self._last[u] = ts
        self._last[v] = ts
        b = self._bank(str(_field(tx, "from_bank")))
        cash = 1 if _field(tx, "payment_format") in self._cash else 0
        g = self._n
        while g >= self._cap and self._Ei[g % self._cap, kn.TS] >= ts - self._max_w:
            self._grow()
        sl = g % self._cap
        row = self._Ei[sl]
        row[:] = 0
        row[kn.TS] = ts
        row[kn.SRC] = u
        row[kn.DST] = v
        row[kn.CASH] = cash
        row[kn.BANK] = b
        self._Ef[sl] = amount
        kn.process(self._Ei, self._Ef, self._A, self._B, self._S, self._G, self._Pi, self._Pf, self._out, g, g + 1)
        self._n = g + 1
        self._last_ts = ts
        vals = self._out[0, self._cols].tolist()
        return dict(zip(self._names, vals, strict=True))

    def update_many(self, txs: pa.Table | Mapping[str, Any]) -> np.ndarray:
        """Add a micro-batch of transactions, in order; returns their features, ``[n, len(feature_names)]``.

        ``txs`` is a table or a mapping of column name → array (numpy, pyarrow or list) with ``ts``
        (timestamps, or integer µs since the epoch), ``from_account``, ``to_account``, ``from_bank``,
        ``payment_format``, the amount column and optionally ``tx_id`` (named in errors). A mapping
        may give the account and bank keys as integer numpy arrays instead (the caller's own ids, one
        kind of key per engine: an integer key never equals a string one; see :meth:`forget`) and
        ``cash`` (0/1 per row) instead of ``payment_format``. The result,
        columns in :attr:`feature_names` order, and the engine's state afterwards are exactly those
        of calling :meth:`update` on each row in turn; the edges go through one compiled kernel call
        (no GIL held) per micro-batch, split only where an account sweep or a ring growth falls.
        The batch is checked before anything changes: a bad row raises and leaves the state as it was.
        """
        cols = _batch_columns(txs, self._amount)
        ts, amount = cols["ts"], cols["amount"]
        n = len(ts)
        res = np.zeros((n, len(self._cols)), dtype=np.float64)
        if n == 0:
            return res
        ids = cols.get("tx_id")
        bad = ~np.isfinite(amount)
        if bad.any():
            i = int(np.argmax(bad))
            raise UserInputError(f"transaction {_row_name(ids, i)}: field '{self._amount}' is not a number")
        prev = np.empty(n, dtype=np.int64)
        prev[0] = ts[0] if self._last_ts is None else self._last_ts
        prev[1:] = ts[:-1]
        back = ts < prev
        if back.any():
            i = int(np.argmax(back))
            raise UserInputError(
                f"transaction {_row_name(ids, i)} is earlier than the previous one: "
                "the streaming engine needs non-decreasing timestamps"
            )
        src: list[Any] = cols["from_account"]
        dst: list[Any] = cols["to_account"]
        banks: list[Any] = cols["from_bank"]
        cash = cols.get("cash")
        if cash is None:
            cash = np.fromiter(map(self._cash.__contains__, cols["payment_format"]), dtype=np.int64, count=n)
        out = np.zeros((n, kn.NFEAT), dtype=np.float64)
        start, swept = 0, False
        while start < n:
            stop = self._sweep_point(src, dst, start, n, swept)
            if stop == start:  # the sweep runs before this transaction, as in update()
                self._sweep(int(ts[start]))
                swept = True
                continue
            self._segment(src, dst, banks, ts, amount, cash, out, start, stop)
            self._since_sweep += stop - start - (1 if swept else 0)
            swept = False
            start = stop
        self._last_ts = int(ts[-1])
        res[:] = out[:, self._cols]
        return res

    def _int_slots(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Slots of integer keys, interleaved (from, to) per row, by one array lookup; new accounts take
        slots in arrival order as in :meth:`_segment`'s string path."""
        m = len(src)
        keys = np.empty(2 * m, dtype=np.int64)
        keys[0::2] = src
        keys[1::2] = dst
        if m and int(keys.min()) < 0:
            raise UserInputError("integer account keys must be non-negative")
        ext = self._ext
        top = int(keys.max()) + 1 if m else 0
        if top > len(ext):
            ext = np.concatenate([ext, np.full(max(top, 2 * len(ext)) - len(ext), -1, dtype=np.int64)])
            self._ext = ext
        uv = ext[keys]
        miss = np.flatnonzero(uv < 0)
        if len(miss):
            for i in miss.tolist():
                k = int(keys[i])
                slot = int(ext[k])
                if slot < 0:  # the same new key twice in the batch: the first took the slot
                    slot = self._account(k)
                    ext[k] = slot
                uv[i] = slot
        return uv

    def _sweep_point(self, src: list[Any], dst: list[Any], start: int, n: int, swept: bool) -> int:
        """First row in ``start .. n-1`` before which :meth:`update` would sweep (``n`` if none)."""
        c = self._since_sweep
        held = len(self._accounts)
        # c grows by at most one a row and the threshold never falls below max(sweep_min, held):
        # a micro-batch that cannot reach it needs no walk (the common case between two sweeps)
        if c + (n - start) < max(self._sweep_min, held):
            return n
        known = self._accounts
        new: set[Any] = set()
        for j in range(start, n):
            if not (swept and j == start):
                c += 1
                if c >= max(self._sweep_min, held + len(new)):
                    return j
            for key in (src[j], dst[j]):
                if key not in known:
                    new.add(key)
        return n

    def _segment(
        self,
        src: list[Any],
        dst: list[Any],
        banks: list[Any],
        ts: np.ndarray,
        amount: np.ndarray,
        cash: np.ndarray,
        out: np.ndarray,
        start: int,
        stop: int,
    ) -> None:
        """Rows ``start .. stop-1`` (no sweep inside): slots in update()'s order, then the kernel."""
        if isinstance(src, np.ndarray):
            uv = self._int_slots(src[start:stop], dst[start:stop])
        else:
            get = self._accounts.get
            keys = [k for pair in zip(src[start:stop], dst[start:stop], strict=True) for k in pair]
            slots = list(map(get, keys))
            if None in slots:  # new accounts take slots in arrival order (from, then to), as in update()
                for i, s in enumerate(slots):
                    if s is None:
                        slots[i] = self._account(keys[i])
            uv = np.array(slots, dtype=np.int64)
        seg_ts = np.ascontiguousarray(ts[start:stop])
        # latest time of each account (times never decrease: the last occurrence is the latest)
        kn.set_last(self._last, uv, seg_ts)
        bkeys = banks[start:stop].tolist() if isinstance(banks, np.ndarray) else banks[start:stop]
        bl = list(map(self._banks.get, bkeys))
        if None in bl:
            for i, b in enumerate(bl):
                if b is None:
                    bl[i] = self._bank(bkeys[i])
        b_idx = np.array(bl, dtype=np.int64)
        u = np.ascontiguousarray(uv[0::2])
        v = np.ascontiguousarray(uv[1::2])
        seg_amt = np.ascontiguousarray(amount[start:stop])
        seg_cash = np.ascontiguousarray(cash[start:stop])
        seg_out = out[start:stop]
        base = self._n
        k, m = 0, stop - start
        while k < m:
            k = kn.process_new(
                self._Ei, self._Ef, self._A, self._B, self._S, self._G, self._Pi, self._Pf, seg_out,
                base, seg_ts, u, v, seg_cash, b_idx, seg_amt, k, m, self._max_w,
            )  # fmt: skip
            self._n = base + k
            if k < m:
                self._grow()


def _row_name(ids: list[Any] | None, i: int) -> str:
    return repr(ids[i]) if ids is not None else f"at row {i}"


def _as_list(values: Any, name: str) -> list[Any]:
    if isinstance(values, pa.ChunkedArray | pa.Array):
        if values.null_count:
            raise UserInputError(f"column '{name}' has {values.null_count} empty values")
        out: list[Any] = values.to_pylist()
    elif isinstance(values, np.ndarray):
        out = values.tolist()
    else:
        out = list(values)
    return out


def _batch_columns(txs: pa.Table | Mapping[str, Any], amount: str) -> dict[str, Any]:
    """Columns of a micro-batch: ts (int64 µs) and amount (float64) arrays, keys as lists of str."""

    def col(name: str) -> Any:
        if isinstance(txs, pa.Table):
            return _column(txs, name)
        if name not in txs:
            raise UserInputError(f"transactions have no field '{name}' (fields: {', '.join(map(str, txs))})")
        return txs[name]

    raw_ts = col("ts")
    if isinstance(raw_ts, pa.ChunkedArray | pa.Array):
        if raw_ts.null_count:
            raise UserInputError(f"column 'ts' has {raw_ts.null_count} empty values")
        if pa.types.is_timestamp(raw_ts.type):
            raw_ts = raw_ts.cast(pa.timestamp("us")).cast(pa.int64())
        raw_ts = raw_ts.to_numpy() if pa.types.is_integer(raw_ts.type) else raw_ts.to_pylist()
    if isinstance(raw_ts, np.ndarray) and raw_ts.dtype.kind == "M":
        ts = raw_ts.astype("datetime64[us]").astype(np.int64)
    elif isinstance(raw_ts, np.ndarray) and raw_ts.dtype.kind in "iu":
        ts = raw_ts.astype(np.int64)
    else:
        ts = np.fromiter((_ts_us(x) for x in raw_ts), dtype=np.int64)
    raw_amt = col(amount)
    if isinstance(raw_amt, pa.ChunkedArray | pa.Array):
        if raw_amt.null_count:
            raise UserInputError(f"column '{amount}' has {raw_amt.null_count} empty values")
        amt = raw_amt.cast(pa.float64()).to_numpy()
    else:
        try:
            amt = np.asarray(raw_amt, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise UserInputError(f"field '{amount}': not a number ({exc})") from exc
    n = len(ts)
    out: dict[str, Any] = {"ts": ts, "amount": np.ascontiguousarray(amt.reshape(-1))}
    for name in ("from_account", "to_account", "from_bank"):
        raw = col(name)
        if isinstance(raw, np.ndarray) and raw.dtype.kind in "iu":  # integer keys (the caller's own ids)
            out[name] = raw.astype(np.int64, copy=False)
            continue
        values = _as_list(raw, name)
        out[name] = [v if type(v) is str else str(v) for v in values]
    raw_cash = txs.get("cash") if isinstance(txs, Mapping) else None
    if raw_cash is not None:  # precomputed 0/1 flags: payment_format is not read
        out["cash"] = np.ascontiguousarray(raw_cash, dtype=np.int64)
    else:
        out["payment_format"] = _as_list(col("payment_format"), "payment_format")
    has_ids = "tx_id" in (txs.column_names if isinstance(txs, pa.Table) else txs)
    if has_ids:
        out["tx_id"] = _as_list(col("tx_id"), "tx_id")
    for name, values in out.items():
        if len(values) != n:
            raise UserInputError(f"field '{name}' has {len(values)} values, 'ts' has {n}")
    return out
