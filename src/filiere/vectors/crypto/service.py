"""Crypto tracing against the workspace store: tags, trace, exposure, STIX, alerts."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from filiere.cases.alerts import insert_alerts
from filiere.errors import NotFoundError, UserInputError
from filiere.store.base import Store
from filiere.vectors.crypto.graph import CryptoGraph
from filiere.vectors.crypto.tagpacks import TAINT_CATEGORIES, load_tagpacks, tagged_accounts
from filiere.vectors.crypto.trace import (
    TraceResult,
    account_owners,
    cash_out_alerts,
    exposure,
    exposure_alerts,
    graph_from_store,
    party_wallets,
    trace,
)


def default_tagpacks(shared_data: Path) -> list[Path]:
    return sorted((shared_data / "crypto").glob("*.yaml"))


def load_tags(store: Store, paths: list[Path]) -> dict[str, int]:
    if not paths:
        raise UserInputError("no tagpack given and none found in the shared data folder")
    return load_tagpacks(store, paths)


def services(store: Store) -> dict[str, str | None]:
    return {a: lbl for a, (_c, lbl) in tagged_accounts(store, ["exchange"]).items()}


def resolve(g: CryptoGraph, address: str) -> str:
    """``chain:address`` as stored, from a bare address or a prefixed one."""
    ix = g.index()
    if address in ix:
        return address
    for chain in ("BTC", "XBT", "ETH", "USDT", "LTC"):
        if f"{chain}:{address}" in ix:
            return f"{chain}:{address}"
    raise NotFoundError(f"address {address} does not appear in the crypto transfers of this workspace")


def trace_addresses(
    store: Store,
    addresses: list[str],
    *,
    method: str = "haircut",
    max_hops: int = 32,
    raise_alerts: bool = True,
    graph: CryptoGraph | None = None,
) -> tuple[TraceResult, int]:
    g = graph or graph_from_store(store)
    sources = [resolve(g, a) for a in addresses]
    result = trace(g, sources, services=services(store), method=method, max_hops=max_hops)
    n = 0
    if raise_alerts and result.cash_outs:
        tags = tagged_accounts(store, list(TAINT_CATEGORIES))
        owners = account_owners(store, [c.account_id for c in result.cash_outs])
        n = insert_alerts(store, cash_out_alerts(result, owners, tags))
    return result, n


def tagged_sources(
    store: Store, graph: CryptoGraph | None = None, categories: tuple[str, ...] = TAINT_CATEGORIES
) -> list[str]:
    """Tagged addresses (ransomware, terrorism, sanctions by default) that appear in the workspace's transfers."""
    g = graph or graph_from_store(store)
    ix = g.index()
    return sorted(a for a in tagged_accounts(store, list(categories)) if a in ix)


def trace_tagged(
    store: Store, *, method: str = "haircut", max_hops: int = 32, raise_alerts: bool = True
) -> list[tuple[TraceResult, int]]:
    """Trace from every tagged source seen in the transfers, one at a time (one result each)."""
    g = graph_from_store(store)
    return [
        trace_addresses(store, [a], method=method, max_hops=max_hops, raise_alerts=raise_alerts, graph=g)
        for a in tagged_sources(store, g)
    ]


def exposure_for(
    store: Store,
    *,
    party_id: str | None = None,
    wallets: list[str] | None = None,
    max_hops: int = 3,
    method: str = "haircut",
    categories: tuple[str, ...] = TAINT_CATEGORIES,
    raise_alerts: bool = True,
    threshold: float = 0.05,
) -> tuple[pa.Table, int]:
    g = graph_from_store(store)
    ws = list(wallets or [])
    if party_id:
        ws += party_wallets(store, party_id)
        if not ws:
            raise NotFoundError(f"party {party_id} has no crypto account")
    if not ws:
        raise UserInputError("give a party id or at least one wallet")
    ws = [resolve(g, w) for w in ws if w in g.index() or any(f"{c}:{w}" in g.index() for c in ("BTC", "XBT", "ETH"))]
    tags = tagged_accounts(store, list(categories))
    table = exposure(g, ws, tags, max_hops=max_hops, method=method, services=services(store))
    n = 0
    if raise_alerts and table.num_rows:
        owners = account_owners(store, ws)
        n = insert_alerts(store, exposure_alerts(table, owners, threshold=threshold, max_hops=max_hops))
    return table, n


def stix_for(store: Store, addresses: list[str], *, method: str = "haircut", max_hops: int = 32) -> str:
    from filiere.vectors.crypto.stix import bundle_for

    g = graph_from_store(store)
    results = [
        trace_addresses(store, [a], method=method, max_hops=max_hops, raise_alerts=False, graph=g)[0] for a in addresses
    ]
    tags = tagged_accounts(store, ["ransomware", "terrorism", "sanctions", "other"])
    return bundle_for(results, tags)
