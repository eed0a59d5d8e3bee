"""Compiled (numba) candidate generation, token alignment and name scoring for the matcher.

A query is a set of *units*: its tokens, and the joined forms of adjacent token pairs
("abdul" + "qader" → "abdkader"), each with a bit mask of the query tokens it covers and their IDF
weight. Its *expansions* are ``(unit, vocabulary id, similarity)`` triples found by the Python-side
blocking keys. An indexed name is likewise its tokens plus joined adjacent pairs.

Per query the kernel (1) loads the expansions into a per-vocabulary scratch table, (2) accumulates
weighted overlap over the postings of the expanded vocabulary ids (inverted index), (3) keeps the
``k`` best names by that overlap, (4) aligns each one best-first, one unit per token on each side,
(5) scores it (:func:`_score`) and keeps the best name per entity. Scratch arrays are reset after
each query, so a single preallocated set serves a whole batch (and a process: the GIL is held).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: indices into the ``params`` array
P_LAMBDA = 0  # weight of the better-covered side (query or name) in the base score
P_W0 = 1  # matched IDF weight at which the evidence counts as full
P_ALPHA = 2  # how much weak evidence (only common tokens matched) lowers the score
P_RANK_GAMMA = 3  # blocking: penalty per unit of the name's own weight when ranking candidates
P_LAMBDA_N = 4  # the same when the name is better covered than the query (the query has extra words)
P_POWER = 5  # final calibration: score ** power (monotone)
P_IDF_MAX = 6  # weight of a token never seen on the lists (features are read in its units)
P_SHIFT = 7  # the learned scorer's calibration: added to its logit
P_GATE = 8  # pairs the hand-set score puts below this are not run through the trees
P_AGG = 9  # an entity's second-best name adds this share of its score to the rest (noisy-or)
N_PARAMS = 10
#: a gated pair keeps this share of its hand-set score (for ordering; far below any cutoff)
GATED_SCALE = 0.01

#: the pair features of an alignment (the learned scorer's inputs; see :data:`FEATURE_NAMES`)
F_LEGACY = 0  # the hand-set score of :func:`_score`
F_QCOVER = 1  # matched share of the query's IDF weight
F_NCOVER = 2  # matched share of the name's IDF weight
F_STRENGTH = 3  # matched IDF weight (the smaller side), in units of an unseen token's weight
F_Q_UNM_MAX = 4  # rarest query token left unmatched (IDF / unseen)
F_N_UNM_MAX = 5  # rarest name token left unmatched
F_Q_UNM_N = 6  # query tokens left unmatched
F_N_UNM_N = 7  # name tokens left unmatched
F_MEAN_SIM = 8  # mean similarity of the aligned pairs
F_EXACT = 9  # share of the aligned pairs that are exact
F_RAREST = 10  # rarest aligned name token, exact pairs only (IDF / unseen)
F_RAREST_SIM = 11  # rarest aligned name token, any similarity, times that similarity
F_PAIRS = 12  # aligned pairs
F_UNVOWELED = 13  # the query is in a script without short vowels (Arabic)
F_MIN_COVER = 14  # the worse-covered side's share
F_Q_RAREST_HIT = 15  # similarity with which the query's rarest token is aligned (0: left unmatched)
# entity level: the query against the union of all the entity's names (an alias often takes its
# given name from one listed spelling and its surname from another)
F_ENT_QCOVER = 16  # share of the query's IDF weight found in any of the entity's names
F_ENT_Q_UNM_MAX = 17  # rarest query token found in none of the entity's names (IDF / unseen)
F_ENT_STRENGTH = 18  # query weight found in the entity's names, in units of an unseen token's weight
F_ENT_RAREST = 19  # rarest query token found in the entity's names, times its similarity (IDF / unseen)
F_ENT_Q_RAREST_HIT = 20  # similarity with which the query's rarest token is found in the entity's names
N_FEAT = 21
#: a pair skips the trees only when, besides a low hand-set score, the entity's names together
#: cover less than this share of the query
ENT_GATE = 0.75


@njit(cache=True, inline="always")
def _popcount(x: int) -> int:
    c = 0
    while x:
        x &= x - 1
        c += 1
    return c


@njit(cache=True, inline="always")
def _score(qm: float, qt: float, nm: float, nt: float, params: np.ndarray) -> float:
    """Name score from matched / total IDF weight on the query and on the name side.

    ``base`` leans on the better-covered side (aliases are often part of a full name, and full names
    often carry extra middle names) but the worse-covered side still counts; ``strength`` scales it
    down when the matched weight is small in absolute terms, so that common tokens alone (mohamed,
    abdul, ali) never make a match however well they align.
    """
    if qt <= 0.0 or nt <= 0.0 or qm <= 0.0:
        return 0.0
    qc = min(qm / qt, 1.0)
    nc = min(nm / nt, 1.0)
    lam = params[P_LAMBDA] if qc >= nc else params[P_LAMBDA_N]
    base = lam * max(qc, nc) + (1.0 - lam) * min(qc, nc)
    strength = min(min(qm, nm) / params[P_W0], 1.0)
    return float((base * (1.0 - params[P_ALPHA] * (1.0 - strength))) ** params[P_POWER])


@njit(cache=True)
def aggregate(best: float, second: float, support: float) -> float:
    """An entity's score from its best and second-best names' (noisy-or, the second discounted by
    ``support``): several of its names holding the query's words count more than one."""
    return best + support * second * (1.0 - best)


