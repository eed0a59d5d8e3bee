"""Networks and timelines for the UI: accounts as nodes, transactions as edges (Cytoscape elements)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from filiere.store.base import Store

#: above this many transactions a network is cut to the largest amounts (the UI says so)
MAX_EDGES = 2000


def transactions(store: Store, tx_ids: Sequence[str], limit: int = MAX_EDGES) -> list[dict[str, Any]]:
    """The transactions ``tx_ids`` (largest first when over ``limit``), with owner names."""
    if not tx_ids:
        return []
    return store.query_dicts(
        "SELECT t.tx_id, t.ts, t.from_account, t.to_account, t.amount_paid, t.payment_currency,"
        " t.amount_received, t.receiving_currency, t.payment_format,"
        " pf.name AS from_name, pt.name AS to_name"
        " FROM transactions t"
        " LEFT JOIN accounts af ON af.account_id = t.from_account"
        " LEFT JOIN parties pf ON pf.party_id = af.owner_party_id"
        " LEFT JOIN accounts ato ON ato.account_id = t.to_account"
        " LEFT JOIN parties pt ON pt.party_id = ato.owner_party_id"
        " WHERE t.tx_id IN (SELECT unnest(?::VARCHAR[]))"
        " ORDER BY t.amount_paid DESC LIMIT ?",
        [list(tx_ids), int(limit)],
    )


def network(
    store: Store, tx_ids: Sequence[str], focus_accounts: Sequence[str] = (), limit: int = MAX_EDGES
) -> dict[str, Any]:
    """Cytoscape elements of the transactions ``tx_ids`` plus the ``focus_accounts`` (highlighted)."""
    txs = transactions(store, tx_ids, limit)
    accounts: set[str] = set(focus_accounts)
    for t in txs:
        accounts.add(t["from_account"])
        accounts.add(t["to_account"])
    return build_elements(store, txs, accounts, set(focus_accounts), truncated=len(tx_ids) > len(txs))


def build_elements(
    store: Store,
    txs: list[dict[str, Any]],
    accounts: set[str],
    focus: set[str],
    *,
    truncated: bool = False,
    edge_extra: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    info: dict[str, dict[str, Any]] = {}
    if accounts:
        for r in store.query_dicts(
            "SELECT a.account_id, a.bank, a.kind, a.owner_party_id, p.name, p.schema, p.entity_type"
            " FROM accounts a LEFT JOIN parties p ON p.party_id = a.owner_party_id"
            " WHERE a.account_id IN (SELECT unnest(?::VARCHAR[]))",
            [sorted(accounts)],
        ):
            info[r["account_id"]] = r
    nodes = []
    for acc in sorted(accounts):
        r = info.get(acc, {})
        label = r.get("name") or acc
        nodes.append(
            {
                "data": {
                    "id": acc,
                    "label": label,
                    "account": acc,
                    "party_id": r.get("owner_party_id"),
                    "kind": r.get("kind") or "bank",
                    "entity_type": r.get("entity_type"),
                    "focus": acc in focus,
                }
            }
        )
    edges = []
    for t in txs:
        data = {
            "id": "e:" + t["tx_id"],
            "source": t["from_account"],
            "target": t["to_account"],
            "tx_id": t["tx_id"],
            "ts": str(t["ts"]),
            "amount": t["amount_paid"],
            "currency": t["payment_currency"],
            "format": t["payment_format"],
            "label": f"{t['amount_paid']:,.0f} {t['payment_currency']}",
        }
        if edge_extra and t["tx_id"] in edge_extra:
            data.update(edge_extra[t["tx_id"]])
        edges.append({"data": data})
    return {"nodes": nodes, "edges": edges, "truncated": truncated}


def timeline(txs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Transactions in time order (the UI's timeline)."""
    return sorted(txs, key=lambda t: (t["ts"], t["tx_id"]))
