"""Every typology is present and structurally valid; labels, ratios and truth agree with the files."""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pv
import pytest

from filiere.scenario import generate
from filiere.scenario.schemes import AML_TYPES, TF_TYPES

NAMES = ["ts", "fb", "fa", "tb", "ta", "recv", "rcur", "paid", "pcur", "fmt", "label"]


@dataclass
class Row:
    ts: datetime
    src: str
    dst: str
    recv: float
    rcur: str
    paid: float
    pcur: str
    fmt: str
    label: int


class World:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.truth: dict[str, Any] = json.loads((folder / "truth.json").read_text())
        t = pv.read_csv(
            folder / "transactions.csv",
            read_options=pv.ReadOptions(column_names=NAMES, skip_rows=1),
            convert_options=pv.ConvertOptions(column_types=dict.fromkeys(NAMES, pa.string())),
        )
        self.cols = {n: t.column(n).to_pylist() for n in NAMES}
        self.n = t.num_rows

    def row(self, r: int) -> Row:
        c, i = self.cols, r - 1
        return Row(
            datetime.strptime(c["ts"][i], "%Y/%m/%d %H:%M"),
            f"{c['fb'][i]}:{c['fa'][i]}",
            f"{c['tb'][i]}:{c['ta'][i]}",
            float(c["recv"][i]),
            c["rcur"][i],
            float(c["paid"][i]),
            c["pcur"][i],
            c["fmt"][i],
            int(c["label"][i]),
        )

    def schemes(self, pattern: str) -> list[dict[str, Any]]:
        """Whole schemes of ``pattern`` (those cut by the world's period lack their first or last rows)."""
        return [s for s in self.truth["schemes"] if s["pattern"] == pattern and not s["notes"].get("cut_by_period")]

    def rows_of(self, s: dict[str, Any]) -> list[Row]:
        """The scheme's rows in its own order (truth.json lists chains hop by hop)."""
        return [self.row(r) for r in s["rows"]]


@pytest.fixture(scope="module")
def sahel(sahel_world: Path) -> World:
    return World(sahel_world)


@pytest.fixture(scope="module")
def hi(hi_world: Path) -> World:
    return World(hi_world)


def _degree(detail: str) -> int:
    return int(detail.split("Max ")[1].split("-")[0].split(" ")[0])


def test_every_typology_present(sahel: World, hi: World) -> None:
    assert {s["pattern"] for s in sahel.truth["schemes"]} >= set(AML_TYPES) | set(TF_TYPES) | {"INTEGRATION"}
    assert {s["pattern"] for s in hi.truth["schemes"]} >= set(AML_TYPES)


@pytest.mark.parametrize("name", ["sahel", "hi"])
def test_labels_match_truth(name: str, request: pytest.FixtureRequest) -> None:
    w: World = request.getfixturevalue(name)
    illicit = [i + 1 for i, v in enumerate(w.cols["label"]) if v == "1"]
    in_truth = sorted(r for s in w.truth["schemes"] for r in s["rows"])
    assert len(set(in_truth)) == len(in_truth)
    assert illicit == in_truth  # every labelled row in exactly one scheme, and nothing else labelled
    assert len(illicit) == w.truth["illicit_rows"]
    context = [r for s in w.truth["schemes"] for r in s["context_rows"]]
    assert context and all(w.cols["label"][r - 1] == "0" for r in context)


@pytest.mark.parametrize(("name", "ratio"), [("sahel", 1 / 1000), ("hi", 1 / 1000)])
def test_ratios(name: str, ratio: float, request: pytest.FixtureRequest) -> None:
    w: World = request.getfixturevalue(name)
    t = w.truth
    assert t["rows"] == w.n
    assert 0.9 * ratio <= t["illicit_rows"] / w.n <= 1.25 * ratio
    assert 0.2 <= t["untyped_rows"] / t["illicit_rows"] <= 0.45


def test_li_ratio(tmp_path: Path) -> None:
    generate("amlworld-li", 200_000, 3, tmp_path)
    t = json.loads((tmp_path / "truth.json").read_text())
    assert 0.9 / 2000 <= t["illicit_rows"] / t["rows"] <= 1.4 / 2000