@njit(cache=True)
def _load_query(
    e0: int, e1: int, e_unit: np.ndarray, e_vid: np.ndarray, e_sim: np.ndarray, nu: int,
    scr: np.ndarray, vsim: np.ndarray, touched_v: np.ndarray,
) -> int:  # fmt: skip
    """Scratch: ``scr[vid]`` = 1 + row of ``vsim`` holding that vocabulary id's similarity per unit."""
    nv = 0
    for e in range(e0, e1):
        v = e_vid[e]
        p = scr[v]
        if p == 0:
            touched_v[nv] = v
            nv += 1
            p = nv
            scr[v] = p
            for u in range(nu):
                vsim[p - 1, u] = 0.0
        u = e_unit[e]
        if e_sim[e] > vsim[p - 1, u]:
            vsim[p - 1, u] = e_sim[e]
    return nv


@njit(cache=True)
def _align(
    nid: int, u0: int, nu: int, u_cover: np.ndarray, u_w: np.ndarray, qt: float,
    scr: np.ndarray, vsim: np.ndarray,
    nt_ptr: np.ndarray, nt_vid: np.ndarray, nm_ptr: np.ndarray, nm_vid: np.ndarray, nm_pos: np.ndarray,
    idf: np.ndarray, name_wtot: np.ndarray, params: np.ndarray,
    pair_u: np.ndarray, pair_n: np.ndarray, pair_s: np.ndarray, unvoweled: bool, feat: np.ndarray,
) -> tuple[float, int, float, float]:  # fmt: skip
    """Best-first alignment of the query's units with name ``nid``'s; fills ``pair_*`` and the pair
    features ``feat`` (``N_FEAT``).

    Name units ``0..k-1`` are its tokens, ``k..`` its joined adjacent pairs. Returns
    ``(hand-set score, pairs, matched query weight, matched name weight)``.
    """
    a = nt_ptr[nid]
    k = nt_ptr[nid + 1] - a
    c = nm_ptr[nid]
    nun = k + nm_ptr[nid + 1] - c
    cap = nun * nu
    ps = np.empty(cap)
    pk = np.empty(cap)
    pu = np.empty(cap, np.int64)
    pn = np.empty(cap, np.int64)
    cnt = 0
    for jj in range(nun):
        merged = jj >= k
        v = nm_vid[c + jj - k] if merged else nt_vid[a + jj]
        p = scr[v]
        if p == 0:
            continue
        for u in range(nu):
            s = vsim[p - 1, u]
            if s <= 0.0:
                continue
            if merged and _popcount(u_cover[u0 + u]) > 1:
                continue
            # ties: tokens before joined forms
            ps[cnt] = s
            pk[cnt] = -(s - (1e-6 if merged or _popcount(u_cover[u0 + u]) > 1 else 0.0))
            pu[cnt] = u
            pn[cnt] = jj
            cnt += 1
    order = np.argsort(pk[:cnt])
    # the query's rarest token (a single unit): is it aligned, and how well?
    rare_bit = 0
    rare_w = -1.0
    for u in range(nu):
        qc = u_cover[u0 + u]
        if _popcount(qc) == 1 and u_w[u0 + u] > rare_w:
            rare_w = u_w[u0 + u]
            rare_bit = qc
    rare_hit = 0.0
    qmask = 0
    nmask = 0
    qm = 0.0
    nm = 0.0
    npairs = 0
    sum_s = 0.0
    n_exact = 0
    rarest = 0.0
    rarest_s = 0.0
    for o in order:
        u = pu[o]
        jj = pn[o]
        qc = u_cover[u0 + u]
        if jj < k:
            nc = 1 << jj
            wn = idf[nt_vid[a + jj]]
        else:
            j = nm_pos[c + jj - k]
            nc = 3 << j
            wn = idf[nt_vid[a + j]] + idf[nt_vid[a + j + 1]]
        if (qc & qmask) != 0 or (nc & nmask) != 0:
            continue
        s = ps[o]
        if (qc & rare_bit) != 0:
            rare_hit = s
        qmask |= qc
        nmask |= nc
        qm += s * u_w[u0 + u]
        nm += s * wn
        if npairs < pair_u.shape[0]:
            pair_u[npairs] = u
            pair_n[npairs] = jj
            pair_s[npairs] = s
        npairs += 1
        sum_s += s
        if s >= 1.0:
            n_exact += 1
            if wn > rarest:
                rarest = wn
        if s * wn > rarest_s:
            rarest_s = s * wn
    nt = name_wtot[nid]
    legacy = _score(qm, qt, nm, nt, params)
    imax = params[P_IDF_MAX]
    # query tokens (single units, covers 1 << i) and name tokens left unmatched
    q_unm_n = 0
    q_unm_max = 0.0
    for u in range(nu):
        qc = u_cover[u0 + u]
        if _popcount(qc) == 1 and (qc & qmask) == 0:
            q_unm_n += 1
            q_unm_max = max(q_unm_max, u_w[u0 + u])
    n_unm_n = 0
    n_unm_max = 0.0
    for j in range(k):
        if (nmask >> j) & 1 == 0:
            n_unm_n += 1
            n_unm_max = max(n_unm_max, idf[nt_vid[a + j]])
    qcov = min(qm / qt, 1.0) if qt > 0.0 else 0.0
    ncov = min(nm / nt, 1.0) if nt > 0.0 else 0.0
    feat[F_LEGACY] = legacy
    feat[F_QCOVER] = qcov
    feat[F_NCOVER] = ncov
    feat[F_STRENGTH] = min(min(qm, nm) / imax, 3.0)
    feat[F_Q_UNM_MAX] = q_unm_max / imax
    feat[F_N_UNM_MAX] = n_unm_max / imax
    feat[F_Q_UNM_N] = min(q_unm_n, 4)
    feat[F_N_UNM_N] = min(n_unm_n, 4)
    feat[F_MEAN_SIM] = sum_s / npairs if npairs else 0.0
    feat[F_EXACT] = n_exact / npairs if npairs else 0.0
    feat[F_RAREST] = rarest / imax
    feat[F_RAREST_SIM] = rarest_s / imax
    feat[F_PAIRS] = min(npairs, 4)
    feat[F_UNVOWELED] = 1.0 if unvoweled else 0.0
    feat[F_MIN_COVER] = min(qcov, ncov)
    feat[F_Q_RAREST_HIT] = rare_hit
    return legacy, npairs, qm, nm


