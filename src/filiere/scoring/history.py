"""Account history and suspicion propagation as compiled single passes over time-sorted arrays.

The same columns as the DuckDB window queries of :mod:`filiere.scoring.features` (kept there as the
reference path, ``compiled=False``), computed by one numba pass each with per-account state:

- accounts are coded once (Arrow ``dictionary_encode`` over senders and receivers together);
- rows are visited in time order (a stable ``argsort`` only when the input is not sorted already);
- rows sharing a timestamp form one group, handled the way the SQL windows frame them: a
  ``RANGE … CURRENT ROW`` window sees every peer at the same time (the group is folded into the
  state *before* it is read), a window ending ``1 MICROSECOND PRECEDING`` sees none of them (the
  group is read *before* it is folded in);
- ``date_diff('second', a, b)`` is DuckDB's: whole epoch seconds (floor) subtracted.

Counts, minima, maxima and the time of the maximum are exact; sums and means may differ from
DuckDB's segment-tree sums in the last bits (summation order).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

#: the history columns, in the order of ``filiere.scoring.features.HISTORY_FEATURES``
HISTORY_COLUMNS = (
    "s_n_out",
    "s_n_in",
    "s_age_h",
    "s_gap_h",
    "s_amt_ratio",
    "r_n_out",
    "r_n_in",
    "r_age_h",
    "r_gap_h",
    "r_amt_ratio",
    "pair_n",
    "pair_reverse_n",
)
PROPAGATED_COLUMNS = ("s_prev_max_p", "s_prev_in_max_p", "r_prev_max_p", "r_prev_out_max_p")
PROPAGATED_EXTRA_COLUMNS = ("s_prev_sum_p", "s_prev_mean_p", "s_prev_max_age_h", "r_prev_sum_p")

_US = 1_000_000
_H = 3600.0


def _column(x: pa.Array | pa.ChunkedArray) -> pa.Array:
    return x.combine_chunks() if isinstance(x, pa.ChunkedArray) else x


def epoch_us(ts: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Microseconds since the epoch (int64) of a timestamp column; raises on NULLs."""
    arr = _column(ts)
    if not pa.types.is_timestamp(arr.type):
        raise TypeError(f"ts: expected a timestamp column, got {arr.type}")
    if arr.null_count:
        row = int(pc.index(pc.is_null(arr), True).as_py())
        raise ValueError(f"ts: NULL timestamp at row {row}")
    us = arr.cast(pa.timestamp("us", tz=arr.type.tz)).cast(pa.int64())
    return np.asarray(us.to_numpy(zero_copy_only=False), dtype=np.int64)


def account_codes(
    senders: pa.Array | pa.ChunkedArray, receivers: pa.Array | pa.ChunkedArray
) -> tuple[np.ndarray, np.ndarray, int]:
    """Dense int64 codes of both account columns in one shared dictionary (NULL is a code of its own,
    as NULLs form one partition in SQL), and the number of distinct accounts."""
    s, r = _column(senders), _column(receivers)
    if s.type != r.type:
        r = r.cast(s.type)
    enc = pa.concat_arrays([s, r]).dictionary_encode(null_encoding="encode")
    codes = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    n = len(s)
    return codes[:n], codes[n:], len(enc.dictionary)


def time_order(us: np.ndarray) -> np.ndarray:
    """Row indices in time order (the identity when already sorted; stable otherwise)."""
    if us.shape[0] < 2 or bool(np.all(us[1:] >= us[:-1])):
        return np.arange(us.shape[0], dtype=np.int64)
    return np.argsort(us, kind="stable").astype(np.int64)


@njit(cache=True, nogil=True)
def _floor_sec(us: np.int64) -> np.int64:
    return us // 1_000_000


