"""Concrete pattern instances behind one transaction's features, so an alert can draw them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filiere.errors import NotFoundError
from filiere.graph.config import FeatureConfig
from filiere.graph.reference import edges_from_table, instances


def pattern_instances(table: pa.Table, tx_id: str, config: FeatureConfig | None = None) -> list[dict[str, Any]]:
    """Fan, cycle, scatter-gather, bipartite, peel, pass-through and structuring instances of ``tx_id``.

    Each instance is ``{"pattern", "accounts", "tx_ids", ...}`` with the member transactions in
    (time, input) order; only transactions at or before ``tx_id`` count (the features are causal), and
    only those within the largest configured window (peel chains are drawn within it too).
    """
    config = config or FeatureConfig()
    ids = table.column("tx_id")
    pos = pc.index(ids, pa.scalar(str(tx_id), ids.type)).as_py()
    if pos is None or pos < 0:
        raise NotFoundError(f"transaction '{tx_id}' is not in the table")
    ts = table.column("ts").cast(pa.timestamp("us")).cast(pa.int64()).to_numpy()
    t = ts[pos]
    rows = np.arange(len(ts))
    keep = (ts >= t - config.max_window_us()) & ((ts < t) | ((ts == t) & (rows <= pos)))
    sub = table.filter(pa.array(keep))
    edges = edges_from_table(sub, config)
    i = next(k for k in range(len(edges) - 1, -1, -1) if edges[k].tx_id == str(tx_id))
    return instances(edges, i, config)