@njit(cache=True)
def _entity_feats(
    e: int, u0: int, nu: int, u_cover: np.ndarray, u_w: np.ndarray, qt: float,
    scr: np.ndarray, vsim: np.ndarray, ent_ptr: np.ndarray,
    nt_ptr: np.ndarray, nt_vid: np.ndarray, nm_ptr: np.ndarray, nm_vid: np.ndarray,
    x0: int, x1: int, x_nid: np.ndarray, imax: float, ub: np.ndarray, feat: np.ndarray,
) -> None:  # fmt: skip
    """The entity-level features (``F_ENT_*``) of the query against all of entity ``e``'s names
    (names ``x_nid[x0:x1]`` left out): per query token the best similarity in any of its names."""
    for u in range(nu):
        ub[u] = 0.0
    for nid in range(ent_ptr[e], ent_ptr[e + 1]):
        skip = False
        for xi in range(x0, x1):
            if x_nid[xi] == nid:
                skip = True
        if skip:
            continue
        for t in range(nt_ptr[nid], nt_ptr[nid + 1]):
            p = scr[nt_vid[t]]
            if p == 0:
                continue
            for u in range(nu):
                if vsim[p - 1, u] > ub[u]:
                    ub[u] = vsim[p - 1, u]
        for t in range(nm_ptr[nid], nm_ptr[nid + 1]):
            p = scr[nm_vid[t]]
            if p == 0:
                continue
            for u in range(nu):
                if _popcount(u_cover[u0 + u]) == 1 and vsim[p - 1, u] > ub[u]:
                    ub[u] = vsim[p - 1, u]
    # a joined query unit ("abdul qader" found as "abdulqader") covers both of its tokens
    qm = 0.0
    unm = 0.0
    rarest = 0.0
    rare_w = -1.0
    rare_hit = 0.0
    for u in range(nu):
        c = u_cover[u0 + u]
        if _popcount(c) != 1:
            continue
        best = ub[u]
        for v in range(nu):
            if v != u and (u_cover[u0 + v] & c) != 0 and ub[v] > best:
                best = ub[v]
        w = u_w[u0 + u]
        qm += best * w
        if best <= 0.0 and w > unm:
            unm = w
        if best * w > rarest:
            rarest = best * w
        if w > rare_w:
            rare_w = w
            rare_hit = best
    feat[F_ENT_QCOVER] = min(qm / qt, 1.0) if qt > 0.0 else 0.0
    feat[F_ENT_Q_UNM_MAX] = unm / imax
    feat[F_ENT_STRENGTH] = min(qm / imax, 3.0)
    feat[F_ENT_RAREST] = rarest / imax
    feat[F_ENT_Q_RAREST_HIT] = rare_hit


