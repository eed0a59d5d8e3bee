"""Batch == streaming == brute force, exactly, on hypothesis-generated temporal multigraphs."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from graph_helpers import make_table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from filiere.errors import UserInputError
from filiere.graph import ALL_FAMILIES, FeatureConfig, StreamingEngine, compute_features
from filiere.graph.reference import edges_from_table, reference_features

AMOUNTS = [9_000.0, 9_500.0, 9_999.0, 10_000.0, 400.0, 800.0, 1_000.0, 5_000.0, 6_000.0, 12_000.0]


@st.composite
def graphs(draw: st.DrawFn) -> tuple[pa.Table, FeatureConfig]:
    n_acc = draw(st.integers(2, 7))
    n = draw(st.integers(1, 45))
    span = draw(st.sampled_from([30, 240, 900]))  # minutes: many ties, or spread beyond the windows
    rows = []
    for _ in range(n):
        minute = draw(st.integers(0, span))
        s = draw(st.integers(0, n_acc - 1))
        d = draw(st.integers(0, n_acc - 1))
        amount = draw(st.sampled_from(AMOUNTS))
        fmt = draw(st.sampled_from(["Cash", "Wire", "Cheque"]))
        rows.append((minute, f"a{s}", f"a{d}", amount, fmt))
    every = draw(st.booleans())
    families = ALL_FAMILIES if every else tuple(draw(st.sets(st.sampled_from(ALL_FAMILIES), min_size=1)))
    cfg = FeatureConfig(
        families=families,
        window_h=draw(st.sampled_from([0.5, 2.0, 24.0])),
        sg_window_h=draw(st.sampled_from([0.5, 3.0])),
        cycle_window_h=draw(st.sampled_from([1.0, 24.0])),
        cycle_max_len=draw(st.integers(2, 6)),
        cycle_count_cap=draw(st.sampled_from([3, 10_000])),
        peel_gap_h=draw(st.sampled_from([1.0, 10.0])),
        pass_through_window_h=draw(st.sampled_from([1.0, 6.0])),
        structuring_window_h=draw(st.sampled_from([2.0, 72.0])),
    )
    return make_table(rows), cfg


def _batch_by_id(table: pa.Table, cfg: FeatureConfig) -> dict[str, dict[str, float]]:
    rows = compute_features(table, cfg).to_pylist()
    return {str(r.pop("tx_id")): r for r in rows}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs(), st.lists(st.integers(1, 9), min_size=1, max_size=6))
def test_batch_equals_streaming_equals_brute_force(case: tuple[pa.Table, FeatureConfig], sizes: list[int]) -> None:
    table, cfg = case
    batch = _batch_by_id(table, cfg)
    edges = edges_from_table(table, cfg)
    ref = reference_features(edges, cfg)
    # small ring: exercises wrap-around and growth; sweeps every few updates: exercises account eviction
    engine = StreamingEngine(cfg, initial_capacity=4, sweep_min=1)
    rows = {str(r["tx_id"]): r for r in table.to_pylist()}
    for e, expected in zip(edges, ref, strict=True):
        streamed = engine.update(rows[e.tx_id])
        assert streamed == expected, (e, {k: (streamed[k], v) for k, v in expected.items() if streamed[k] != v})
        assert batch[e.tx_id] == expected
    # update_many over micro-batches of the drawn sizes (edges in streaming order) == update, row by row
    many = StreamingEngine(cfg, initial_capacity=4, sweep_min=1)
    ordered = pa.Table.from_pylist([rows[e.tx_id] for e in edges], schema=table.schema)
    got: list[np.ndarray] = []
    start = 0
    for i in itertools.count():
        if start >= len(edges):
            break
        size = sizes[i % len(sizes)]
        got.append(many.update_many(ordered.slice(start, size)))
        start += size
    names = many.feature_names
    matrix = np.vstack(got) if got else np.zeros((0, len(names)))
    assert matrix.shape == (len(edges), len(names))
    for row, expected in zip(matrix.tolist(), ref, strict=True):
        assert dict(zip(names, row, strict=True)) == expected
    assert (many.accounts_held, many.accounts_evicted, many.capacity, many.edges_seen) == (
        engine.accounts_held,
        engine.accounts_evicted,
        engine.capacity,
        engine.edges_seen,
    )


def test_batch_equals_streaming_on_a_generated_world(tmp_path: Path) -> None:
    """Hubs, injected laundering patterns, many ties: a scenario world, streamed in (time, row) order."""
    from filiere.io import read_transactions
    from filiere.scenario import generate

    generate("amlworld-hi", 3_000, 11, tmp_path / "w")
    table = read_transactions(tmp_path / "w" / "transactions.csv", "amlworld").transactions
    cfg = FeatureConfig(window_h=6, structuring_window_h=12)  # evictions happen within the world's span
    batch = _batch_by_id(table, cfg)
    engine = StreamingEngine(cfg, initial_capacity=64, sweep_min=256)
    for e in sorted(table.to_pylist(), key=lambda r: r["ts"]):  # stable: ties keep row order
        assert engine.update(e) == batch[str(e["tx_id"])]
    assert engine.accounts_evicted > 0
    # the same world through update_many in micro-batches of 100 (a sweep and ring growth fall inside some)
    ordered = table.take(pa.array(np.argsort(table.column("ts").to_numpy(), kind="stable")))
    many = StreamingEngine(cfg, initial_capacity=64, sweep_min=256)
    names = many.feature_names
    for start in range(0, ordered.num_rows, 100):
        chunk = ordered.slice(start, 100)
        got = many.update_many(chunk)
        for tx_id, row in zip(chunk.column("tx_id").to_pylist(), got.tolist(), strict=True):
            assert dict(zip(names, row, strict=True)) == batch[str(tx_id)]
    assert (many.accounts_evicted, many.capacity) == (engine.accounts_evicted, engine.capacity)
    # sweeps fell before the same rows: the same accounts hold the same slots
    assert many._accounts == engine._accounts


def test_update_many_checks_the_batch_before_changing_state() -> None:
    from datetime import datetime

    engine = StreamingEngine()
    t0 = datetime(2024, 1, 1, 10)
    cols = {
        "tx_id": ["a", "b"],
        "ts": [t0, datetime(2024, 1, 1, 9)],
        "from_account": ["x", "y"],
        "to_account": ["y", "z"],
        "from_bank": ["1", "1"],
        "payment_format": ["Cash", "Wire"],
        "amount_paid": [10.0, 20.0],
    }
    with pytest.raises(UserInputError, match="'b' is earlier than the previous one"):
        engine.update_many(cols)
    assert engine.edges_seen == 0 and engine.accounts_held == 0
    cols["ts"] = [t0, t0]
    cols["amount_paid"] = [10.0, float("nan")]
    with pytest.raises(UserInputError, match=r"'b'.*amount_paid"):
        engine.update_many(cols)
    del cols["to_account"]
    with pytest.raises(UserInputError, match="no field 'to_account'"):
        engine.update_many(cols)
    assert engine.update_many({**cols, "to_account": ["y", "z"], "amount_paid": [1.0, 2.0]}).shape == (
        2,
        len(engine.feature_names),
    )
    assert engine.edges_seen == 2