def test_fans_have_their_degree(hi: World, sahel: World) -> None:
    for w in (hi, sahel):
        for s in w.schemes("FAN-OUT"):
            rows = w.rows_of(s)
            assert len({r.src for r in rows}) == 1
            assert len({r.dst for r in rows}) == len(rows) == _degree(s["detail"])
        for s in w.schemes("FAN-IN"):
            rows = w.rows_of(s)
            assert len({r.dst for r in rows}) == 1
            assert len({r.src for r in rows}) == len(rows) == _degree(s["detail"])


def _chain_ok(rows: list[Row]) -> None:
    for a, b in itertools.pairwise(rows):
        assert a.dst == b.src  # contiguous
        assert a.ts <= b.ts  # times increase along the chain
        assert b.paid < a.recv  # the next hop pays on less than was received (fees)


def test_cycles_return_to_origin(hi: World, sahel: World) -> None:
    n = 0
    for w in (hi, sahel):
        for s in w.schemes("CYCLE"):
            rows = w.rows_of(s)
            assert rows[0].src == rows[-1].dst
            assert len(rows) == _degree(s["detail"])
            _chain_ok(rows)
            n += 1
    assert n >= 1


def test_random_walks_are_chains(hi: World, sahel: World) -> None:
    for w in (hi, sahel):
        for s in w.schemes("RANDOM"):
            rows = w.rows_of(s)
            assert len(rows) == _degree(s["detail"])
            _chain_ok(rows)


def test_scatter_gather_and_gather_scatter(hi: World, sahel: World) -> None:
    for w in (hi, sahel):
        for s in w.schemes("SCATTER-GATHER"):
            rows = w.rows_of(s)
            outs = Counter(r.src for r in rows)
            ins = Counter(r.dst for r in rows)
            src = next(a for a, _ in outs.most_common(1))
            sink = next(a for a, _ in ins.most_common(1))
            mids = {r.dst for r in rows if r.src == src}
            assert len(mids) == outs[src] == ins[sink] >= 2
            for m in mids:
                t_in = max(r.ts for r in rows if r.dst == m)
                out = [r for r in rows if r.src == m]
                assert (
                    len(out) == 1
                    and out[0].dst == sink
                    and out[0].ts >= t_in
                    and out[0].paid < next(r.recv for r in rows if r.dst == m)
                )
        for s in w.schemes("GATHER-SCATTER"):
            rows = w.rows_of(s)
            hub = Counter([r.src for r in rows] + [r.dst for r in rows]).most_common(1)[0][0]
            ins = [r for r in rows if r.dst == hub]
            outs = [r for r in rows if r.src == hub]
            assert len(ins) + len(outs) == len(rows)
            assert len(ins) == _degree(s["detail"])
            assert max(r.ts for r in ins) <= min(r.ts for r in outs)


def _depth(succ: dict[str, set[str]], a: str, seen: frozenset[str] = frozenset()) -> int:
    assert a not in seen  # no cycle
    return 1 + max((_depth(succ, b, seen | {a}) for b in succ.get(a, ())), default=0)


def test_stack_and_bipartite(hi: World, sahel: World) -> None:
    for w in (hi, sahel):
        for s in w.schemes("STACK"):
            rows = w.rows_of(s)
            # layered: longest path has at least two hops and there is no cycle
            succ: dict[str, set[str]] = defaultdict(set)
            for r in rows:
                succ[r.src].add(r.dst)

            assert max(_depth(succ, a) for a in list(succ)) >= 3
        for s in w.schemes("BIPARTITE"):
            rows = w.rows_of(s)
            assert not {r.src for r in rows} & {r.dst for r in rows}


def test_structuring(sahel: World) -> None:
    for s in sahel.schemes("STRUCTURING"):
        rows = sahel.rows_of(s)
        cash = [r for r in rows if r.fmt == "Cash"]
        assert len({r.src for r in cash}) >= 4
        assert all(d < s["notes"]["threshold_usd"] for d in s["notes"]["deposits_usd"])
        assert len(s["notes"]["deposits_usd"]) == len(cash)
        collectors = {r.dst for r in cash}
        for c in collectors:  # pass-through: out within a day of the last deposit
            last_in = max(r.ts for r in cash if r.dst == c)
            out = [r for r in rows if r.src == c]
            assert out and all(0 <= (o.ts - last_in).total_seconds() <= 86400 for o in out)