@njit(cache=True)
def _learned_many(
    fbuf: np.ndarray, nk: int, t_feat: np.ndarray, t_right: np.ndarray, t_val: np.ndarray, roots: np.ndarray,
    shift: float, gate: float, out: np.ndarray, zbuf: np.ndarray, live: np.ndarray,
) -> None:  # fmt: skip
    """The learned pair scores of the ``nk`` candidates of one query (features ``fbuf[:nk]``) into
    ``out``: gradient-boosted trees over the pair features, as a logistic of their summed leaf
    values plus the calibration ``shift``; the hand-set score when there are no trees.
    The trees in compact pre-order arrays (:meth:`filiere.screening.scorer.NameModel.walk_arrays`,
    small enough for the L1 cache): ``t_feat[n]`` the split feature (−1 at a leaf), ``t_right[n]``
    the right child (the left one is ``n + 1``), ``t_val[n]`` the threshold (left when
    ``feat <= threshold``) or, at a leaf, its value. A pair whose hand-set score is
    below ``gate`` (most of a query's candidates: one common word in common) skips the trees and
    keeps ``GATED_SCALE`` of its hand-set score (unless the entity's names together cover most of
    the query: ``ENT_GATE``). Trees outside, pairs inside: the walks of
    different pairs (independent chains of loads) overlap in the CPU."""
    m = 0
    for i in range(nk):
        legacy = fbuf[i, F_LEGACY]
        if roots.shape[0] == 0:
            out[i] = legacy
        elif legacy < gate and fbuf[i, F_ENT_QCOVER] < ENT_GATE:
            out[i] = GATED_SCALE * legacy
        else:
            live[m] = i
            zbuf[m] = shift
            m += 1
    for t in range(roots.shape[0]):
        r = roots[t]
        for j in range(m):
            i = live[j]
            n = r
            f = t_feat[n]
            while f >= 0:
                n = t_right[n] if fbuf[i, f] > t_val[n] else n + 1
                f = t_feat[n]
            zbuf[j] += t_val[n]
    for j in range(m):
        out[live[j]] = 1.0 / (1.0 + np.exp(-zbuf[j]))