@njit(cache=True, nogil=True)
def _history_kernel(
    order: np.ndarray,
    us: np.ndarray,
    s: np.ndarray,
    r: np.ndarray,
    amt: np.ndarray,
    amt_ok: np.ndarray,
    pf: np.ndarray,
    pr: np.ndarray,
    n_acc: int,
    n_pairs: int,
    counts: np.ndarray,
    floats: np.ndarray,
    valid: np.ndarray,
) -> None:
    """``counts`` (n × 6): s_n_out, s_n_in, r_n_out, r_n_in, pair_n, pair_reverse_n;
    ``floats`` (n × 6): s_age_h, s_gap_h, s_amt_ratio, r_age_h, r_gap_h, r_amt_ratio, with
    ``valid`` (n × 6) false where SQL gives NULL."""
    n_out = np.zeros(n_acc, dtype=np.int64)
    n_in = np.zeros(n_acc, dtype=np.int64)
    sum_out = np.zeros(n_acc, dtype=np.float64)
    sum_in = np.zeros(n_acc, dtype=np.float64)
    vn_out = np.zeros(n_acc, dtype=np.int64)
    vn_in = np.zeros(n_acc, dtype=np.int64)
    first = np.zeros(n_acc, dtype=np.int64)
    last = np.zeros(n_acc, dtype=np.int64)
    seen = np.zeros(n_acc, dtype=np.bool_)
    pair = np.zeros(n_pairs, dtype=np.int64)
    n = order.shape[0]
    g0 = 0
    while g0 < n:
        t = us[order[g0]]
        g1 = g0 + 1
        while g1 < n and us[order[g1]] == t:
            g1 += 1
        tsec = _floor_sec(t)
        # strictly-preceding windows: read before the group is folded in
        for k in range(g0, g1):
            i = order[k]
            a = s[i]
            b = r[i]
            counts[i, 4] = pair[pf[i]]
            counts[i, 5] = pair[pr[i]] if pr[i] >= 0 else 0
            if seen[a]:
                floats[i, 1] = (tsec - _floor_sec(last[a])) / _H
                valid[i, 1] = True
            if seen[b]:
                floats[i, 4] = (tsec - _floor_sec(last[b])) / _H
                valid[i, 4] = True
        # fold the group in
        for k in range(g0, g1):
            i = order[k]
            a = s[i]
            b = r[i]
            pair[pf[i]] += 1
            n_out[a] += 1
            n_in[b] += 1
            if amt_ok[i]:
                sum_out[a] += amt[i]
                vn_out[a] += 1
                sum_in[b] += amt[i]
                vn_in[b] += 1
            if not seen[a]:
                seen[a] = True
                first[a] = t
            if not seen[b]:
                seen[b] = True
                first[b] = t
        # windows up to and including the current time: read after
        for k in range(g0, g1):
            i = order[k]
            a = s[i]
            b = r[i]
            counts[i, 0] = n_out[a]
            counts[i, 1] = n_in[a]
            counts[i, 2] = n_out[b]
            counts[i, 3] = n_in[b]
            floats[i, 0] = (tsec - _floor_sec(first[a])) / _H
            valid[i, 0] = True
            floats[i, 3] = (tsec - _floor_sec(first[b])) / _H
            valid[i, 3] = True
            if amt_ok[i] and vn_out[a] > 0:
                avg = sum_out[a] / vn_out[a]
                if avg != 0.0:
                    floats[i, 2] = amt[i] / avg
                    valid[i, 2] = True
            if amt_ok[i] and vn_in[b] > 0:
                avg = sum_in[b] / vn_in[b]
                if avg != 0.0:
                    floats[i, 5] = amt[i] / avg
                    valid[i, 5] = True
            last[a] = t
            last[b] = t
        g0 = g1


@njit(cache=True, nogil=True)
def _propagate_kernel(
    order: np.ndarray,
    us: np.ndarray,
    s: np.ndarray,
    r: np.ndarray,
    p: np.ndarray,
    n_acc: int,
    out: np.ndarray,
    age_ok: np.ndarray,
) -> None:
    """``out`` (n × 8): the four propagated columns then s_prev_sum_p, s_prev_mean_p,
    s_prev_max_age_h (``age_ok`` false where SQL gives NULL), r_prev_sum_p."""
    cnt = np.zeros(n_acc, dtype=np.int64)
    n_in = np.zeros(n_acc, dtype=np.int64)
    n_out = np.zeros(n_acc, dtype=np.int64)
    pmax = np.zeros(n_acc, dtype=np.float64)
    pin = np.zeros(n_acc, dtype=np.float64)
    pout = np.zeros(n_acc, dtype=np.float64)
    psum = np.zeros(n_acc, dtype=np.float64)
    maxt = np.zeros(n_acc, dtype=np.int64)
    n = order.shape[0]
    g0 = 0
    while g0 < n:
        t = us[order[g0]]
        g1 = g0 + 1
        while g1 < n and us[order[g1]] == t:
            g1 += 1
        tsec = _floor_sec(t)
        for k in range(g0, g1):  # windows end strictly before t: read first
            i = order[k]
            a = s[i]
            b = r[i]
            out[i, 0] = pmax[a] if cnt[a] > 0 else 0.0
            out[i, 1] = pin[a] if n_in[a] > 0 else 0.0
            out[i, 2] = pmax[b] if cnt[b] > 0 else 0.0
            out[i, 3] = pout[b] if n_out[b] > 0 else 0.0
            out[i, 4] = psum[a] if cnt[a] > 0 else 0.0
            out[i, 5] = psum[a] / cnt[a] if cnt[a] > 0 else 0.0
            if cnt[a] > 0:
                out[i, 6] = (tsec - _floor_sec(maxt[a])) / _H
                age_ok[i] = True
            out[i, 7] = psum[b] if cnt[b] > 0 else 0.0
        for k in range(g0, g1):
            i = order[k]
            a = s[i]
            b = r[i]
            v = p[i]
            # sender's out-event, then receiver's in-event (twice the same account for a self-transfer)
            if cnt[a] == 0 or v > pmax[a]:  # ties: the earliest time keeps the maximum (DuckDB's arg_max)
                pmax[a] = v
                maxt[a] = t
            cnt[a] += 1
            psum[a] += v
            if n_out[a] == 0 or v > pout[a]:
                pout[a] = v
            n_out[a] += 1
            if cnt[b] == 0 or v > pmax[b]:
                pmax[b] = v
                maxt[b] = t
            cnt[b] += 1
            psum[b] += v
            if n_in[b] == 0 or v > pin[b]:
                pin[b] = v
            n_in[b] += 1
        g0 = g1


