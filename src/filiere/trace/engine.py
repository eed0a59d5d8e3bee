"""Follow the money: hop-limited, time-respecting tracing with proportional attribution.

**Expansion.** Forward from the seed accounts: hop 1 is every payment the seeds made in
``[since, until]``; hop *k+1* is every payment made by an account reached at hop *k*, at or after the
time money first reached it (money cannot leave before it arrives). Backward is the mirror image:
payments *into* the seeds, then into their senders at or before the time they paid on. Each hop is
one set-based DuckDB query over the ``transactions`` table.

**Attribution (pro rata, "haircut").** Reached accounts are usually mixed: they also hold money that
has nothing to do with the seed. Walking every payment that touches them in time order, each
account keeps its running balance *B* (known inflows minus outflows in the window; the unknown
opening balance counts as zero) and its traced part *T*. A payment of amount *x* out of an account
carries ``x · min(1, T / B)`` of traced money, and that share arrives (in the receiving currency)
at the counterparty. The seeds' own payments are traced in full. Money that leaves to payments
outside the hop limit or before the traced money arrived is accounted as untraced.

Backward tracing uses the same rule read the other way: under pro-rata mixing an account's balance
is a mixture of its earlier inflows (each shrinking by ``1 − x/B`` at every payment out), so a
payment out of it consists of each inflow in proportion to what is left of it. The payments into
the seeds are traced in full and split, hop by hop back, over the senders' inflows in those shares.
Both directions agree: tracing forward from an origin finds the same amount in the seed as
tracing backward from the seed attributes to that origin. Money the window cannot explain (the
unknown opening balance, inflows beyond the hop limit) is left unattributed.

The walk is sequential by nature and runs over the extracted subgraph only (bounded by
``max_edges`` and ``max_context``), never over the whole table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from filiere.cases import graph
from filiere.errors import NotFoundError, UserInputError
from filiere.store.base import Store

DIRECTIONS = ("forward", "backward", "both")
_EPS = 1e-9


@dataclass(slots=True)
class TraceQuery:
    subject: str  # account id or party id
    direction: str = "forward"
    hops: int = 3
    since: datetime | None = None
    until: datetime | None = None
    max_edges: int = 5000
    #: most payments read to compute balances of mixed accounts
    max_context: int = 200_000


def resolve_seeds(store: Store, subject: str) -> tuple[str, list[str]]:
    """``("account", [id])`` or ``("party", its account ids)``; NotFoundError otherwise."""
    if store.scalar("SELECT 1 FROM accounts WHERE account_id = ?", [subject]) or store.scalar(
        "SELECT 1 FROM transactions WHERE from_account = ? OR to_account = ? LIMIT 1", [subject, subject]
    ):
        return "account", [subject]
    accs = [r[0] for r in store.query("SELECT account_id FROM accounts WHERE owner_party_id = ? ORDER BY 1", [subject])]
    if accs:
        return "party", accs
    if store.scalar("SELECT 1 FROM parties WHERE party_id = ?", [subject]):
        raise NotFoundError(f"party {subject!r} holds no account to trace from")
    raise NotFoundError(f"no account or party {subject!r}")


_TX_COLS = (
    "tx_id, ts, from_account, to_account, amount_paid, amount_received, payment_currency, receiving_currency,"
    " payment_format"
)


def _expand(
    store: Store, seeds: list[str], forward: bool, hops: int, since: datetime, until: datetime, max_edges: int
) -> tuple[dict[str, dict[str, Any]], dict[str, int], bool]:
    """Edges reached hop by hop (tx_id → row with ``hop``), account → first hop, truncated flag."""
    src, dst = ("from_account", "to_account") if forward else ("to_account", "from_account")
    time_cond = "t.ts >= f.t" if forward else "t.ts <= f.t"
    frontier: dict[str, datetime] = {s: (since if forward else until) for s in seeds}
    best: dict[str, datetime] = dict(frontier)
    depth: dict[str, int] = dict.fromkeys(seeds, 0)
    edges: dict[str, dict[str, Any]] = {}
    truncated = False
    for hop in range(1, hops + 1):
        if not frontier:
            break
        accs = list(frontier)
        rows = store.query_dicts(
            f"SELECT {_TX_COLS} FROM transactions t"
            " JOIN (SELECT unnest(?::VARCHAR[]) AS account, unnest(?::TIMESTAMP[]) AS t) f"
            f" ON t.{src} = f.account WHERE {time_cond} AND t.ts >= ? AND t.ts <= ?"
            " ORDER BY t.ts, t.tx_id LIMIT ?",
            [accs, [frontier[a] for a in accs], since, until, max_edges + 1],
        )
        nxt: dict[str, datetime] = {}
        for r in rows:
            if r["tx_id"] in edges:
                continue
            if len(edges) >= max_edges:
                truncated = True
                break
            r["hop"] = hop
            edges[r["tx_id"]] = r
            other, ts = r[dst], r["ts"]
            depth.setdefault(other, hop)
            known = best.get(other)
            if known is None or (ts < known if forward else ts > known):
                best[other] = ts
                nxt[other] = ts
        if truncated:
            break
        frontier = nxt
    return edges, depth, truncated


def _sweep(
    events: list[dict[str, Any]], seeds: set[str], inner: set[str], traced_edges: set[str], forward: bool
) -> dict[str, float]:
    """The pro-rata walk (see module doc). Returns tx_id → traced fraction of its amount."""
    key, other_key, out_amt, in_amt = "from_account", "to_account", "amount_paid", "amount_received"
    bal: dict[str, float] = {}
    taint: dict[str, float] = {}
    frac_of: dict[str, float] = {}
    for e in events:
        src, dst = e[key], e[other_key]
        x = float(e[out_amt])
        frac = 0.0
        if src in seeds:
            frac = 1.0
        elif src in inner:
            b, t = bal.get(src, 0.0), taint.get(src, 0.0)
            if t > _EPS:
                frac = 1.0 if b <= _EPS else min(1.0, t / b)
                frac = min(frac, t / x) if x > 0 else 0.0
            bal[src] = max(0.0, b - x)
            taint[src] = max(0.0, t - frac * x)
        if e["tx_id"] not in traced_edges:
            frac = 0.0
        elif frac > 0.0:
            frac_of[e["tx_id"]] = frac
        if dst in inner and dst not in seeds:
            y = float(e[in_amt])
            bal[dst] = bal.get(dst, 0.0) + y
            taint[dst] = taint.get(dst, 0.0) + frac * y
    return frac_of


def _backward_attribution(
    events: list[dict[str, Any]], seeds: set[str], inner: set[str], traced_edges: set[str], hop_of: dict[str, int]
) -> dict[str, float]:
    """Backward attribution consistent with the forward pro-rata rule.

    Forward, an account's balance is a mixture of its inflows, each decaying by ``1 − x/B`` at
    every payment out. A payment out of account P therefore consists of each earlier inflow *f* in
    the share ``r_f / B`` (its remaining part over the balance) at that instant; walking payments
    back from the seed, each payment's traced amount is split over P's inflows in those shares.
    """
    remain: dict[str, dict[str, float]] = {}
    bal: dict[str, float] = {}
    comp: dict[str, list[tuple[str, float]]] = {}
    for e in events:  # forward time order
        src, dst, tx = e["from_account"], e["to_account"], e["tx_id"]
        if src in inner:
            b, x = bal.get(src, 0.0), float(e["amount_paid"])
            parts = remain.setdefault(src, {})
            if b > _EPS:
                if tx in traced_edges:
                    comp[tx] = [(f, r / b) for f, r in parts.items() if r > _EPS * b]
                keep = max(0.0, 1.0 - x / b)
                for f in parts:
                    parts[f] *= keep
            bal[src] = max(0.0, b - x)
        if dst in inner:
            y = float(e["amount_received"])
            bal[dst] = bal.get(dst, 0.0) + y
            remain.setdefault(dst, {})[tx] = y
    by_id = {e["tx_id"]: e for e in events}
    frac: dict[str, float] = {}
    order = sorted(
        (by_id[t] for t in traced_edges if t in by_id), key=lambda e: (-e["ts"].timestamp(), hop_of.get(e["tx_id"], 99))
    )
    for e in order:
        tx = e["tx_id"]
        if e["to_account"] in seeds:
            frac[tx] = 1.0
        f_e = frac.get(tx, 0.0)
        if f_e <= 0.0 or e["from_account"] not in inner:
            continue
        amount = f_e * float(e["amount_paid"])
        for f, share in comp.get(tx, ()):
            if f in traced_edges:
                received = float(by_id[f]["amount_received"])
                if received > 0:
                    frac[f] = min(1.0, frac.get(f, 0.0) + amount * share / received)
    return {k: v for k, v in frac.items() if v > 0.0}


def _direction(
    store: Store, q: TraceQuery, seeds: list[str], forward: bool, since: datetime, until: datetime
) -> dict[str, Any]:
    edges, depth, truncated = _expand(store, seeds, forward, q.hops, since, until, q.max_edges)
    # accounts whose outgoing (backward: incoming) payments we attribute: reached before the last hop
    inner = {a for a, d in depth.items() if 0 < d < q.hops}
    context: list[dict[str, Any]] = []
    context_truncated = False
    if inner:
        context = store.query_dicts(
            f"SELECT {_TX_COLS} FROM transactions WHERE ts >= ? AND ts <= ?"
            " AND (from_account IN (SELECT unnest(?::VARCHAR[])) OR to_account IN (SELECT unnest(?::VARCHAR[])))"
            " LIMIT ?",
            [since, until, sorted(inner), sorted(inner), q.max_context + 1],
        )
        context_truncated = len(context) > q.max_context
        context = context[: q.max_context]
    events = {r["tx_id"]: r for r in context}
    for tx_id, r in edges.items():
        events[tx_id] = r
    hop_of = {k: v["hop"] for k, v in edges.items()}
    ordered = sorted(
        events.values(),
        key=lambda r: (r["ts"], hop_of.get(r["tx_id"], 99) if forward else -hop_of.get(r["tx_id"], -99), r["tx_id"]),
    )
    if forward:
        frac_of = _sweep(ordered, set(seeds), inner, set(edges), forward)
    else:
        frac_of = _backward_attribution(ordered, set(seeds), inner, set(edges), hop_of)
    out = []
    for tx_id, r in edges.items():
        f = frac_of.get(tx_id, 0.0)
        out.append(
            {
                **r,
                "direction": "forward" if forward else "backward",
                "traced_fraction": round(f, 6),
                "traced_amount": round(f * float(r["amount_paid"]), 2),
            }
        )
    return {"edges": out, "depth": depth, "truncated": truncated or context_truncated}


def trace(store: Store, q: TraceQuery) -> dict[str, Any]:
    """Subgraph (Cytoscape elements), timeline and totals of the money followed from ``q.subject``."""
    if q.direction not in DIRECTIONS:
        raise UserInputError(f"unknown direction {q.direction!r} (choose from {', '.join(DIRECTIONS)})")
    if not 1 <= q.hops <= 10:
        raise UserInputError("hops must be between 1 and 10")
    if q.since and q.until and q.since > q.until:
        raise UserInputError("--since is after --until")
    kind, seeds = resolve_seeds(store, q.subject)
    since = q.since or datetime(1900, 1, 1)
    until = q.until or datetime(2999, 12, 31)
    parts = []
    if q.direction in ("forward", "both"):
        parts.append(_direction(store, q, seeds, True, since, until))
    if q.direction in ("backward", "both"):
        parts.append(_direction(store, q, seeds, False, since, until))
    edges: list[dict[str, Any]] = [e for p in parts for e in p["edges"]]
    depth: dict[str, int] = {}
    for p in parts:
        for a, d in p["depth"].items():
            depth[a] = min(d, depth.get(a, d))
    traced_edges = [e for e in edges if e["traced_amount"] > 0]
    extra = {
        e["tx_id"]: {
            "hop": e["hop"],
            "direction": e["direction"],
            "traced_amount": e["traced_amount"],
            "traced_fraction": e["traced_fraction"],
        }
        for e in edges
    }
    elements = graph.build_elements(
        store, edges, set(depth), set(seeds), truncated=any(p["truncated"] for p in parts), edge_extra=extra
    )
    for n in elements["nodes"]:
        n["data"]["hop"] = depth.get(n["data"]["id"])
    fwd = [e for e in traced_edges if e["direction"] == "forward"]
    bwd = [e for e in traced_edges if e["direction"] == "backward"]
    seed_set = set(seeds)
    return {
        "subject": q.subject,
        "subject_kind": kind,
        "seeds": seeds,
        "direction": q.direction,
        "hops": q.hops,
        "since": q.since,
        "until": q.until,
        "accounts": len(depth),
        "transactions": len(edges),
        "traced_transactions": len(traced_edges),
        "truncated": elements["truncated"],
        "graph": elements,
        "timeline": [
            {
                k: e[k]
                for k in (
                    "tx_id",
                    "ts",
                    "from_account",
                    "to_account",
                    "amount_paid",
                    "payment_currency",
                    "hop",
                    "direction",
                    "traced_amount",
                    "traced_fraction",
                )
            }
            for e in sorted(edges, key=lambda e: (e["ts"], e["tx_id"]))
        ],
        # where the followed money rests (forward) and where it came from (backward)
        "endpoints": _net(fwd, seed_set, "to_account", "from_account", "forward"),
        "origins": _net(bwd, seed_set, "from_account", "to_account", "backward"),
    }


def _net(edges: list[dict[str, Any]], seeds: set[str], gain: str, loss: str, direction: str) -> list[dict[str, Any]]:
    net: dict[str, float] = {}
    for e in edges:
        net[e[gain]] = net.get(e[gain], 0.0) + e["traced_amount"]
        net[e[loss]] = net.get(e[loss], 0.0) - e["traced_amount"]
    rows: list[dict[str, Any]] = [
        {"account": a, "amount": round(v, 2), "direction": direction}
        for a, v in net.items()
        if v > 0.01 and a not in seeds
    ]
    rows.sort(key=lambda r: -r["amount"])
    return rows[:50]