@njit(cache=True)
def tree_logits(feats: np.ndarray, node_i: np.ndarray, node_f: np.ndarray, roots: np.ndarray) -> np.ndarray:
    """The trees' summed leaf values for each row of ``feats`` (training and calibration)."""
    out = np.empty(feats.shape[0])
    for r in range(feats.shape[0]):
        z = 0.0
        for t in range(roots.shape[0]):
            n = roots[t]
            while node_i[n, 0] >= 0:
                n = node_i[n, 1] if feats[r, node_i[n, 0]] <= node_f[n, 0] else node_i[n, 2]
            z += node_f[n, 1]
        out[r] = z
    return out


@njit(cache=True)
def tree_contributions(
    feat: np.ndarray, node_i: np.ndarray, node_f: np.ndarray, roots: np.ndarray, contrib: np.ndarray
) -> float:
    """Per-feature contributions to the trees' logit (path attribution: each split's change of
    the node value goes to its feature); returns the bias (sum of the roots' values)."""
    bias = 0.0
    for i in range(contrib.shape[0]):
        contrib[i] = 0.0
    for t in range(roots.shape[0]):
        n = roots[t]
        bias += node_f[n, 1]
        while node_i[n, 0] >= 0:
            c = node_i[n, 1] if feat[node_i[n, 0]] <= node_f[n, 0] else node_i[n, 2]
            contrib[node_i[n, 0]] += node_f[c, 1] - node_f[n, 1]
            n = c
    return bias


