"""Compiled kernels of the pattern engine (numba).

State is a handful of numpy arrays, shared by the batch path (one call over every edge) and the
streaming path (one call per edge), so both produce identical values by construction:

* ``Ei[cap, NE]`` edge ring: time, endpoints, adjacency links and per-edge memo values. Edge with
  global number ``g`` lives in slot ``g % cap``; a slot is valid while ``g >= g_now + 1 - cap``.
* ``Ef[cap]`` edge amounts (common currency).
* ``A[n_accounts, NA]`` per account: newest outgoing/incoming edge (linked lists newest-first by
  edge number, i.e. by (time, input order)) and scratch markers (stamps) for distinct counting.
* ``B[n_banks]`` bank markers, ``S[n_accounts, 4]`` frontier scratch, ``G[1]`` stamp counter.

Every walk goes newest-first down an account's list and stops at the first edge older than the
window, so an edge only ever sees itself and edges before it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from filiere.graph.config import ALL_FAMILIES
from filiere.graph.features import FEATURE_INDEX as _FI
from filiere.graph.features import FEATURES

# edge columns
TS, SRC, DST, NOUT, NIN, CASH, BANK, PEEL, BIP, STACK, NEAR, NNOUT, NNIN = range(13)
NE = 13
# account columns
HOUT, HIN, M1, M2, M3, VAL, TST, TV, DIST, VIS, FR, HNOUT, HNIN = range(13)
NA = 13
# integer parameters
P_W, P_WSG, P_WC, P_K, P_CAP, P_WP, P_WPT, P_WS, P_FLAGS, P_CCAP = range(10)
NPI = 10
# float parameters
PF_PEEL, PF_TOL, PF_SLO, PF_SHI = range(4)
NPF = 4
NFEAT = len(FEATURES)

F_DEGREE = 1 << ALL_FAMILIES.index("degree")
F_STATS = 1 << ALL_FAMILIES.index("stats")
F_SG = 1 << ALL_FAMILIES.index("scatter_gather")
F_GS = 1 << ALL_FAMILIES.index("gather_scatter")
F_BIP = 1 << ALL_FAMILIES.index("bipartite")
F_STACK = 1 << ALL_FAMILIES.index("stack")
F_CYCLE = 1 << ALL_FAMILIES.index("cycle")
F_PEEL = 1 << ALL_FAMILIES.index("peel")
F_PT = 1 << ALL_FAMILIES.index("pass_through")
F_STRUCT = 1 << ALL_FAMILIES.index("structuring")

O_SRC_OUT_DEG = _FI["src_out_deg"]
O_SRC_IN_DEG = _FI["src_in_deg"]
O_DST_OUT_DEG = _FI["dst_out_deg"]
O_DST_IN_DEG = _FI["dst_in_deg"]
O_SRC_FAN_OUT = _FI["src_fan_out"]
O_SRC_FAN_IN = _FI["src_fan_in"]
O_DST_FAN_OUT = _FI["dst_fan_out"]
O_DST_FAN_IN = _FI["dst_fan_in"]
O_SRC_STATS = _FI["src_out_amt_sum"]
O_DST_STATS = _FI["dst_in_amt_sum"]
O_NEWCP = _FI["src_new_counterparty"]
O_SG_COUNT = _FI["sg_count"]
O_SG_WIDTH = _FI["sg_max_width"]
O_GS_IN = _FI["gs_fan_in"]
O_GS_OUT = _FI["gs_fan_out"]
O_GS_FLAG = _FI["gs_flag"]
O_BIP_S = _FI["bip_co_senders"]
O_BIP_R = _FI["bip_co_receivers"]
O_STACK = _FI["stack_depth"]
O_CYC_COUNT = _FI["cycle_count"]
O_CYC_MIN = _FI["cycle_min_len"]
O_CYC_PRES = _FI["cycle_present"]
O_PEEL = _FI["peel_chain_len"]
O_PT_IN = _FI["pt_in_sum"]
O_PT_OUT = _FI["pt_out_sum"]
O_PT_RATIO = _FI["pt_ratio"]
O_PT_FLAG = _FI["pt_flag"]
O_ST_NEAR = _FI["struct_near"]
O_ST_DCOUNT = _FI["struct_dst_count"]
O_ST_DSEND = _FI["struct_dst_senders"]
O_ST_DBANK = _FI["struct_dst_banks"]
O_ST_SCOUNT = _FI["struct_src_count"]
O_ST_SRECV = _FI["struct_src_receivers"]

US_PER_HOUR = 3600e6


def new_state(cap: int, n_accounts: int, n_banks: int) -> tuple[np.ndarray, ...]:
    """Fresh state arrays: ``(Ei, Ef, A, B, S, G)``."""
    Ei = np.zeros((cap, NE), dtype=np.int64)
    Ef = np.zeros(cap, dtype=np.float64)
    A = np.zeros((n_accounts, NA), dtype=np.int64)
    A[:, HOUT] = -1
    A[:, HIN] = -1
    A[:, HNOUT] = -1
    A[:, HNIN] = -1
    B = np.zeros(n_banks, dtype=np.int64)
    S = np.zeros((n_accounts, 4), dtype=np.int64)
    G = np.zeros(1, dtype=np.int64)
    return Ei, Ef, A, B, S, G


@njit(cache=True, inline="always")
def _slot(g: int, cap: int) -> int:
    """Ring slot of edge ``g >= 0``: a mask when ``cap`` is a power of two (the streaming engine's
    rings always are; an integer division per list step cost ~30 % of the streaming kernel), else
    the remainder (batch rings hold exactly the file's edges)."""
    if cap & (cap - 1) == 0:
        return g & (cap - 1)
    return g % cap


@njit(cache=True, inline="always")
def _stamp(G: np.ndarray) -> int:
    G[0] += 1
    return int(G[0])


@njit(cache=True)
def _degree_stats(
    Ei: np.ndarray,
    Ef: np.ndarray,
    A: np.ndarray,
    G: np.ndarray,
    g: int,
    lo: int,
    cap: int,
    a: int,
    other: int,
    outgoing: bool,
    tmin: int,
    stats: bool,
    out: np.ndarray,
    row: int,
    o_deg: int,
    o_fan: int,
    o_stats: int,
    scr: np.ndarray,
    cp: int,
) -> int:
    """Degree, fan and (optionally) amount/gap statistics of one account's list in one direction.

    With ``stats``, the amounts and gaps of the first walk are kept in ``scr`` (``2 x cap``) for the
    variance pass (the same values in the same order: no second walk down the list). With ``cp >= 0``
    (outgoing lists), also whether the account paid ``cp`` before edge ``g`` in the window: returns
    0 if so, else 1 (the new-counterparty flag, found in the same walk)."""
    head = A[a, HOUT] if outgoing else A[a, HIN]
    link = NOUT if outgoing else NIN
    peer = DST if outgoing else SRC
    st = _stamp(G)
    cnt = 0
    fan = 0
    s = 0.0
    mn = 0.0
    mx = 0.0
    gsum = 0.0
    gmn = 0.0
    gmx = 0.0
    ng = 0
    prev_ts = 0
    newcp = 1
    h = head
    while h >= 0 and h >= lo:
        sl = _slot(h, cap)
        ts = Ei[sl, TS]
        if ts < tmin:
            break
        cnt += 1
        p = Ei[sl, peer]
        if A[p, M1] != st:
            A[p, M1] = st
            fan += 1
        if p == cp and h < g:
            newcp = 0
        if stats:
            x = Ef[sl]
            scr[0, cnt - 1] = x
            if cnt == 1:
                mn = x
                mx = x
            else:
                mn = min(mn, x)
                mx = max(mx, x)
                gap = float(prev_ts - ts) / US_PER_HOUR
                scr[1, ng] = gap
                if ng == 0:
                    gmn = gap
                    gmx = gap
                else:
                    gmn = min(gmn, gap)
                    gmx = max(gmx, gap)
                gsum += gap
                ng += 1
            s += x
            prev_ts = ts
        h = Ei[sl, link]
    if o_deg >= 0:
        out[row, o_deg] = cnt
        out[row, o_fan] = fan
    if not stats:
        return newcp
    mean = s / cnt if cnt > 0 else 0.0
    gmean = gsum / ng if ng > 0 else 0.0
    var = 0.0
    gvar = 0.0
    for k in range(cnt):
        d = scr[0, k] - mean
        var += d * d
    for k in range(ng):
        gd = scr[1, k] - gmean
        gvar += gd * gd
    out[row, o_stats + 0] = s
    out[row, o_stats + 1] = mean
    out[row, o_stats + 2] = var / cnt if cnt > 0 else 0.0
    out[row, o_stats + 3] = mn
    out[row, o_stats + 4] = mx
    out[row, o_stats + 5] = gmean
    out[row, o_stats + 6] = gvar / ng if ng > 0 else 0.0
    out[row, o_stats + 7] = gmn
    out[row, o_stats + 8] = gmx
    return newcp


@njit(cache=True)
def _scatter_gather(
    Ei: np.ndarray, A: np.ndarray, G: np.ndarray, g: int, lo: int, cap: int, u: int, v: int, tmin: int
) -> tuple[int, int]:
    """(sources completing a scatter-gather through this gather leg, widest source)."""
    if u == v:
        return 0, 0
    # latest edge m -> v per intermediary m
    st_v = _stamp(G)
    h = A[v, HIN]
    while h >= 0 and h >= lo:
        sl = _slot(h, cap)
        if Ei[sl, TS] < tmin:
            break
        m = Ei[sl, SRC]
        if A[m, M2] != st_v:
            A[m, M2] = st_v
            A[m, VAL] = h
        h = Ei[sl, NIN]
    st_s = _stamp(G)
    count = 0
    widest = 0
    h = A[u, HIN]
    while h >= 0 and h >= lo:
        sl = _slot(h, cap)
        if Ei[sl, TS] < tmin:
            break
        s = Ei[sl, SRC]
        h = Ei[sl, NIN]
        if s == u or s == v or A[s, M1] == st_s:  # noqa: SIM109 (numba kernel: plain comparisons)
            continue
        A[s, M1] = st_s
        st_m = _stamp(G)
        w = 0
        h1 = A[s, HOUT]
        while h1 >= 0 and h1 >= lo:
            sl1 = _slot(h1, cap)
            if Ei[sl1, TS] < tmin:
                break
            m = Ei[sl1, DST]
            if m != s and m != v and A[m, M2] == st_v and A[m, VAL] > h1 and A[m, M3] != st_m:
                A[m, M3] = st_m
                w += 1
            h1 = Ei[sl1, NOUT]
        widest = max(widest, w)
        if w >= 2:
            count += 1
    return count, widest


@njit(cache=True)
def _gather_scatter(
    Ei: np.ndarray, A: np.ndarray, G: np.ndarray, lo: int, cap: int, u: int, tmin: int
) -> tuple[int, int]:
    st = _stamp(G)
    fin = 0
    h = A[u, HIN]
    while h >= 0 and h >= lo:
        sl = _slot(h, cap)
        if Ei[sl, TS] < tmin:
            break
        s = Ei[sl, SRC]
        if s != u and A[s, M1] != st:
            A[s, M1] = st
            fin += 1
        h = Ei[sl, NIN]
    st = _stamp(G)
    fout = 0
    h = A[u, HOUT]
    while h >= 0 and h >= lo:
        sl = _slot(h, cap)
        if Ei[sl, TS] < tmin:
            break
        r = Ei[sl, DST]
        if r != u and A[r, M1] != st:
            A[r, M1] = st
            fout += 1
        h = Ei[sl, NOUT]
    return fin, fout


@njit(cache=True)
def _co_block(
    Ei: np.ndarray, A: np.ndarray, G: np.ndarray, lo: int, cap: int, tmin: int, u: int, v: int,
    a: int, ha: int, na: int, fa: int, b: int, hb: int, nb: int, fb: int,
) -> int:  # fmt: skip
    """Half of the 2x2 block count: mark the neighbours of ``a`` along list (ha, na, fa); count the
    distinct neighbours x of ``b`` along (hb, nb, fb) that reach a marked account along (ha, na, fa).
    Accounts u and v never count as a neighbour."""
    st_m = _stamp(G)
    h = A[a, ha]
    while h >= 0 and h >= lo:
        sl = _slot(h, cap)
        if Ei[sl, TS] < tmin:
            break
        r = Ei[sl, fa]
        if r != u and r != v:
            A[r, M1] = st_m
        h = Ei[sl, na]
    st_x = _stamp(G)
    co = 0
    h = A[b, hb]
    while h >= 0 and h >= lo:
        sl = _slot(h, cap)
        if Ei[sl, TS] < tmin:
            break
        x = Ei[sl, fb]
        h = Ei[sl, nb]
        if x == u or x == v or A[x, M2] == st_x:  # noqa: SIM109 (numba kernel: plain comparisons)
            continue
        A[x, M2] = st_x
        h1 = A[x, ha]
        while h1 >= 0 and h1 >= lo:
            sl1 = _slot(h1, cap)
            if Ei[sl1, TS] < tmin:
                break
            r = Ei[sl1, fa]
            if r != x and A[r, M1] == st_m:
                co += 1
                break
            h1 = Ei[sl1, na]
    return co


@njit(cache=True)
def _bipartite(
    Ei: np.ndarray, A: np.ndarray, G: np.ndarray, lo: int, cap: int, u: int, v: int, tmin: int, both: bool
) -> tuple[int, int]:
    """(co-senders, co-receivers) of 2x2 bipartite blocks {u, s} x {v, r} with u, v, s, r distinct."""
    if u == v:
        return 0, 0
    # co-senders: s pays v and some r (r not in {u, v, s}) that u also pays
    co_s = _co_block(Ei, A, G, lo, cap, tmin, u, v, u, HOUT, NOUT, DST, v, HIN, NIN, SRC)
    if not both or co_s == 0:
        return co_s, 0
    # co-receivers: r paid by u and by some s (s not in {u, v, r}) that also pays v
    co_r = _co_block(Ei, A, G, lo, cap, tmin, u, v, v, HIN, NIN, SRC, u, HOUT, NOUT, DST)
    return co_s, co_r


@njit(cache=True)
def _cycles(
    Ei: np.ndarray,
    A: np.ndarray,
    S: np.ndarray,
    G: np.ndarray,
    g: int,
    lo: int,
    cap: int,
    u: int,
    v: int,
    tmin: int,
    K: int,
    count_cap: int,
) -> tuple[int, int]:
    """(temporal simple cycles closed by edge g, capped; shortest length) with at most K edges."""
    if u == v:
        return 0, 0
    # 1. backward hop-bounded labels: TV[x] = latest first-edge number of a time-respecting path
    #    x -> ... -> u (all edges before g, in the window) with at most K-1 edges; DIST[x] = fewest edges
    cs = _stamp(G)
    A[u, TST] = cs
    A[u, TV] = g
    A[u, DIST] = 0
    S[0, 0] = u
    S[0, 1] = g
    nf = 1
    for hop in range(1, K):
        if nf == 0:
            break
        rs = _stamp(G)
        nn = 0
        for fi in range(nf):
            y = S[fi, 0]
            ty = S[fi, 1]
            h = A[y, HIN]
            while h >= 0 and h >= lo:
                sl = _slot(h, cap)
                if Ei[sl, TS] < tmin:
                    break
                if h < ty:
                    x = Ei[sl, SRC]
                    if x != u:
                        if A[x, TST] != cs:
                            A[x, TST] = cs
                            A[x, TV] = -1
                            A[x, DIST] = hop
                        if h > A[x, TV]:
                            A[x, TV] = h
                            if x != v and A[x, FR] != rs:
                                A[x, FR] = rs
                                S[nn, 2] = x
                                nn += 1
                h = Ei[sl, NIN]
        for k in range(nn):
            x = S[k, 2]
            S[k, 0] = x
            S[k, 1] = A[x, TV]
        nf = nn
    if A[v, TST] != cs:
        return 0, 0
    min_len = int(A[v, DIST]) + 1
    # 2. enumerate simple time-respecting paths v -> ... -> u, pruned by the labels
    pv = np.empty(K, dtype=np.int64)
    ptr = np.empty(K, dtype=np.int64)
    last = np.empty(K, dtype=np.int64)
    vs = _stamp(G)
    depth = 0
    pv[0] = v
    ptr[0] = A[v, HOUT]
    last[0] = -1
    A[v, VIS] = vs
    count = 0
    while depth >= 0 and count < count_cap:
        h = ptr[depth]
        if h < 0 or h < lo or h <= last[depth] or Ei[_slot(h, cap), TS] < tmin:
            A[pv[depth], VIS] = 0
            depth -= 1
            continue
        sl = _slot(h, cap)
        ptr[depth] = Ei[sl, NOUT]
        if h >= g:
            continue
        y = Ei[sl, DST]
        if y == u:
            if depth + 1 <= K - 1:
                count += 1
            continue
        if A[y, VIS] == vs:
            continue
        if A[y, TST] != cs or A[y, TV] <= h or A[y, DIST] > K - 2 - depth:
            continue
        depth += 1
        pv[depth] = y
        ptr[depth] = A[y, HOUT]
        last[depth] = h
        A[y, VIS] = vs
    while depth >= 0:
        A[pv[depth], VIS] = 0
        depth -= 1
    return count, min_len


@njit(cache=True)
def _edge(
    Ei: np.ndarray,
    Ef: np.ndarray,
    A: np.ndarray,
    B: np.ndarray,
    S: np.ndarray,
    G: np.ndarray,
    Pi: np.ndarray,
    Pf: np.ndarray,
    out: np.ndarray,
    row: int,
    g: int,
    scr: np.ndarray,
) -> None:
    """Link edge ``g`` (already written to its slot) and compute its features into ``out[row]``."""
    cap = Pi[P_CAP]
    flags = Pi[P_FLAGS]
    W = Pi[P_W]
    Wsg = Pi[P_WSG]
    sl = _slot(g, cap)
    lo = g + 1 - cap
    u = Ei[sl, SRC]
    v = Ei[sl, DST]
    t = Ei[sl, TS]
    amt = Ef[sl]
    Ei[sl, NOUT] = A[u, HOUT]
    A[u, HOUT] = g
    Ei[sl, NIN] = A[v, HIN]
    A[v, HIN] = g
    Ei[sl, PEEL] = 0
    Ei[sl, BIP] = 0
    Ei[sl, STACK] = 0
    near = Ei[sl, CASH] != 0 and Pf[PF_SLO] <= amt < Pf[PF_SHI]
    Ei[sl, NEAR] = 1 if near else 0
    if near:  # near-threshold cash edges also get their own lists (structuring walks only these)
        Ei[sl, NNOUT] = A[u, HNOUT]
        A[u, HNOUT] = g
        Ei[sl, NNIN] = A[v, HNIN]
        A[v, HNIN] = g

    deg = (flags & F_DEGREE) != 0
    stats = (flags & F_STATS) != 0
    if deg or stats:
        tmin = t - W
        od = O_SRC_OUT_DEG if deg else -1
        cp = v if stats else -1
        newcp = _degree_stats(
            Ei, Ef, A, G, g, lo, cap, u, v, True, tmin, stats, out, row, od, O_SRC_FAN_OUT, O_SRC_STATS, scr, cp
        )
        od = O_DST_IN_DEG if deg else -1
        _degree_stats(
            Ei, Ef, A, G, g, lo, cap, v, u, False, tmin, stats, out, row, od, O_DST_FAN_IN, O_DST_STATS, scr, -1
        )
        if deg:
            _degree_stats(
                Ei, Ef, A, G, g, lo, cap, u, v, False, tmin, False, out, row, O_SRC_IN_DEG, O_SRC_FAN_IN, 0, scr, -1
            )
            _degree_stats(
                Ei, Ef, A, G, g, lo, cap, v, u, True, tmin, False, out, row, O_DST_OUT_DEG, O_DST_FAN_OUT, 0, scr, -1
            )
        if stats:
            out[row, O_NEWCP] = newcp

    tsg = t - Wsg
    if flags & F_SG:
        c, w = _scatter_gather(Ei, A, G, g, lo, cap, u, v, tsg)
        out[row, O_SG_COUNT] = c
        out[row, O_SG_WIDTH] = w
    if flags & F_GS:
        fin, fout = _gather_scatter(Ei, A, G, lo, cap, u, tsg)
        out[row, O_GS_IN] = fin
        out[row, O_GS_OUT] = fout
        out[row, O_GS_FLAG] = 1 if (fin >= 2 and fout >= 2) else 0
    if flags & (F_BIP | F_STACK):
        cs_, cr_ = _bipartite(Ei, A, G, lo, cap, u, v, tsg, (flags & F_BIP) != 0)
        Ei[sl, BIP] = 1 if cs_ > 0 else 0
        if flags & F_BIP:
            out[row, O_BIP_S] = cs_
            out[row, O_BIP_R] = cr_
        if flags & F_STACK:
            depth = 0
            if cs_ > 0:
                best = 0
                h = A[u, HIN]
                while h >= 0 and h >= lo:
                    s2 = _slot(h, cap)
                    if Ei[s2, TS] < tsg:
                        break
                    if h < g:
                        best = max(best, Ei[s2, STACK])
                    h = Ei[s2, NIN]
                depth = best + 1
            Ei[sl, STACK] = depth
            out[row, O_STACK] = depth
    if flags & F_CYCLE:
        cnt, mlen = _cycles(Ei, A, S, G, g, lo, cap, u, v, t - Pi[P_WC], Pi[P_K], Pi[P_CCAP])
        out[row, O_CYC_COUNT] = cnt
        out[row, O_CYC_MIN] = mlen
        out[row, O_CYC_PRES] = 1 if cnt > 0 else 0
    if flags & F_PEEL:
        tmin = t - Pi[P_WP]
        ratio = Pf[PF_PEEL]
        best = 0
        h = A[u, HIN]
        while h >= 0 and h >= lo:
            s2 = _slot(h, cap)
            if Ei[s2, TS] < tmin:
                break
            if h < g:
                a_f = Ef[s2]
                if a_f * ratio <= amt < a_f:
                    best = max(best, Ei[s2, PEEL])
            h = Ei[s2, NIN]
        Ei[sl, PEEL] = best + 1
        out[row, O_PEEL] = best + 1
    if flags & F_PT:
        tmin = t - Pi[P_WPT]
        pin = 0.0
        h = A[u, HIN]
        while h >= 0 and h >= lo:
            s2 = _slot(h, cap)
            if Ei[s2, TS] < tmin:
                break
            if h < g:
                pin += Ef[s2]
            h = Ei[s2, NIN]
        pout = 0.0
        h = A[u, HOUT]
        while h >= 0 and h >= lo:
            s2 = _slot(h, cap)
            if Ei[s2, TS] < tmin:
                break
            pout += Ef[s2]
            h = Ei[s2, NOUT]
        out[row, O_PT_IN] = pin
        out[row, O_PT_OUT] = pout
        out[row, O_PT_RATIO] = pout / pin if pin > 0 else 0.0
        out[row, O_PT_FLAG] = 1 if (pin > 0 and abs(pout - pin) <= Pf[PF_TOL] * pin) else 0
    if flags & F_STRUCT:
        tmin = t - Pi[P_WS]
        out[row, O_ST_NEAR] = 1 if near else 0
        st = _stamp(G)
        stb = st
        dc = 0
        ds = 0
        db = 0
        h = A[v, HNIN]
        while h >= 0 and h >= lo:
            s2 = _slot(h, cap)
            if Ei[s2, TS] < tmin:
                break
            if Ei[s2, NEAR]:
                dc += 1
                s = Ei[s2, SRC]
                if A[s, M1] != st:
                    A[s, M1] = st
                    ds += 1
                b = Ei[s2, BANK]
                if B[b] != stb:
                    B[b] = stb
                    db += 1
            h = Ei[s2, NNIN]
        st = _stamp(G)
        sc = 0
        sr = 0
        h = A[u, HNOUT]
        while h >= 0 and h >= lo:
            s2 = _slot(h, cap)
            if Ei[s2, TS] < tmin:
                break
            if Ei[s2, NEAR]:
                sc += 1
                r = Ei[s2, DST]
                if A[r, M1] != st:
                    A[r, M1] = st
                    sr += 1
            h = Ei[s2, NNOUT]
        out[row, O_ST_DCOUNT] = dc
        out[row, O_ST_DSEND] = ds
        out[row, O_ST_DBANK] = db
        out[row, O_ST_SCOUNT] = sc
        out[row, O_ST_SRECV] = sr


@njit(cache=True, nogil=True)
def process(
    Ei: np.ndarray,
    Ef: np.ndarray,
    A: np.ndarray,
    B: np.ndarray,
    S: np.ndarray,
    G: np.ndarray,
    Pi: np.ndarray,
    Pf: np.ndarray,
    out: np.ndarray,
    g0: int,
    g1: int,
) -> None:
    """Link edges ``g0 .. g1-1`` (already written to their slots) and compute their features into ``out``."""
    scr = _scratch(Pi)
    for g in range(g0, g1):
        _edge(Ei, Ef, A, B, S, G, Pi, Pf, out, g - g0, g, scr)


@njit(cache=True)
def _scratch(Pi: np.ndarray) -> np.ndarray:
    """The statistics family's buffer: a list in the window holds at most ``cap`` edges."""
    return np.empty((2, Pi[P_CAP] if Pi[P_FLAGS] & F_STATS else 1), dtype=np.float64)


@njit(cache=True, nogil=True)
def process_new(
    Ei: np.ndarray,
    Ef: np.ndarray,
    A: np.ndarray,
    B: np.ndarray,
    S: np.ndarray,
    G: np.ndarray,
    Pi: np.ndarray,
    Pf: np.ndarray,
    out: np.ndarray,
    g0: int,
    ts: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    cash: np.ndarray,
    bank: np.ndarray,
    amount: np.ndarray,
    k0: int,
    k1: int,
    max_w: int,
) -> int:
    """Write new edges ``k0 .. k1-1`` (edge ids ``g0 + k``) to their ring slots and process each one
    before writing the next, features into ``out[k]``.

    Stops at the first edge whose slot still holds an edge inside the largest window ``max_w`` and
    returns its ``k`` (the caller grows the ring, as :meth:`StreamingEngine.update` would, and calls
    again from there); returns ``k1`` when all were processed.
    """
    cap = Pi[P_CAP]
    scr = _scratch(Pi)
    for k in range(k0, k1):
        g = g0 + k
        t = ts[k]
        sl = _slot(g, cap)
        if g >= cap and Ei[sl, TS] >= t - max_w:
            return k
        for j in range(NE):
            Ei[sl, j] = 0
        Ei[sl, TS] = t
        Ei[sl, SRC] = src[k]
        Ei[sl, DST] = dst[k]
        Ei[sl, CASH] = cash[k]
        Ei[sl, BANK] = bank[k]
        Ef[sl] = amount[k]
        _edge(Ei, Ef, A, B, S, G, Pi, Pf, out, k, g, scr)
    return k1


@njit(cache=True)
def set_last(last: np.ndarray, uv: np.ndarray, ts: np.ndarray) -> None:
    """``last[uv[j]] = ts[j // 2]`` in order (``uv`` interleaves each row's two endpoints): each
    account's latest time, the later row winning (times never decrease). Short: the GIL is kept."""
    for j in range(uv.shape[0]):
        last[uv[j]] = ts[j >> 1]
