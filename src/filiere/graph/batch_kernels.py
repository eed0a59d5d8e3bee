"""Batch-only kernel for the per-account window families (numba, parallel over accounts).

The streaming kernel (:mod:`filiere.graph.kernels`) walks newest-first linked lists in a ring of
edges: right for one edge at a time, but on a whole file every walk is a chain of cache misses and a
hub's window is rescanned for each of its edges. For ``degree``, ``stats``, ``gather_scatter`` and
``pass_through`` every value depends only on one account's own incoming or outgoing edges in a
window, so the batch path computes them account by account instead:

* edges are grouped by account (CSR: one contiguous, time-ordered run of outgoing edges and one of
  incoming edges per account, with the timestamps, amounts and counterparties copied alongside);
* each account's out-run and in-run are merged in edge order, and every window is a two-pointer
  slice ``[start, end)`` of a run: ``end`` grows by one edge, ``start`` moves past edges older than
  ``t - window``, so degrees are ``end - start`` and distinct-counterparty counts (fans) are kept
  by per-counterparty counters in O(1) amortised per edge;
* sums, means, variances, minima and maxima are rescanned over the contiguous slice newest-first,
  with exactly the operations and order of the streaming kernel (so the floats agree bit for bit).

Accounts are independent, so they are split into interleaved chunks that run in Python threads
(the kernel releases the GIL). Plain threads rather than ``parallel=True``: numba's OpenMP layer
makes a later ``fork()`` abort the child (screening forks workers) and its workqueue layer aborts
when two threads launch parallel regions at once.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from filiere.graph import kernels as kn

US_PER_HOUR = 3600e6
#: families computed here in batch (the ring kernel computes the others)
ACCOUNT_FLAGS = kn.F_DEGREE | kn.F_STATS | kn.F_GS | kn.F_PT


@njit(cache=True, nogil=True)
def _counting_sort(key: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    off = np.zeros(n_keys + 1, dtype=np.int64)
    for k in key:
        off[k + 1] += 1
    for a in range(n_keys):
        off[a + 1] += off[a]
    pos = off[:-1].copy()
    ids = np.empty(len(key), dtype=np.int64)
    for g in range(len(key)):
        k = key[g]
        ids[pos[k]] = g
        pos[k] += 1
    return off, ids


def group_by(key: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """(offsets[n_keys + 1], edge ids grouped by key, ascending edge id within a key): a counting sort."""
    return _counting_sort(np.ascontiguousarray(key, dtype=np.int64), n_keys)  # type: ignore[no-any-return]


@njit(cache=True, inline="always")
def _put(arr: np.ndarray, slot: int, row: int, value: float) -> None:
    if slot >= 0:
        arr[slot, row] = value


@njit(cache=True)
def _stats_slice(
    xs: np.ndarray, ts: np.ndarray, lo: int, hi: int, F: np.ndarray, fslot: np.ndarray, base: int, row: int
) -> None:
    """Amount and gap statistics of ``xs[lo:hi]`` taken newest-first (same order as the ring walk)."""
    cnt = 0
    s = 0.0
    mn = 0.0
    mx = 0.0
    gsum = 0.0
    gmn = 0.0
    gmx = 0.0
    ng = 0
    prev_ts = 0
    for k in range(hi - 1, lo - 1, -1):
        x = xs[k]
        t = ts[k]
        cnt += 1
        if cnt == 1:
            mn = x
            mx = x
        else:
            mn = min(mn, x)
            mx = max(mx, x)
            gap = float(prev_ts - t) / US_PER_HOUR
            if ng == 0:
                gmn = gap
                gmx = gap
            else:
                gmn = min(gmn, gap)
                gmx = max(gmx, gap)
            gsum += gap
            ng += 1
        s += x
        prev_ts = t
    mean = s / cnt if cnt > 0 else 0.0
    gmean = gsum / ng if ng > 0 else 0.0
    var = 0.0
    gvar = 0.0
    prev_ts = 0
    first = True
    for k in range(hi - 1, lo - 1, -1):
        d = xs[k] - mean
        var += d * d
        t = ts[k]
        if not first:
            gd = float(prev_ts - t) / US_PER_HOUR - gmean
            gvar += gd * gd
        prev_ts = t
        first = False
    _put(F, fslot[base + 0], row, s)
    _put(F, fslot[base + 1], row, mean)
    _put(F, fslot[base + 2], row, var / cnt if cnt > 0 else 0.0)
    _put(F, fslot[base + 3], row, mn)
    _put(F, fslot[base + 4], row, mx)
    _put(F, fslot[base + 5], row, gmean)
    _put(F, fslot[base + 6], row, gvar / ng if ng > 0 else 0.0)
    _put(F, fslot[base + 7], row, gmn)
    _put(F, fslot[base + 8], row, gmx)


@njit(cache=True, inline="always")
def _sum_newest_first(xs: np.ndarray, lo: int, hi: int) -> float:
    s = 0.0
    for k in range(hi - 1, lo - 1, -1):
        s += xs[k]
    return s


@njit(cache=True)
def _one_account(
    a: int,
    o0: int,
    o1: int,
    i0: int,
    i1: int,
    out_e: np.ndarray,
    out_ts: np.ndarray,
    out_amt: np.ndarray,
    out_peer: np.ndarray,
    in_e: np.ndarray,
    in_ts: np.ndarray,
    in_amt: np.ndarray,
    in_peer: np.ndarray,
    order: np.ndarray,
    Pi: np.ndarray,
    Pf: np.ndarray,
    F: np.ndarray,
    Iv: np.ndarray,
    fslot: np.ndarray,
    islot: np.ndarray,
    cntO: np.ndarray,
    cntI: np.ndarray,
    cntO6: np.ndarray,
    cntI6: np.ndarray,
) -> None:
    flags = Pi[kn.P_FLAGS]
    deg = (flags & kn.F_DEGREE) != 0
    stats = (flags & kn.F_STATS) != 0
    gs = (flags & kn.F_GS) != 0
    pt = (flags & kn.F_PT) != 0
    W = Pi[kn.P_W]
    Wsg = Pi[kn.P_WSG]
    Wpt = Pi[kn.P_WPT]
    big = 1 << 62
    t = 0
    po = o0  # out-run edges [o0, po) have edge id <= the current edge
    pi = i0
    osW = o0  # first out edge inside the degree/stats window
    isW = i0
    osS = o0  # gather-scatter (sg_window_h) window starts
    isS = i0
    osP = o0  # pass-through window starts
    isP = i0
    fanO = 0
    fanI = 0
    fanO6 = 0
    fanI6 = 0
    counts = deg or stats
    while po < o1 or pi < i1:
        go = out_e[po] if po < o1 else big
        gi = in_e[pi] if pi < i1 else big
        g = min(go, gi)
        is_src = go == g
        is_dst = gi == g
        if is_src:
            t = out_ts[po]
            p = out_peer[po]
            if counts:
                cntO[p] += 1
                if cntO[p] == 1:
                    fanO += 1
            if gs and p != a:
                cntO6[p] += 1
                if cntO6[p] == 1:
                    fanO6 += 1
            po += 1
        if is_dst:
            t = in_ts[pi]
            p = in_peer[pi]
            if counts:
                cntI[p] += 1
                if cntI[p] == 1:
                    fanI += 1
            if gs and p != a:
                cntI6[p] += 1
                if cntI6[p] == 1:
                    fanI6 += 1
            pi += 1
        if counts:
            tmin = t - W
            while osW < po and out_ts[osW] < tmin:
                p = out_peer[osW]
                cntO[p] -= 1
                if cntO[p] == 0:
                    fanO -= 1
                osW += 1
            while isW < pi and in_ts[isW] < tmin:
                p = in_peer[isW]
                cntI[p] -= 1
                if cntI[p] == 0:
                    fanI -= 1
                isW += 1
        if gs:
            tmin = t - Wsg
            while osS < po and out_ts[osS] < tmin:
                p = out_peer[osS]
                if p != a:
                    cntO6[p] -= 1
                    if cntO6[p] == 0:
                        fanO6 -= 1
                osS += 1
            while isS < pi and in_ts[isS] < tmin:
                p = in_peer[isS]
                if p != a:
                    cntI6[p] -= 1
                    if cntI6[p] == 0:
                        fanI6 -= 1
                isS += 1
        if pt:
            tmin = t - Wpt
            while osP < po and out_ts[osP] < tmin:
                osP += 1
            while isP < pi and in_ts[isP] < tmin:
                isP += 1
        if is_src:
            row = order[g]
            if deg:
                _put(Iv, islot[kn.O_SRC_OUT_DEG], row, po - osW)
                _put(Iv, islot[kn.O_SRC_IN_DEG], row, pi - isW)
                _put(Iv, islot[kn.O_SRC_FAN_OUT], row, fanO)
                _put(Iv, islot[kn.O_SRC_FAN_IN], row, fanI)
            if stats:
                _stats_slice(out_amt, out_ts, osW, po, F, fslot, kn.O_SRC_STATS, row)
                v = out_peer[po - 1]
                _put(Iv, islot[kn.O_NEWCP], row, 1 if cntO[v] == 1 else 0)
            if gs:
                _put(Iv, islot[kn.O_GS_IN], row, fanI6)
                _put(Iv, islot[kn.O_GS_OUT], row, fanO6)
                _put(Iv, islot[kn.O_GS_FLAG], row, 1 if (fanI6 >= 2 and fanO6 >= 2) else 0)
            if pt:
                # incoming strictly before this edge (a self-payment is not its own inflow)
                pin = _sum_newest_first(in_amt, isP, pi - 1 if is_dst else pi)
                pout = _sum_newest_first(out_amt, osP, po)
                _put(F, fslot[kn.O_PT_IN], row, pin)
                _put(F, fslot[kn.O_PT_OUT], row, pout)
                _put(F, fslot[kn.O_PT_RATIO], row, pout / pin if pin > 0 else 0.0)
                flag = 1 if (pin > 0 and abs(pout - pin) <= Pf[kn.PF_TOL] * pin) else 0
                _put(Iv, islot[kn.O_PT_FLAG], row, flag)
        if is_dst:
            row = order[g]
            if deg:
                _put(Iv, islot[kn.O_DST_OUT_DEG], row, po - osW)
                _put(Iv, islot[kn.O_DST_IN_DEG], row, pi - isW)
                _put(Iv, islot[kn.O_DST_FAN_OUT], row, fanO)
                _put(Iv, islot[kn.O_DST_FAN_IN], row, fanI)
            if stats:
                _stats_slice(in_amt, in_ts, isW, pi, F, fslot, kn.O_DST_STATS, row)
    # leave the per-thread counters at zero for the next account
    for k in range(osW, o1):
        cntO[out_peer[k]] = 0
    for k in range(isW, i1):
        cntI[in_peer[k]] = 0
    for k in range(osS, o1):
        cntO6[out_peer[k]] = 0
    for k in range(isS, i1):
        cntI6[in_peer[k]] = 0


@njit(cache=True, nogil=True)
def account_features(
    chunk: int,
    n_chunks: int,
    n_accounts: int,
    out_off: np.ndarray,
    out_e: np.ndarray,
    out_ts: np.ndarray,
    out_amt: np.ndarray,
    out_peer: np.ndarray,
    in_off: np.ndarray,
    in_e: np.ndarray,
    in_ts: np.ndarray,
    in_amt: np.ndarray,
    in_peer: np.ndarray,
    order: np.ndarray,
    Pi: np.ndarray,
    Pf: np.ndarray,
    F: np.ndarray,
    Iv: np.ndarray,
    fslot: np.ndarray,
    islot: np.ndarray,
) -> None:
    """Degree, stats, gather-scatter and pass-through features of the edges of accounts
    ``chunk, chunk + n_chunks, ...`` (interleaved, so hubs spread over the chunks), written at ``order[g]``.

    Chunks touch disjoint output cells and release the GIL: the caller runs them in threads.
    """
    cntO = np.zeros(n_accounts, dtype=np.int32)
    cntI = np.zeros(n_accounts, dtype=np.int32)
    cntO6 = np.zeros(n_accounts, dtype=np.int32)
    cntI6 = np.zeros(n_accounts, dtype=np.int32)
    for a in range(chunk, n_accounts, n_chunks):
        o0 = out_off[a]
        o1 = out_off[a + 1]
        i0 = in_off[a]
        i1 = in_off[a + 1]
        if o0 == o1 and i0 == i1:
            continue
        _one_account(
            a, o0, o1, i0, i1, out_e, out_ts, out_amt, out_peer, in_e, in_ts, in_amt, in_peer, order, Pi, Pf, F,
            Iv, fslot, islot, cntO, cntI, cntO6, cntI6,
        )  # fmt: skip