@njit(cache=True)
def search_batch(
    q_uoff: np.ndarray, u_cover: np.ndarray, u_w: np.ndarray, q_wtot: np.ndarray,
    e_off: np.ndarray, e_unit: np.ndarray, e_vid: np.ndarray, e_sim: np.ndarray,
    x_off: np.ndarray, x_nid: np.ndarray,
    post_ptr: np.ndarray, post_idx: np.ndarray,
    nt_ptr: np.ndarray, nt_vid: np.ndarray, nm_ptr: np.ndarray, nm_vid: np.ndarray, nm_pos: np.ndarray,
    name_wtot: np.ndarray, name_ent: np.ndarray, ent_ptr: np.ndarray, idf: np.ndarray, params: np.ndarray,
    k_cand: int, scr: np.ndarray, acc: np.ndarray,
    out_nid: np.ndarray, out_score: np.ndarray, out_nid2: np.ndarray,
    q_unvoweled: np.ndarray, t_feat: np.ndarray, t_right: np.ndarray, t_val: np.ndarray, roots: np.ndarray,
    dump_nid: np.ndarray, dump_feat: np.ndarray,
) -> None:  # fmt: skip
    """Score a batch of queries; ``out_nid[q, :]`` best name per entity (−1: none), best first.

    ``x_off``/``x_nid``: indexed names each query must ignore (leave-one-out evaluation).
    ``t_feat`` / ``t_right`` / ``t_val`` / ``roots``: the learned scorer (:func:`_learned_many`; no
    roots: the hand-set score). ``dump_nid`` /
    ``dump_feat`` (``(nq, k_cand)`` / ``(nq, k_cand, N_FEAT)``, or 0 rows): every aligned
    candidate name and its pair features, for training the scorer.
    """
    nq = q_uoff.shape[0] - 1
    n_out = out_nid.shape[1]
    max_e = 1
    max_u = 1
    for q in range(nq):
        max_e = max(max_e, e_off[q + 1] - e_off[q])
        max_u = max(max_u, q_uoff[q + 1] - q_uoff[q])
    vsim = np.zeros((max_e, max_u))
    touched_v = np.empty(max_e, np.int64)
    touched_n = np.empty(acc.shape[0], np.int64)
    top_n = np.empty(k_cand, np.int64)
    top_k = np.empty(k_cand)
    pu = np.empty(64, np.int64)
    pn = np.empty(64, np.int64)
    pss = np.empty(64)
    ent_best = np.empty(k_cand, np.int64)
    sc_best = np.empty(k_cand)
    sc_second = np.empty(k_cand)
    nid_best = np.empty(k_cand, np.int64)
    nid_second = np.empty(k_cand, np.int64)
    fbuf = np.zeros((k_cand, N_FEAT))
    sbuf = np.empty(k_cand)
    zbuf = np.empty(k_cand)
    live = np.empty(k_cand, np.int64)
    ub = np.empty(max_u)
    imax = params[P_IDF_MAX]
    dump = dump_nid.shape[0] > 0
    gamma = params[P_RANK_GAMMA]
    for q in range(nq):
        for i in range(n_out):
            out_nid[q, i] = -1
            out_nid2[q, i] = -1
            out_score[q, i] = 0.0
        if dump:
            for i in range(k_cand):
                dump_nid[q, i] = -1
        u0 = q_uoff[q]
        nu = q_uoff[q + 1] - u0
        if nu == 0:
            continue
        nv = _load_query(e_off[q], e_off[q + 1], e_unit, e_vid, e_sim, nu, scr, vsim, touched_v)
        # weighted overlap over the postings of every expanded vocabulary id
        ntn = 0
        for i in range(nv):
            v = touched_v[i]
            best = 0.0
            for u in range(nu):
                w = vsim[i, u] * u_w[u0 + u]
                if w > best:
                    best = w
            for pp in range(post_ptr[v], post_ptr[v + 1]):
                n = post_idx[pp]
                if acc[n] == 0.0:
                    touched_n[ntn] = n
                    ntn += 1
                acc[n] += best
        for xi in range(x_off[q], x_off[q + 1]):
            acc[x_nid[xi]] = -1e30
        # the k_cand best names by overlap (shorter names first among equals)
        nk = 0
        for i in range(ntn):
            n = touched_n[i]
            if acc[n] < 0.0:
                continue
            key = acc[n] - gamma * name_wtot[n]
            if nk < k_cand:
                top_n[nk] = n
                top_k[nk] = key
                nk += 1
            else:
                m = 0
                for j in range(1, k_cand):
                    if top_k[j] < top_k[m]:
                        m = j
                if key > top_k[m]:
                    top_n[m] = n
                    top_k[m] = key
        for i in range(ntn):
            acc[touched_n[i]] = 0.0
        for xi in range(x_off[q], x_off[q + 1]):
            acc[x_nid[xi]] = 0.0
        # align, best name per entity
        for i in range(nk):
            _align(
                top_n[i], u0, nu, u_cover, u_w, q_wtot[q], scr, vsim, nt_ptr, nt_vid, nm_ptr, nm_vid, nm_pos,
                idf, name_wtot, params, pu, pn, pss, q_unvoweled[q], fbuf[i],
            )  # fmt: skip
            e = name_ent[top_n[i]]
            done = -1
            for j in range(i):
                if name_ent[top_n[j]] == e:
                    done = j
                    break
            if done >= 0:
                for f in range(F_ENT_QCOVER, N_FEAT):
                    fbuf[i, f] = fbuf[done, f]
            else:
                _entity_feats(
                    e, u0, nu, u_cover, u_w, q_wtot[q], scr, vsim, ent_ptr, nt_ptr, nt_vid, nm_ptr, nm_vid,
                    x_off[q], x_off[q + 1], x_nid, imax, ub, fbuf[i],
                )  # fmt: skip
            if dump:
                dump_nid[q, i] = top_n[i]
                for f in range(N_FEAT):
                    dump_feat[q, i, f] = fbuf[i, f]
        _learned_many(
            fbuf, nk, t_feat, t_right, t_val, roots, params[P_SHIFT], params[P_GATE], sbuf, zbuf, live
        )  # fmt: skip
        ne = 0
        for i in range(nk):
            n = top_n[i]
            s = sbuf[i]
            e = name_ent[n]
            found = -1
            for j in range(ne):
                if ent_best[j] == e:
                    found = j
                    break
            if found < 0:
                ent_best[ne] = e
                sc_best[ne] = s
                sc_second[ne] = 0.0
                nid_best[ne] = n
                nid_second[ne] = -1
                ne += 1
            elif s > sc_best[found] or (s == sc_best[found] and n < nid_best[found]):
                sc_second[found] = sc_best[found]
                nid_second[found] = nid_best[found]
                sc_best[found] = s
                nid_best[found] = n
            elif s > sc_second[found] or (s == sc_second[found] and n < nid_second[found]):
                sc_second[found] = s
                nid_second[found] = n
        agg = params[P_AGG]
        if agg > 0.0:
            for j in range(ne):
                sc_best[j] = aggregate(sc_best[j], sc_second[j], agg)
        for i in range(nv):
            scr[touched_v[i]] = 0
        order = np.argsort(-sc_best[:ne], kind="mergesort")
        for i in range(min(ne, n_out)):
            out_nid[q, i] = nid_best[order[i]]
            out_nid2[q, i] = nid_second[order[i]]
            out_score[q, i] = sc_best[order[i]]