def test_peel_chain_is_bitcoin_and_ordered(sahel: World, hi: World) -> None:
    n = 0
    for w in (sahel, hi):
        for s in w.schemes("PEEL-CHAIN"):
            rows = w.rows_of(s)
            btc = [r for r in rows if r.fmt == "Bitcoin"]
            assert btc and all(r.pcur == "Bitcoin" == r.rcur for r in btc)
            ransom = btc[0]  # the ransom comes first, then the chain peels it off
            assert ransom.paid == max(r.paid for r in btc)
            assert all(r.ts >= ransom.ts for r in btc)
            hops = [r for r in btc[1:] if r.src != r.dst]
            assert len(hops) >= 3
            n += 1
    assert n >= 1


def test_kidnap_dispersal(sahel: World) -> None:
    for s in sahel.schemes("KIDNAP-RANSOM"):
        rows = sahel.rows_of(s)
        first = rows[0]
        hub = first.dst
        outs = [r for r in rows if r.src == hub]
        assert len(outs) >= 8
        assert all((r.ts - first.ts).total_seconds() <= 3 * 86400 for r in outs)
        assert all(r.paid < first.recv for r in outs)


def test_cell_accounts_go_dormant(sahel: World) -> None:
    for s in sahel.schemes("CELL-SELF-FUNDING"):
        members = {sahel.row(r).dst for r in s["rows"] if sahel.row(r).fmt == "ACH"}  # loan recipients
        mine = set(s["rows"]) | set(s["context_rows"])
        for i in range(sahel.n):
            a = f"{sahel.cols['fb'][i]}:{sahel.cols['fa'][i]}"
            b = f"{sahel.cols['tb'][i]}:{sahel.cols['ta'][i]}"
            if a in members or b in members:
                assert i + 1 in mine


def _parties(folder: Path) -> dict[str, dict[str, Any]]:
    out = {}
    with (folder / "parties.ftm.jsonl").open() as f:
        for line in f:
            e = json.loads(line)
            out[e["id"]] = e
    return out


def test_crowdfunding_wallets_share_a_phone(sahel: World) -> None:
    parties = _parties(sahel.folder)
    accounts = {}
    for e in parties.values():
        if e["schema"] == "Ownership":
            accounts[e["properties"]["asset"][0]] = e["properties"]["owner"][0]
    for s in sahel.schemes("CROWDFUNDING"):
        phone = s["notes"]["shared_phone"]
        sharing = [p for p in parties.values() if phone in p["properties"].get("phone", [])]
        assert len(sharing) >= 3
        assert {p["id"] for p in sharing} <= set(s["parties"])


def test_sanctioned_names_in_parties(sahel: World) -> None:
    parties = _parties(sahel.folder)
    listed = [x for s in sahel.truth["schemes"] for x in s["sanctioned"]]
    assert listed
    for x in listed:
        assert parties[x["entity_id"]]["properties"]["name"] == [x["name"]]
        assert x["un_reference"].startswith("QDi.")
        assert x["variant"] in {"exact", "translit", "reorder", "drop", "typo"}


def test_accounts_join_parties(hi: World) -> None:
    parties = _parties(hi.folder)
    t = pv.read_csv(
        hi.folder / "accounts.csv", convert_options=pv.ConvertOptions(column_types={"Bank ID": pa.string()})
    )
    assert t.column_names == ["Bank Name", "Bank ID", "Account Number", "Entity ID", "Entity Name"]
    assert set(t.column("Entity ID").to_pylist()) <= set(parties)
    # every account in a transaction is listed in accounts.csv
    listed = {
        f"{b}:{a}" for b, a in zip(t.column("Bank ID").to_pylist(), t.column("Account Number").to_pylist(), strict=True)
    }
    used = {f"{b}:{a}" for b, a in zip(hi.cols["fb"], hi.cols["fa"], strict=True)}
    assert used <= listed
