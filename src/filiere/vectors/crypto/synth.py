"""Synthetic ransomware worlds: payments → consolidation → peel chain → exchange cash-out, among
background flows, with ground truth (vectorised numpy; scheme edges are few and built in a loop).

Addresses: ``users`` (background wallets, power-law activity), exchanges (a hot wallet each and
deposit addresses, tagged ``exchange``), and per scheme a ransom address (tagged ``ransomware``), a
consolidation address and the peel-chain addresses. Each peel sends 3-12% of the balance to an
exchange deposit address (one in five through an intermediate wallet) and the rest to the next
address; the last address cashes out everything. Dust from background wallets lands on chain
addresses, so their balances are not wholly tainted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from filiere.model.schemas import ACCOUNT_SCHEMA, PARTY_SCHEMA, TRANSACTION_SCHEMA
from filiere.vectors.crypto.graph import CryptoGraph
from filiere.vectors.crypto.tagpacks import TAG_ARROW

FAMILIES = ("LockBit", "Conti", "REvil", "BlackCat", "Ryuk", "Maze", "DarkSide", "Hive")


@dataclass(slots=True)
class Scheme:
    ransom: str
    family: str
    chain: list[str]
    cash_outs: dict[str, float]  # deposit account id -> value cashed out there
    paid: float


@dataclass(slots=True)
class RansomWorld:
    nodes: npt.NDArray[np.object_]
    src: npt.NDArray[np.int64]
    dst: npt.NDArray[np.int64]
    amount: npt.NDArray[np.float64]
    ts: npt.NDArray[np.int64]  # seconds since ``epoch``
    is_scheme: npt.NDArray[np.bool_]
    tags: pa.Table
    schemes: list[Scheme]
    owners: dict[int, str] = field(default_factory=dict)  # node -> party id (exchange customers)
    epoch: datetime = datetime(2024, 1, 1)

    def graph(self) -> CryptoGraph:
        return CryptoGraph.from_arrays(self.src, self.dst, self.amount, self.ts, self.nodes)

    def services(self) -> dict[str, str | None]:
        t = self.tags.filter(pa.compute.equal(self.tags.column("category"), "exchange"))
        return {
            f"{c}:{a}": lbl
            for c, a, lbl in zip(
                t.column("chain").to_pylist(),
                t.column("address").to_pylist(),
                t.column("label").to_pylist(),
                strict=True,
            )
        }

    def transactions(self) -> pa.Table:
        n = len(self.src)
        ids = np.char.add("CRY", np.char.zfill(np.arange(n).astype(str), 9))
        ts = np.datetime64(self.epoch, "us") + (self.ts * 1_000_000).astype("timedelta64[us]")
        frm = self.nodes[self.src].astype(str)
        to = self.nodes[self.dst].astype(str)
        return pa.table(
            {
                "tx_id": ids,
                "ts": pa.array(ts, pa.timestamp("us")),
                "from_bank": np.full(n, "BTC"),
                "from_account": frm,
                "to_bank": np.full(n, "BTC"),
                "to_account": to,
                "amount_received": self.amount,
                "receiving_currency": np.full(n, "XBT"),
                "amount_paid": self.amount,
                "payment_currency": np.full(n, "XBT"),
                "payment_format": np.full(n, "Bitcoin"),
                "is_laundering": self.is_scheme,
                "source_file_id": np.full(n, "synthetic:ransomware"),
                "source_row": np.arange(1, n + 1),
                "properties": pa.nulls(n, pa.string()),
            },
            schema=TRANSACTION_SCHEMA,
        )

    def accounts(self) -> pa.Table:
        n = len(self.nodes)
        ids = self.nodes.astype(str)
        owner = np.full(n, None, dtype=object)
        for i, p in self.owners.items():
            owner[i] = p
        return pa.table(
            {
                "account_id": ids,
                "bank": np.full(n, "BTC"),
                "account_number": np.char.partition(ids, ":")[:, 2],
                "bank_name": np.full(n, "Bitcoin"),
                "currency": np.full(n, "XBT"),
                "kind": np.full(n, "crypto"),
                "owner_party_id": pa.array(owner.tolist(), pa.string()),
                "properties": pa.nulls(n, pa.string()),
                "source_file_id": np.full(n, "synthetic:ransomware"),
            },
            schema=ACCOUNT_SCHEMA,
        )

    def parties(self) -> pa.Table:
        ids = sorted(set(self.owners.values()))
        n = len(ids)
        nulls = pa.nulls(n, pa.string())
        return pa.table(
            {
                "party_id": ids,
                "schema": np.full(n, "Person"),
                "name": [f"Exchange customer {p.rsplit('-', 1)[-1]}" for p in ids],
                "birth_date": nulls,
                "nationality": nulls,
                "country": nulls,
                "address": nulls,
                "phone": nulls,
                "email": nulls,
                "id_number": nulls,
                "entity_type": np.full(n, "individual"),
                "properties": nulls,
                "source_file_id": np.full(n, "synthetic:ransomware"),
            },
            schema=PARTY_SCHEMA,
        )


def _names(prefix: str, n: int) -> npt.NDArray[np.object_]:
    return np.char.add(f"BTC:{prefix}", np.char.zfill(np.arange(n).astype(str), 9)).astype(object)


def generate(
    n_edges: int = 200_000,
    *,
    n_users: int | None = None,
    n_exchanges: int = 20,
    deposits_per_exchange: int = 200,
    n_schemes: int = 10,
    chain_len: tuple[int, int] = (10, 40),
    days: int = 365,
    seed: int = 11,
) -> RansomWorld:
    rng = np.random.default_rng(seed)
    U = n_users or max(1000, n_edges // 5)
    X = n_exchanges
    D = X * deposits_per_exchange
    horizon = days * 86400
    users = _names("bc1quser", U)
    hots = _names("bc1qhot", X)
    deps = _names("bc1qdep", D)
    dep_exchange = np.repeat(np.arange(X), deposits_per_exchange)
    base_nodes = np.concatenate([users, hots, deps])
    HOT0, DEP0 = U, U + X

    # background
    n_bg = n_edges - n_schemes * (2 * chain_len[1] + 12)
    n_bg = max(n_bg, n_edges // 2)
    w = rng.pareto(1.5, U) + 0.05
    p = w / w.sum()
    kind = rng.choice(4, n_bg, p=[0.5, 0.22, 0.2, 0.08])  # user→user, user→deposit, hot→user, deposit→hot
    a_user = rng.choice(U, n_bg, p=p)
    b_user = rng.choice(U, n_bg, p=p)
    dep = rng.integers(0, D, n_bg)
    hot = rng.integers(0, X, n_bg)
    src = np.where(kind == 0, a_user, np.where(kind == 1, a_user, np.where(kind == 2, HOT0 + hot, DEP0 + dep)))
    dst = np.where(
        kind == 0, b_user, np.where(kind == 1, DEP0 + dep, np.where(kind == 2, b_user, HOT0 + dep_exchange[dep]))
    )
    same = src == dst
    dst[same] = (dst[same] + 1) % U
    amt = np.round(rng.lognormal(-2.0, 1.5, n_bg), 8)
    ts = rng.integers(0, horizon, n_bg)

    extra_nodes: list[str] = []
    e_src: list[int] = []
    e_dst: list[int] = []
    e_amt: list[float] = []
    e_ts: list[int] = []
    base = len(base_nodes)
    schemes: list[Scheme] = []
    tag_rows: dict[str, list[str | None]] = {k: [] for k in TAG_ARROW.names}

    def node(name: str) -> int:
        extra_nodes.append(name)
        return base + len(extra_nodes) - 1

    def edge(a: int, b: int, v: float, t: int) -> None:
        e_src.append(a)
        e_dst.append(b)
        e_amt.append(round(v, 8))
        e_ts.append(t)

    for s in range(n_schemes):
        fam = FAMILIES[s % len(FAMILIES)]
        ransom = node(f"BTC:bc1qransom{s:05d}")
        cons = node(f"BTC:bc1qcons{s:05d}")
        t = int(rng.integers(0, horizon // 2))
        paid = 0.0
        for _ in range(int(rng.integers(1, 5))):
            v = float(rng.uniform(2, 30))
            edge(HOT0 + int(rng.integers(0, X)), ransom, v, t)
            paid += v
            t += int(rng.integers(600, 86400))
        edge(ransom, cons, paid, t)
        bal = paid
        cur = cons
        L = int(rng.integers(chain_len[0], chain_len[1] + 1))
        chain: list[str] = [extra_nodes[ransom - base], extra_nodes[cons - base]]
        cash: dict[str, float] = {}
        for i in range(L):
            t += int(rng.integers(300, 6 * 3600))
            if rng.random() < 0.3:  # dust from a background wallet
                edge(int(rng.choice(U, p=p)), cur, float(rng.lognormal(-5, 1)), t - 60)
            d = DEP0 + int(rng.integers(0, D))
            peel = bal * float(rng.uniform(0.03, 0.12)) if i < L - 1 else bal
            if rng.random() < 0.2 and i < L - 1:
                mid = node(f"BTC:bc1qmid{s:05d}{i:03d}")
                edge(cur, mid, peel, t)
                edge(mid, d, peel, t + int(rng.integers(60, 3600)))
                chain.append(extra_nodes[mid - base])
            else:
                edge(cur, d, peel, t)
            dname = str(base_nodes[d])
            cash[dname] = cash.get(dname, 0.0) + peel
            bal -= peel
            if i < L - 1:
                nxt = node(f"BTC:bc1qpeel{s:05d}{i:03d}")
                edge(cur, nxt, bal, t)
                chain.append(extra_nodes[nxt - base])
                cur = nxt
        schemes.append(Scheme(extra_nodes[ransom - base], fam, chain, cash, paid))
        for col, val in (
            ("chain", "BTC"),
            ("address", extra_nodes[ransom - base][4:]),
            ("label", fam),
            ("category", "ransomware"),
            ("tagpack", "synthetic_ransomware"),
            ("source", "synthetic"),
            ("confidence", "ground_truth"),
        ):
            tag_rows[col].append(val)
    for i in range(X):
        for name in (hots[i], *deps[dep_exchange == i]):
            for col, val in (
                ("chain", "BTC"),
                ("address", str(name)[4:]),
                ("label", f"Exchange {i:02d}"),
                ("category", "exchange"),
                ("tagpack", "synthetic_exchanges"),
                ("source", "synthetic"),
                ("confidence", "ground_truth"),
            ):
                tag_rows[col].append(val)

    nodes = np.concatenate([base_nodes, np.asarray(extra_nodes, dtype=object)])
    all_src = np.concatenate([src, np.asarray(e_src, dtype=np.int64)])
    all_dst = np.concatenate([dst, np.asarray(e_dst, dtype=np.int64)])
    owners = {DEP0 + j: f"XCUST-{j:06d}" for j in range(D)}
    return RansomWorld(
        nodes=nodes,
        src=all_src.astype(np.int64),
        dst=all_dst.astype(np.int64),
        amount=np.concatenate([amt, np.asarray(e_amt)]),
        ts=np.concatenate([ts, np.asarray(e_ts, dtype=np.int64)]),
        is_scheme=np.concatenate([np.zeros(n_bg, dtype=bool), np.ones(len(e_src), dtype=bool)]),
        tags=pa.table(tag_rows, schema=TAG_ARROW),
        schemes=schemes,
        owners=owners,
    )