@njit(cache=True)
def explain_pair(
    u_cover: np.ndarray, u_w: np.ndarray, qt: float, e_unit: np.ndarray, e_vid: np.ndarray, e_sim: np.ndarray,
    nid: int, scr: np.ndarray,
    nt_ptr: np.ndarray, nt_vid: np.ndarray, nm_ptr: np.ndarray, nm_vid: np.ndarray, nm_pos: np.ndarray,
    idf: np.ndarray, name_wtot: np.ndarray, params: np.ndarray,
    pair_u: np.ndarray, pair_n: np.ndarray, pair_s: np.ndarray, unvoweled: bool, feat: np.ndarray,
    ent: int, ent_ptr: np.ndarray,
) -> tuple[float, int, float, float]:  # fmt: skip
    """The alignment of one query (its units and expansions) with name ``nid``, for explanations."""
    nu = u_cover.shape[0]
    ne = e_vid.shape[0]
    vsim = np.zeros((max(ne, 1), max(nu, 1)))
    touched_v = np.empty(max(ne, 1), np.int64)
    nv = _load_query(0, ne, e_unit, e_vid, e_sim, nu, scr, vsim, touched_v)
    res = _align(
        nid, 0, nu, u_cover, u_w, qt, scr, vsim, nt_ptr, nt_vid, nm_ptr, nm_vid, nm_pos, idf, name_wtot, params,
        pair_u, pair_n, pair_s, unvoweled, feat,
    )  # fmt: skip
    _entity_feats(
        ent, 0, nu, u_cover, u_w, qt, scr, vsim, ent_ptr, nt_ptr, nt_vid, nm_ptr, nm_vid,
        0, 0, np.zeros(0, np.int64), params[P_IDF_MAX], np.empty(max(nu, 1)), feat,
    )  # fmt: skip
    for i in range(nv):
        scr[touched_v[i]] = 0
    return res
