"""Brute-force reference of every feature, in plain Python, straight from the definitions.

Slow (quadratic and worse) and meant for small graphs: the tests check the compiled kernels against
it, and :func:`filiere.graph.pattern_instances` uses its enumerators to list the concrete instances
behind one transaction's features. Float features are accumulated newest-first, as the kernels do, so
the values agree bit for bit.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from filiere.graph.config import FeatureConfig, hours_to_us
from filiere.graph.features import enabled_features

US_PER_HOUR = 3600e6


@dataclass(frozen=True, slots=True)
class Edge:
    idx: int  # position in (ts, input order)
    tx_id: str
    ts: int  # microseconds
    src: str
    dst: str
    bank: str  # sender's bank
    amount: float
    cash: bool


def edges_from_table(table: pa.Table, config: FeatureConfig) -> list[Edge]:
    """Edges sorted by timestamp, ties by row order (the engine's order)."""
    amt = config.amount_column or "amount_paid"
    ts = table.column("ts").cast(pa.timestamp("us")).cast(pa.int64()).to_pylist()
    cols = {c: table.column(c).to_pylist() for c in ("tx_id", "from_account", "to_account", "from_bank")}
    amounts = table.column(amt).cast(pa.float64()).to_pylist()
    fmts = table.column("payment_format").to_pylist()
    order = np.argsort(np.asarray(ts, dtype=np.int64), kind="stable").tolist()
    cash = set(config.cash_formats)
    return [
        Edge(
            k,
            str(cols["tx_id"][r]),
            int(ts[r]),
            cols["from_account"][r],
            cols["to_account"][r],
            cols["from_bank"][r],
            float(amounts[r]),
            fmts[r] in cash,
        )
        for k, r in enumerate(order)
    ]


def window(edges: list[Edge], i: int, hours: float) -> list[Edge]:
    """Edges at or before edge ``i`` in (ts, input order), within ``hours`` of it, newest first."""
    tmin = edges[i].ts - hours_to_us(hours)
    return [e for e in reversed(edges[: i + 1]) if e.ts >= tmin]


def _stats(es: list[Edge]) -> list[float]:
    cnt = len(es)
    s = 0.0
    for e in es:
        s += e.amount
    mean = s / cnt
    var = 0.0
    for e in es:
        d = e.amount - mean
        var += d * d
    gaps = [float(a.ts - b.ts) / US_PER_HOUR for a, b in itertools.pairwise(es)]
    if gaps:
        gs = 0.0
        for x in gaps:
            gs += x
        gmean = gs / len(gaps)
        gv = 0.0
        for x in gaps:
            d = x - gmean
            gv += d * d
        gvar, gmin, gmax = gv / len(gaps), min(gaps), max(gaps)
    else:
        gmean = gvar = gmin = gmax = 0.0
    return [s, mean, var / cnt, min(e.amount for e in es), max(e.amount for e in es), gmean, gvar, gmin, gmax]


def sg_sources(win: list[Edge], u: str, v: str) -> dict[str, dict[str, list[Edge]]]:
    """For each source s paying u: intermediaries m with s->m before m->v (legs listed)."""
    if u == v:
        return {}
    out: dict[str, dict[str, list[Edge]]] = {}
    for s in {e.src for e in win if e.dst == u and e.src not in (u, v)}:
        ms: dict[str, list[Edge]] = {}
        for e1 in win:
            if e1.src != s or e1.dst in (s, v):
                continue
            later = [e2 for e2 in win if e2.src == e1.dst and e2.dst == v and e2.idx > e1.idx]
            if later:
                ms.setdefault(e1.dst, []).extend([e1, *later])
        out[s] = ms
    return out


def k22_blocks(win: list[Edge], u: str, v: str) -> list[tuple[str, str]]:
    """(s, r) with u, v, s, r distinct and u->v, u->r, s->v, s->r all in the window."""
    if u == v:
        return []
    u_pays = {e.dst for e in win if e.src == u} - {u, v}
    v_payers = {e.src for e in win if e.dst == v} - {u, v}
    pays: dict[str, set[str]] = {}
    for e in win:
        pays.setdefault(e.src, set()).add(e.dst)
    return sorted((s, r) for s in v_payers for r in u_pays if r != s and r in pays.get(s, set()))


def cycles(edges: list[Edge], i: int, config: FeatureConfig) -> Iterator[list[Edge]]:
    """Every simple time-respecting cycle closed by edge ``i`` (the closing edge last)."""
    e = edges[i]
    if e.src == e.dst:
        return
    win = [x for x in reversed(window(edges, i, config.cycle_window_h)) if x.idx < i]  # oldest first
    kmax = config.cycle_max_len

    def dfs(x: str, last: int, path: list[Edge], seen: set[str]) -> Iterator[list[Edge]]:
        for f in win:
            if f.idx <= last or f.src != x:
                continue
            if f.dst == e.src:
                if len(path) + 1 <= kmax - 1:
                    yield [*path, f, e]
            elif f.dst not in seen and len(path) + 1 < kmax - 1:
                seen.add(f.dst)
                yield from dfs(f.dst, f.idx, [*path, f], seen)
                seen.discard(f.dst)

    yield from dfs(e.dst, -1, [], {e.dst})


def _near(e: Edge, config: FeatureConfig) -> bool:
    lo = config.structuring_threshold * (1.0 - config.structuring_margin)
    return e.cash and lo <= e.amount < config.structuring_threshold


def reference_features(edges: list[Edge], config: FeatureConfig) -> list[dict[str, float]]:
    """Features of every edge (in the order of ``edges``), by brute force."""
    peel: list[int] = []
    bip: list[bool] = []
    stack: list[int] = []
    names = [f.name for f in enabled_features(config)]
    result: list[dict[str, float]] = []
    for i, e in enumerate(edges):
        u, v = e.src, e.dst
        f: dict[str, float] = {}
        w = window(edges, i, config.window_h)
        out_u = [x for x in w if x.src == u]
        in_u = [x for x in w if x.dst == u]
        out_v = [x for x in w if x.src == v]
        in_v = [x for x in w if x.dst == v]
        f["src_out_deg"], f["src_in_deg"] = len(out_u), len(in_u)
        f["dst_out_deg"], f["dst_in_deg"] = len(out_v), len(in_v)
        f["src_fan_out"], f["src_fan_in"] = len({x.dst for x in out_u}), len({x.src for x in in_u})
        f["dst_fan_out"], f["dst_fan_in"] = len({x.dst for x in out_v}), len({x.src for x in in_v})
        stat_names = ["amt_sum", "amt_mean", "amt_var", "amt_min", "amt_max", "gap_mean", "gap_var", "gap_min"]
        stat_names.append("gap_max")
        for prefix, es in (("src_out", out_u), ("dst_in", in_v)):
            for name, val in zip(stat_names, _stats(es), strict=True):
                f[f"{prefix}_{name}"] = val
        f["src_new_counterparty"] = 0 if any(x.dst == v and x.idx < i for x in out_u) else 1

        wsg = window(edges, i, config.sg_window_h)
        srcs = sg_sources(wsg, u, v)
        widths = [len(ms) for ms in srcs.values()]
        f["sg_count"] = sum(1 for x in widths if x >= 2)
        f["sg_max_width"] = max(widths, default=0)
        fin = len({x.src for x in wsg if x.dst == u} - {u})
        fout = len({x.dst for x in wsg if x.src == u} - {u})
        f["gs_fan_in"], f["gs_fan_out"] = fin, fout
        f["gs_flag"] = 1 if fin >= 2 and fout >= 2 else 0
        blocks = k22_blocks(wsg, u, v)
        f["bip_co_senders"] = len({s for s, _ in blocks})
        f["bip_co_receivers"] = len({r for _, r in blocks})
        bip.append(bool(blocks))
        if blocks:
            stack.append(1 + max((stack[x.idx] for x in wsg if x.dst == u and x.idx < i), default=0))
        else:
            stack.append(0)
        f["stack_depth"] = stack[i]

        lengths = [len(c) for c in cycles(edges, i, config)]
        f["cycle_count"] = min(len(lengths), config.cycle_count_cap)
        f["cycle_min_len"] = min(lengths, default=0)
        f["cycle_present"] = 1 if lengths else 0

        wp = window(edges, i, config.peel_gap_h)
        prev = [
            peel[x.idx]
            for x in wp
            if x.dst == u and x.idx < i and x.amount * config.peel_min_ratio <= e.amount < x.amount
        ]
        peel.append(1 + max(prev, default=0))
        f["peel_chain_len"] = peel[i]

        wpt = window(edges, i, config.pass_through_window_h)
        pin = 0.0
        for x in wpt:
            if x.dst == u and x.idx < i:
                pin += x.amount
        pout = 0.0
        for x in wpt:
            if x.src == u:
                pout += x.amount
        f["pt_in_sum"], f["pt_out_sum"] = pin, pout
        f["pt_ratio"] = pout / pin if pin > 0 else 0.0
        f["pt_flag"] = 1 if pin > 0 and abs(pout - pin) <= config.pass_through_tolerance * pin else 0

        ws = window(edges, i, config.structuring_window_h)
        dn = [x for x in ws if x.dst == v and _near(x, config)]
        sn = [x for x in ws if x.src == u and _near(x, config)]
        f["struct_near"] = 1 if _near(e, config) else 0
        f["struct_dst_count"] = len(dn)
        f["struct_dst_senders"] = len({x.src for x in dn})
        f["struct_dst_banks"] = len({x.bank for x in dn})
        f["struct_src_count"] = len(sn)
        f["struct_src_receivers"] = len({x.dst for x in sn})
        result.append({k: f[k] for k in names})
    return result


def instances(edges: list[Edge], i: int, config: FeatureConfig) -> list[dict[str, Any]]:
    """Concrete pattern instances behind edge ``i``'s features (``edges`` must hold its history)."""
    e = edges[i]
    u, v = e.src, e.dst
    cap = config.instances_max
    res: list[dict[str, Any]] = []

    def add(pattern: str, accounts: list[str], members: list[Edge], **extra: Any) -> None:
        seen: dict[str, None] = {}
        for m in sorted(members, key=lambda x: x.idx):
            seen.setdefault(m.tx_id, None)
        res.append({"pattern": pattern, "accounts": accounts, "tx_ids": list(seen), **extra})

    if config.has("degree"):
        w = window(edges, i, config.window_h)
        outs = [x for x in w if x.src == u]
        if len({x.dst for x in outs}) >= 2:
            add("fan_out", [u, *sorted({x.dst for x in outs})], outs, hub=u, window_h=config.window_h)
        ins = [x for x in w if x.dst == v]
        if len({x.src for x in ins}) >= 2:
            add("fan_in", [*sorted({x.src for x in ins}), v], ins, hub=v, window_h=config.window_h)
    wsg = window(edges, i, config.sg_window_h)
    if config.has("scatter_gather"):
        for s, ms in sorted(sg_sources(wsg, u, v).items())[:cap]:
            if len(ms) >= 2:
                legs = [x for m in ms.values() for x in m]
                add("scatter_gather", [s, *sorted(ms), v], legs, source=s, target=v, window_h=config.sg_window_h)
    if config.has("gather_scatter"):
        ins = [x for x in wsg if x.dst == u and x.src != u]
        outs = [x for x in wsg if x.src == u and x.dst != u]
        if len({x.src for x in ins}) >= 2 and len({x.dst for x in outs}) >= 2:
            accounts = [*sorted({x.src for x in ins}), u, *sorted({x.dst for x in outs})]
            add("gather_scatter", accounts, ins + outs, hub=u, window_h=config.sg_window_h)
    if config.has("bipartite") or config.has("stack"):
        for s, r in k22_blocks(wsg, u, v)[:cap]:
            legs = [x for x in wsg if (x.src, x.dst) in ((u, v), (u, r), (s, v), (s, r))]
            add("bipartite", [u, s, v, r], legs, senders=[u, s], receivers=[v, r], window_h=config.sg_window_h)
    if config.has("cycle"):
        for n, c in enumerate(cycles(edges, i, config)):
            if n >= cap:
                break
            add("cycle", [x.src for x in c], c, length=len(c), window_h=config.cycle_window_h)
    if config.has("peel"):
        chain = [e]
        memo: dict[int, int] = {}
        while True:
            cur = chain[-1]
            wp = window(edges, cur.idx, config.peel_gap_h)
            prev = [
                x
                for x in wp
                if x.dst == cur.src and x.idx < cur.idx and x.amount * config.peel_min_ratio <= cur.amount < x.amount
            ]
            if not prev:
                break
            chain.append(max(prev, key=lambda x: (_peel_len(edges, x, config, memo), x.idx)))
        if len(chain) >= 2:
            chain.reverse()
            add("peel_chain", [chain[0].src, *[x.dst for x in chain]], chain, length=len(chain))
    if config.has("pass_through"):
        wpt = window(edges, i, config.pass_through_window_h)
        ins = [x for x in wpt if x.dst == u and x.idx < i]
        outs = [x for x in wpt if x.src == u]
        pin = sum(x.amount for x in ins)
        pout = sum(x.amount for x in outs)
        if pin > 0 and abs(pout - pin) <= config.pass_through_tolerance * pin:
            accounts = [*sorted({x.src for x in ins}), u, *sorted({x.dst for x in outs})]
            add("pass_through", accounts, ins + outs, account=u, amount_in=pin, amount_out=pout)
    if config.has("structuring"):
        ws = window(edges, i, config.structuring_window_h)
        dn = [x for x in ws if x.dst == v and _near(x, config)]
        if len(dn) >= 2:
            add("structuring", [*sorted({x.src for x in dn}), v], dn, account=v, deposits=len(dn))
    return res


def _peel_len(edges: list[Edge], e: Edge, config: FeatureConfig, memo: dict[int, int]) -> int:
    if e.idx not in memo:
        wp = window(edges, e.idx, config.peel_gap_h)
        prev = [
            _peel_len(edges, x, config, memo)
            for x in wp
            if x.dst == e.src and x.idx < e.idx and x.amount * config.peel_min_ratio <= e.amount < x.amount
        ]
        memo[e.idx] = 1 + max(prev, default=0)
    return memo[e.idx]
