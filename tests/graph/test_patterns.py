"""Hand-built graphs whose features are known, the public API, config and the command."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from graph_helpers import make_table
from typer.testing import CliRunner

from filiere.errors import UserInputError
from filiere.graph import FEATURE_DOCS, FEATURES, FeatureConfig, StreamingEngine, compute_features, pattern_instances


def _feat(rows: list[tuple], cfg: FeatureConfig | None = None) -> list[dict[str, float]]:  # type: ignore[type-arg]
    feats: list[dict[str, float]] = compute_features(make_table(rows), cfg or FeatureConfig()).to_pylist()
    return feats


def test_every_feature_is_documented() -> None:
    assert set(FEATURE_DOCS) == {f.name for f in FEATURES}
    assert all(len(doc) > 20 for doc in FEATURE_DOCS.values())


def test_cycle_closed_by_last_edge_only() -> None:
    f = _feat([(0, "a1", "a2", 100.0), (10, "a2", "a3", 90.0), (20, "a3", "a1", 80.0)])
    assert [r["cycle_count"] for r in f] == [0, 0, 1]
    assert f[2]["cycle_min_len"] == 3 and f[2]["cycle_present"] == 1


def test_cycle_needs_increasing_time_and_window() -> None:
    # a2->a3 happens after a3->a1: not a temporal cycle
    f = _feat([(0, "a1", "a2", 1.0), (20, "a2", "a3", 1.0), (10, "a3", "a1", 1.0)])
    assert max(r["cycle_count"] for r in f) == 0
    # outside a 1 h cycle window
    f = _feat([(0, "a1", "a2", 1.0), (200, "a2", "a1", 1.0)], FeatureConfig(cycle_window_h=1))
    assert f[1]["cycle_count"] == 0
    f = _feat([(0, "a1", "a2", 1.0), (200, "a2", "a1", 1.0)], FeatureConfig(cycle_window_h=24))
    assert f[1]["cycle_count"] == 1 and f[1]["cycle_min_len"] == 2


def test_cycle_length_limit() -> None:
    rows = [(i, f"a{i}", f"a{i + 1}", 1.0) for i in range(5)] + [(9, "a5", "a0", 1.0)]  # 6-cycle
    assert _feat(rows, FeatureConfig(cycle_max_len=5))[-1]["cycle_count"] == 0
    assert _feat(rows, FeatureConfig(cycle_max_len=6))[-1]["cycle_count"] == 1


def test_ties_follow_input_order() -> None:
    # same minute: the second row sees the first, not the other way round
    f = _feat([(0, "a1", "a2", 1.0), (0, "a2", "a1", 1.0)])
    assert [r["cycle_count"] for r in f] == [0, 1]
    f = _feat([(0, "a2", "a1", 1.0), (0, "a1", "a2", 1.0)])
    assert [r["cycle_count"] for r in f] == [0, 1]


def test_fan_and_degree() -> None:
    rows = [(0, "a0", "a1", 1.0), (1, "a0", "a2", 1.0), (2, "a0", "a2", 1.0), (3, "a0", "a3", 1.0)]
    f = _feat(rows)
    assert [r["src_out_deg"] for r in f] == [1, 2, 3, 4]
    assert [r["src_fan_out"] for r in f] == [1, 2, 2, 3]
    assert [r["src_new_counterparty"] for r in f] == [1, 1, 0, 1]
    assert f[3]["dst_in_deg"] == 1 and f[3]["src_out_amt_sum"] == 4.0


def test_scatter_gather_and_gather_scatter() -> None:
    rows = [(0, "a0", "a1", 5.0), (1, "a0", "a2", 5.0), (2, "a0", "a3", 5.0)]
    rows += [(10, "a1", "a9", 4.0), (11, "a2", "a9", 4.0), (12, "a3", "a9", 4.0)]
    f = _feat(rows)
    assert [r["sg_max_width"] for r in f[3:]] == [1, 2, 3]
    assert [r["sg_count"] for r in f[3:]] == [0, 1, 1]
    gs = _feat([(0, "a1", "h0", 1.0), (1, "a2", "h0", 1.0), (2, "h0", "a3", 1.0), (3, "h0", "a4", 1.0)])
    assert [r["gs_flag"] for r in gs] == [0, 0, 0, 1]


def test_peel_chain_and_pass_through() -> None:
    rows = [(0, "a0", "a1", 1000.0), (30, "a1", "a2", 900.0), (60, "a2", "a3", 800.0), (90, "a3", "a4", 100.0)]
    f = _feat(rows)
    assert [r["peel_chain_len"] for r in f] == [1, 2, 3, 1]  # 100 < 0.5 * 800 breaks the chain
    assert f[1]["pt_flag"] == 1 and f[1]["pt_ratio"] == pytest.approx(0.9)
    assert f[3]["pt_flag"] == 0


def test_structuring_across_senders_and_banks() -> None:
    rows = [(i * 60, f"a{i}", "z9", 9_500.0, "Cash") for i in range(1, 5)]
    rows += [(300, "a5", "z9", 9_500.0, "Wire"), (301, "a6", "z9", 10_000.0, "Cash")]
    f = _feat(rows)
    assert [r["struct_near"] for r in f] == [1, 1, 1, 1, 0, 0]
    assert f[3]["struct_dst_count"] == 4 and f[3]["struct_dst_senders"] == 4 and f[3]["struct_dst_banks"] == 4
    assert f[5]["struct_dst_count"] == 4


def test_bipartite_and_stack() -> None:
    top = [(0, "p1", "a1", 1.0), (1, "p2", "a1", 1.0), (2, "p1", "a2", 1.0), (3, "p2", "a2", 1.0)]
    low = [(10, "a1", "c1", 1.0), (11, "a2", "c1", 1.0), (12, "a1", "c2", 1.0), (13, "a2", "c2", 1.0)]
    f = _feat(top + low)
    assert f[3]["bip_co_senders"] == 1 and f[3]["stack_depth"] == 1
    assert f[7]["bip_co_senders"] == 1 and f[7]["stack_depth"] == 2


def test_row_order_is_kept_and_streaming_matches() -> None:
    rows = [(50, "a1", "a2", 3.0), (10, "a2", "a1", 2.0), (30, "a1", "a3", 1.0)]
    table = make_table(rows)
    batch = compute_features(table).to_pylist()
    assert [r["tx_id"] for r in batch] == ["0", "1", "2"]
    eng = StreamingEngine()
    by_time = sorted(table.to_pylist(), key=lambda r: r["ts"])
    for r in by_time:
        assert eng.update(r) == {k: v for k, v in batch[int(r["tx_id"])].items() if k != "tx_id"}


def test_streaming_rejects_time_going_back_and_bounds_memory() -> None:
    cfg = FeatureConfig(
        families=("degree", "cycle"), window_h=1, cycle_window_h=1, structuring_window_h=1, peel_gap_h=1
    )
    eng = StreamingEngine(cfg, initial_capacity=16)
    table = make_table([(i, f"a{i % 7}", f"a{(i * 3) % 11}", 1.0) for i in range(5_000)])  # one a minute
    for r in table.to_pylist():
        eng.update(r)
    assert eng.edges_seen == 5_000
    assert eng.capacity <= 128  # ~61 edges in any 1 h window
    with pytest.raises(UserInputError, match="non-decreasing"):
        eng.update(table.to_pylist()[0])


def test_streaming_forgets_idle_accounts_and_still_matches_batch() -> None:
    # a new crowd of accounts every hour, 1 h windows: idle accounts are evicted and their slots reused
    cfg = FeatureConfig(
        window_h=1,
        sg_window_h=1,
        cycle_window_h=1,
        peel_gap_h=1,
        pass_through_window_h=1,
        structuring_window_h=1,
    )
    rows = [(i, f"a{i // 60}-{i % 5}", f"a{i // 60}-{(i * 3) % 7}", 9_500.0 - i % 3, "Cash") for i in range(3_000)]
    table = make_table(rows)
    batch = compute_features(table, cfg).to_pylist()
    eng = StreamingEngine(cfg, initial_capacity=16, sweep_min=64)
    held = 0
    for r, expected in zip(table.to_pylist(), batch, strict=True):
        assert eng.update(r) == {k: v for k, v in expected.items() if k != "tx_id"}
        held = max(held, eng.accounts_held)
    assert eng.accounts_evicted > 300  # ~7 accounts an hour for 50 hours
    assert held <= 64


def test_batch_is_the_same_on_any_number_of_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    from filiere.graph import engine

    rows = [(i % 97, f"a{(i * 7) % 13}", f"a{(i * 5) % 11}", 9_000.0 + (i % 9) * 150, "Cash") for i in range(400)]
    table = make_table(rows)
    results = []
    for cores in (1, 3):
        monkeypatch.setattr(engine, "_cores", lambda cores=cores: cores)
        results.append(compute_features(table))
    assert results[0].equals(results[1])


def test_config_yaml_and_families(tmp_path: Path) -> None:
    p = tmp_path / "w.yml"
    p.write_text("window_h: 12\nfamilies: [cycle, degree]\ncycle_max_len: 4\n")
    cfg = FeatureConfig.from_yaml(p)
    assert cfg.window_h == 12 and cfg.families == ("degree", "cycle")
    cols = compute_features(make_table([(0, "a1", "a2", 1.0)]), cfg).column_names
    assert cols[0] == "tx_id" and "cycle_count" in cols and "peel_chain_len" not in cols
    p.write_text("window_hours: 12\n")
    with pytest.raises(UserInputError, match="window_hours"):
        FeatureConfig.from_yaml(p)


def test_pattern_instances_name_members() -> None:
    rows = [(0, "a1", "a2", 100.0), (10, "a2", "a3", 90.0), (20, "a3", "a1", 80.0), (30, "a3", "a1", 80.0)]
    table = make_table(rows)
    inst = pattern_instances(table, "2")
    cyc = [i for i in inst if i["pattern"] == "cycle"]
    assert cyc == [
        {"pattern": "cycle", "accounts": ["a1", "a2", "a3"], "tx_ids": ["0", "1", "2"], "length": 3, "window_h": 24.0}
    ]
    assert {i["pattern"] for i in pattern_instances(table, "0")} <= {"fan_out", "fan_in"}
    assert any(i["pattern"] == "peel_chain" for i in inst)


def test_cli_features(tmp_path: Path) -> None:
    from filiere.cli import app

    csv = tmp_path / "tx.csv"
    csv.write_text(
        "Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,Amount Paid,"
        "Payment Currency,Payment Format,Is Laundering\n"
        "2022/09/01 00:20,010,8000EBD30,011,8000EBD31,10.00,US Dollar,10.00,US Dollar,Wire,0\n"
        "2022/09/01 00:10,011,8000EBD31,010,8000EBD30,12.00,US Dollar,12.00,US Dollar,Wire,0\n"
    )
    out = tmp_path / "f.parquet"
    res = CliRunner().invoke(app, ["features", str(csv), "--format", "amlworld", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout.strip().splitlines()[-1])["rows"] == 2
    t = pq.read_table(out)
    assert t.column("cycle_count").to_pylist() == [1, 0]  # row 1 is earlier; row 0 closes the cycle
