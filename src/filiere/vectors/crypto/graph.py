"""Crypto transfer graph in CSR arrays and compiled tracing kernels (numba).

Nodes are addresses (``chain:address`` account ids); edges are transfers with an amount and a time.
Tracing runs in two compiled passes:

1. ``temporal_reach``: from the seed addresses, a hop-limited, time-respecting search over the CSR
   out-edges (an edge is usable only at or after the time its source was first reached); it stops
   at service addresses (exchanges), where value leaves the chain into custodial books.
2. ``taint_scan``: the edges touching reached addresses, in time order, carry taint:

   - **haircut** (proportional): an address's balance is a mix; each outgoing transfer carries the
     tainted share of the balance at that moment (``taint * amount / max(balance, amount)``). Taint
     is conserved: what seeds emitted is, at the end, held by addresses (or returned to seeds).
   - **poison**: an address that has received any tainted value is wholly tainted from then on; every
     later outgoing transfer is tainted in full. An upper bound, not conserved.

   Addresses at the hop limit and service addresses keep the taint they receive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from filiere._lazy import require

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

METHODS = ("haircut", "poison")

_KERNELS: dict[str, Any] = {}


def _kernels() -> dict[str, Any]:
    if _KERNELS:
        return _KERNELS
    numba: Any = require("numba", "graph")
    njit = numba.njit

    @njit(cache=True, nogil=True)
    def temporal_reach(out_ptr, out_dst, out_ts, seeds, stop, max_hops):  # type: ignore[no-untyped-def]
        n = out_ptr.shape[0] - 1
        big = np.iinfo(np.int64).max
        arrival = np.full(n, big, dtype=np.int64)
        hop = np.full(n, -1, dtype=np.int32)
        frontier = np.empty(n, dtype=np.int64)
        nxt = np.empty(n, dtype=np.int64)
        queued = np.zeros(n, dtype=np.bool_)
        nf = 0
        for s in seeds:
            arrival[s] = np.iinfo(np.int64).min
            hop[s] = 0
            frontier[nf] = s
            nf += 1
        for h in range(1, max_hops + 1):
            nn = 0
            for i in range(nf):
                u = frontier[i]
                if stop[u] and hop[u] > 0:
                    continue
                t0 = arrival[u]
                for e in range(out_ptr[u], out_ptr[u + 1]):
                    if out_ts[e] < t0:
                        continue
                    v = out_dst[e]
                    if out_ts[e] < arrival[v]:
                        arrival[v] = out_ts[e]
                        if hop[v] < 0:
                            hop[v] = h
                        if not queued[v]:
                            queued[v] = True
                            nxt[nn] = v
                            nn += 1
            for i in range(nn):
                queued[nxt[i]] = False
                frontier[i] = nxt[i]
            nf = nn
            if nf == 0:
                break
        return hop, arrival

    @njit(cache=True, nogil=True)
    def taint_scan(edges, src, dst, amt, is_seed, stop, hop, max_hops, poison):  # type: ignore[no-untyped-def]
        n = is_seed.shape[0]
        bal = np.zeros(n, dtype=np.float64)
        taint = np.zeros(n, dtype=np.float64)
        taint_in = np.zeros(n, dtype=np.float64)
        total_in = np.zeros(n, dtype=np.float64)
        poisoned = np.zeros(n, dtype=np.bool_)
        edge_taint = np.zeros(edges.shape[0], dtype=np.float64)
        for k in range(edges.shape[0]):
            e = edges[k]
            u = src[e]
            v = dst[e]
            a = amt[e]
            t = 0.0
            if is_seed[u]:
                t = a
            elif hop[u] >= 0 and hop[u] < max_hops and not stop[u]:
                if poison:
                    t = a if poisoned[u] else 0.0
                elif taint[u] > 0.0:
                    t = a * taint[u] / max(bal[u], a)
                    if t > taint[u]:
                        t = taint[u]
                    taint[u] -= t
            bal[u] = max(bal[u] - a, 0.0)
            if not poison and taint[u] > bal[u]:
                bal[u] = taint[u]
            bal[v] += a
            total_in[v] += a
            if t > 0.0:
                edge_taint[k] = t
                taint_in[v] += t
                if not is_seed[v]:
                    taint[v] += t
                    poisoned[v] = True
        return edge_taint, taint, taint_in, total_in

    _KERNELS["temporal_reach"] = temporal_reach
    _KERNELS["taint_scan"] = taint_scan
    return _KERNELS


@dataclass(slots=True)
class CryptoGraph:
    """Transfers as arrays; ``nodes[i]`` is the account id of node ``i``."""

    nodes: npt.NDArray[np.object_]
    src: I64
    dst: I64
    amount: F64
    ts: I64  # microseconds since the epoch (or any monotone integer clock)
    out_ptr: I64
    out_dst: I64
    out_ts: I64
    time_order: I64
    _index: dict[str, int] | None = None

    @classmethod
    def from_arrays(
        cls, src: I64, dst: I64, amount: F64, ts: I64, nodes: npt.NDArray[np.object_] | list[str]
    ) -> CryptoGraph:
        src = np.asarray(src, dtype=np.int64)
        dst = np.asarray(dst, dtype=np.int64)
        ts = np.asarray(ts, dtype=np.int64)
        node_arr = np.asarray(nodes, dtype=object)
        n = len(node_arr)
        order = np.lexsort((ts, src))
        counts = np.bincount(src, minlength=n)
        out_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=out_ptr[1:])
        return cls(
            nodes=node_arr,
            src=src,
            dst=dst,
            amount=np.asarray(amount, dtype=np.float64),
            ts=ts,
            out_ptr=out_ptr,
            out_dst=np.ascontiguousarray(dst[order]),
            out_ts=np.ascontiguousarray(ts[order]),
            time_order=np.argsort(ts, kind="stable").astype(np.int64),
        )

    @classmethod
    def from_table(cls, table: pa.Table) -> CryptoGraph:
        """From an Arrow table with ``from_account, to_account, amount, ts`` (timestamp or integer)."""
        both = pa.chunked_array(table.column("from_account").chunks + table.column("to_account").chunks)
        enc = pc.dictionary_encode(both).combine_chunks()
        idx = np.asarray(enc.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        m = table.num_rows
        ts_col = table.column("ts")
        if pa.types.is_timestamp(ts_col.type):
            ts_col = pc.cast(pc.cast(ts_col, pa.timestamp("us")), pa.int64())
        ts = np.asarray(ts_col.to_numpy(), dtype=np.int64)
        nodes = np.asarray(enc.dictionary.to_pylist(), dtype=object)
        amount = np.asarray(table.column("amount").to_numpy(), dtype=np.float64)
        return cls.from_arrays(idx[:m], idx[m:], amount, ts, nodes)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_edges(self) -> int:
        return len(self.src)

    def index(self) -> dict[str, int]:
        if self._index is None:
            self._index = {str(a): i for i, a in enumerate(self.nodes.tolist())}
        return self._index

    def ids(self, addresses: list[str]) -> I64:
        ix = self.index()
        return np.array([ix[a] for a in addresses if a in ix], dtype=np.int64)

    def mask(self, addresses: list[str] | set[str]) -> B:
        m = np.zeros(self.n_nodes, dtype=bool)
        m[self.ids(list(addresses))] = True
        return m


@dataclass(slots=True)
class Taint:
    method: str
    hop: npt.NDArray[np.int32]  # -1: not reached
    taint_held: F64  # taint each address still holds at the end (haircut) / 0 (poison)
    taint_in: F64  # tainted value each address received
    total_in: F64  # all value each address received (over the edges scanned)
    edge_ids: I64  # edges scanned, in time order
    edge_taint: F64  # taint each of them carried
    seeds: I64


def propagate(
    g: CryptoGraph,
    seeds: I64,
    *,
    method: str = "haircut",
    max_hops: int = 32,
    stop: B | None = None,
) -> Taint:
    """Reach and taint from ``seeds`` (node indices) with ``method`` (haircut | poison)."""
    if method not in METHODS:
        raise ValueError(f"unknown tracing method {method!r} (use one of {', '.join(METHODS)})")
    k = _kernels()
    stop_m = np.zeros(g.n_nodes, dtype=bool) if stop is None else stop
    stop_m = stop_m.copy()
    seeds = np.unique(np.asarray(seeds, dtype=np.int64))
    stop_m[seeds] = False
    hop, _arrival = k["temporal_reach"](g.out_ptr, g.out_dst, g.out_ts, seeds, stop_m, int(max_hops))
    reached = hop >= 0
    to = g.time_order
    rel = to[reached[g.src[to]] | reached[g.dst[to]]]
    is_seed = np.zeros(g.n_nodes, dtype=bool)
    is_seed[seeds] = True
    edge_taint, held, taint_in, total_in = k["taint_scan"](
        rel, g.src, g.dst, g.amount, is_seed, stop_m, hop, int(max_hops), method == "poison"
    )
    return Taint(method, hop, held, taint_in, total_in, rel, edge_taint, seeds)
