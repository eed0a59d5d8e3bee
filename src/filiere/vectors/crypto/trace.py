"""Tracing from tagged addresses to cash-out points, and exposure of customers' wallets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from filiere.cases.alerts import AlertRecord
from filiere.errors import NotFoundError
from filiere.store.base import Store
from filiere.vectors.crypto.graph import CryptoGraph, Taint, propagate

CRYPTO_CODES = ("XBT", "BTC", "ETH", "USDT", "LTC", "XMR", "BCH", "TRX", "USDC")
#: share of a wallet's inflows from tagged sources from which an exposure alert is raised
EXPOSURE_ALERT = 0.05


def graph_from_store(store: Store) -> CryptoGraph:
    """The crypto transfers of the workspace (payment format Bitcoin, or a crypto currency)."""
    codes = ", ".join(f"'{c}'" for c in CRYPTO_CODES)
    table = store.query_arrow(
        f"SELECT from_account, to_account, amount_paid AS amount, ts FROM transactions "
        f"WHERE payment_format = 'Bitcoin' OR payment_currency IN ({codes})"
    )
    if table.num_rows == 0:
        raise NotFoundError("no crypto transfers in this workspace (payment format Bitcoin or a crypto currency)")
    return CryptoGraph.from_table(table)


@dataclass(slots=True)
class CashOut:
    account_id: str
    label: str | None
    hop: int
    tainted_value: float
    share_of_source: float
    share_of_inflow: float


@dataclass(slots=True)
class TraceResult:
    sources: list[str]
    method: str
    max_hops: int
    emitted: float  # tainted value that left the sources
    hops: list[dict[str, Any]]
    cash_outs: list[CashOut]
    reached: int
    edges_scanned: int
    taint: Taint | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sources": self.sources,
            "method": self.method,
            "max_hops": self.max_hops,
            "emitted": self.emitted,
            "reached_addresses": self.reached,
            "edges_scanned": self.edges_scanned,
            "hops": self.hops,
            "cash_outs": [asdict(c) for c in self.cash_outs],
        }


def trace(
    g: CryptoGraph,
    sources: list[str],
    *,
    services: dict[str, str | None] | None = None,
    method: str = "haircut",
    max_hops: int = 32,
    min_value: float = 0.0,
) -> TraceResult:
    """Follow value from ``sources`` through hops (peel chains) to service addresses (cash-outs).

    ``services`` maps service account ids (exchanges) to a label; they end the trace.
    """
    seeds = g.ids(sources)
    if len(seeds) == 0:
        raise NotFoundError(f"none of {', '.join(sources[:3])} appears in the crypto transfers")
    services = services or {}
    stop = g.mask(set(services))
    t = propagate(g, seeds, method=method, max_hops=max_hops, stop=stop)
    src_e = g.src[t.edge_ids]
    emitted = float(t.edge_taint[np.isin(src_e, seeds)].sum())
    reached = t.hop >= 0
    hops: list[dict[str, Any]] = []
    hop_r = t.hop[reached]
    tin = t.taint_in[reached]
    tot = t.total_in[reached]
    for h in range(1, int(hop_r.max()) + 1 if len(hop_r) else 1):
        m = (hop_r == h) & (tin > 0)
        if not m.any():
            continue
        hops.append(
            {
                "hop": h,
                "addresses": int(m.sum()),
                "tainted_value": float(tin[m].sum()),
                "total_inflow": float(tot[m].sum()),
                "tainted_share": float(tin[m].sum() / max(tot[m].sum(), 1e-12)),
            }
        )
    cash: list[CashOut] = []
    idx = np.flatnonzero(stop & (t.taint_in > min_value) & reached)
    idx = idx[np.argsort(-t.taint_in[idx], kind="stable")]
    for i in idx.tolist():
        acc = str(g.nodes[i])
        cash.append(
            CashOut(
                account_id=acc,
                label=services.get(acc),
                hop=int(t.hop[i]),
                tainted_value=float(t.taint_in[i]),
                share_of_source=float(t.taint_in[i] / emitted) if emitted > 0 else 0.0,
                share_of_inflow=float(t.taint_in[i] / max(t.total_in[i], 1e-12)),
            )
        )
    return TraceResult(
        sources=[str(g.nodes[s]) for s in seeds],
        method=method,
        max_hops=max_hops,
        emitted=emitted,
        hops=hops,
        cash_outs=cash,
        reached=int(reached.sum()),
        edges_scanned=len(t.edge_ids),
        taint=t,
    )


def exposure(
    g: CryptoGraph,
    wallets: list[str],
    tagged: dict[str, tuple[str, str | None]],
    *,
    max_hops: int = 3,
    method: str = "haircut",
    services: dict[str, str | None] | None = None,
) -> pa.Table:
    """Per wallet and tag category: the share of its inflows that comes from tagged sources within
    ``max_hops`` (haircut: value-weighted; poison: any contact counts in full), and the direct share."""
    w_idx = g.ids(wallets)
    stop = g.mask(set(services or {}))
    cats = sorted({c for c, _ in tagged.values()})
    out: dict[str, list[Any]] = {
        k: []
        for k in ("wallet", "category", "exposure", "tainted_value", "total_inflow", "direct_share", "nearest_hop")
    }
    for cat in cats:
        seeds = g.ids([a for a, (c, _) in tagged.items() if c == cat])
        if len(seeds) == 0:
            continue
        t = propagate(g, seeds, method=method, max_hops=max_hops, stop=stop)
        # direct: inflows straight from a seed
        e = t.edge_ids
        from_seed = np.isin(g.src[e], seeds)
        direct = np.bincount(g.dst[e][from_seed], weights=g.amount[e][from_seed], minlength=g.n_nodes)
        for i in w_idx.tolist():
            if t.taint_in[i] <= 0:
                continue
            total = max(float(t.total_in[i]), 1e-12)
            out["wallet"].append(str(g.nodes[i]))
            out["category"].append(cat)
            out["exposure"].append(min(1.0, float(t.taint_in[i]) / total))
            out["tainted_value"].append(float(t.taint_in[i]))
            out["total_inflow"].append(float(t.total_in[i]))
            out["direct_share"].append(min(1.0, float(direct[i]) / total))
            out["nearest_hop"].append(int(t.hop[i]))
    return pa.table(out)


def cash_out_alerts(
    result: TraceResult, owners: dict[str, str], tags: dict[str, tuple[str, str | None]]
) -> list[AlertRecord]:
    """One SPOVC alert per cash-out point reached by tainted value."""
    out: list[AlertRecord] = []
    src_desc = ", ".join(
        f"{s} ({tags[s][0]}{': ' + str(tags[s][1]) if tags.get(s) and tags[s][1] else ''})" if s in tags else s
        for s in result.sources[:3]
    )
    for c in result.cash_outs:
        score = min(1.0, 0.5 + 0.5 * c.share_of_inflow)
        out.append(
            AlertRecord(
                source="crypto",
                title=(
                    f"Tainted funds cashed out at {c.label or c.account_id} "
                    f"({c.tainted_value:.4g} from {result.sources[0]})"
                ),
                score=score,
                dedup_key=f"trace|{'|'.join(result.sources)}|{c.account_id}|{result.method}",
                typology="ransomware-cash-out"
                if any(tags.get(s, ("",))[0] == "ransomware" for s in result.sources)
                else "tainted-crypto-cash-out",
                vector="cyber",
                indicator_codes=["SPOVC"],
                account_ids=[c.account_id, *result.sources],
                party_ids=[owners[c.account_id]] if c.account_id in owners else [],
                explanation={
                    "summary": (
                        f"{c.tainted_value:.6g} of tainted value from {src_desc} reaches {c.account_id} at hop {c.hop} "
                        f"({c.share_of_source:.1%} of what left the source; {c.share_of_inflow:.1%} of its inflow), "
                        f"{result.method} method"
                    ),
                    "method": result.method,
                    "hops": result.hops,
                    "cash_out": asdict(c),
                },
            )
        )
    return out


def exposure_alerts(
    table: pa.Table, owners: dict[str, str], *, threshold: float = EXPOSURE_ALERT, max_hops: int = 3
) -> list[AlertRecord]:
    out: list[AlertRecord] = []
    for r in table.to_pylist():
        if r["exposure"] < threshold:
            continue
        codes = ["SPOVC", "SPOSI"] if r["category"] == "sanctions" else ["SPOVC"]
        out.append(
            AlertRecord(
                source="crypto",
                title=(
                    f"Wallet {r['wallet']}: {r['exposure']:.1%} of inflows "
                    f"from {r['category']} sources within {max_hops} hops"
                ),
                score=min(1.0, 0.4 + r["exposure"]),
                dedup_key=f"exposure|{r['wallet']}|{r['category']}",
                typology=f"{r['category']}-exposure",
                vector="cyber" if r["category"] == "ransomware" else "financial-crime",
                indicator_codes=codes,
                account_ids=[r["wallet"]],
                party_ids=[owners[r["wallet"]]] if r["wallet"] in owners else [],
                explanation={
                    "summary": (
                        f"exposure {r['exposure']:.3f} (direct {r['direct_share']:.3f}), "
                        f"nearest tagged source {r['nearest_hop']} hops away"
                    ),
                    "exposure": r,
                },
            )
        )
    return out


def account_owners(store: Store, accounts: list[str]) -> dict[str, str]:
    if not accounts:
        return {}
    rows = store.query(
        "SELECT account_id, owner_party_id FROM accounts WHERE owner_party_id IS NOT NULL "
        f"AND account_id IN ({', '.join('?' for _ in accounts)})",
        accounts,
    )
    return {str(a): str(p) for a, p in rows}


def party_wallets(store: Store, party_id: str) -> list[str]:
    rows = store.query("SELECT account_id FROM accounts WHERE owner_party_id = ? AND kind = 'crypto'", [party_id])
    return [str(r[0]) for r in rows]