def _pair_codes(s: np.ndarray, r: np.ndarray, n_acc: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Code of each row's (sender, receiver) pair and of its reverse (−1 where no row has it), by
    Arrow's hash kernels (no sort)."""
    fwd = pa.array(s * np.int64(n_acc) + r)
    enc = fwd.dictionary_encode()
    pf = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    rev = pc.index_in(pa.array(r * np.int64(n_acc) + s), value_set=enc.dictionary).fill_null(-1)
    pr = np.asarray(rev.to_numpy(zero_copy_only=False), dtype=np.int64)
    return pf, pr, len(enc.dictionary)


def account_history(
    ts: pa.Array | pa.ChunkedArray,
    from_account: pa.Array | pa.ChunkedArray,
    to_account: pa.Array | pa.ChunkedArray,
    amount_usd: pa.Array | pa.ChunkedArray,
) -> pa.Table:
    """The account-history columns (:data:`HISTORY_COLUMNS`), rows in the input's order: what
    ``raw_and_history``'s SQL windows give, from one compiled pass."""
    us = epoch_us(ts)
    s, r, n_acc = account_codes(from_account, to_account)
    amt_arr = _column(amount_usd).cast(pa.float64())
    amt = np.asarray(amt_arr.to_numpy(zero_copy_only=False), dtype=np.float64)
    amt_ok = (
        np.ones(len(amt), dtype=np.bool_)
        if amt_arr.null_count == 0
        else np.asarray(amt_arr.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    )
    if not amt_ok.all():
        amt = np.where(amt_ok, amt, 0.0)
    n = us.shape[0]
    pf, pr, n_pairs = _pair_codes(s, r, n_acc) if n else (s, s, 0)
    counts = np.zeros((n, 6), dtype=np.int64)
    floats = np.zeros((n, 6), dtype=np.float64)
    valid = np.zeros((n, 6), dtype=np.bool_)
    _history_kernel(time_order(us), us, s, r, amt, amt_ok, pf, pr, n_acc, n_pairs, counts, floats, valid)

    def f(j: int) -> pa.Array:
        v = np.ascontiguousarray(floats[:, j])
        ok = valid[:, j]
        return pa.array(v) if ok.all() else pa.array(v, mask=~ok)

    def c(j: int) -> pa.Array:
        return pa.array(np.ascontiguousarray(counts[:, j]))

    cols = [c(0), c(1), f(0), f(1), f(2), c(2), c(3), f(3), f(4), f(5), c(4), c(5)]
    return pa.table(dict(zip(HISTORY_COLUMNS, cols, strict=True)))


def propagate_scores(
    ts: pa.Array | pa.ChunkedArray,
    from_account: pa.Array | pa.ChunkedArray,
    to_account: pa.Array | pa.ChunkedArray,
    p1: np.ndarray,
    *,
    extra: bool = False,
) -> pa.Table:
    """Account-suspicion columns from first-stage scores ``p1`` (:data:`PROPAGATED_COLUMNS`, and
    :data:`PROPAGATED_EXTRA_COLUMNS` with ``extra``), rows in the input's order: what
    ``propagate``'s SQL windows give, from one compiled pass."""
    us = epoch_us(ts)
    s, r, n_acc = account_codes(from_account, to_account)
    p = np.ascontiguousarray(p1, dtype=np.float64).reshape(-1)
    if p.shape[0] != us.shape[0]:
        raise ValueError(f"p1: {p.shape[0]} scores for {us.shape[0]} transactions")
    n = us.shape[0]
    out = np.zeros((n, 8), dtype=np.float64)
    age_ok = np.zeros(n, dtype=np.bool_)
    _propagate_kernel(time_order(us), us, s, r, p, n_acc, out, age_ok)
    names = PROPAGATED_COLUMNS + (PROPAGATED_EXTRA_COLUMNS if extra else ())
    cols: list[pa.Array] = []
    for j, _ in enumerate(names):
        v = np.ascontiguousarray(out[:, j])
        cols.append(pa.array(v, mask=~age_ok) if j == 6 and not age_ok.all() else pa.array(v))
    return pa.table(dict(zip(names, cols, strict=True)))


__all__ = [
    "HISTORY_COLUMNS",
    "PROPAGATED_COLUMNS",
    "PROPAGATED_EXTRA_COLUMNS",
    "account_codes",
    "account_history",
    "epoch_us",
    "propagate_scores",
    "time_order",
]
