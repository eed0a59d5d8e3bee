"""Temporal evaluation: the split is by time and leak-free, the report has its keys, the plot exists."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner
from world import write_world

from filiere.scoring.evaluate import (
    context_for_file,
    evaluate_inputs,
    pattern_types_for,
    read_pattern_rows,
    sort_by_time,
    temporal_split,
)
from filiere.scoring.features import build_features
from filiere.scoring.model import TrainConfig, f1_threshold

SMALL = TrainConfig(n_estimators=80, oof_folds=2, early_stopping_rounds=20)

KEYS = {
    "f1",
    "precision",
    "recall",
    "pr_auc",
    "threshold",
    "baseline_f1",
    "rows_train",
    "rows_val",
    "rows_test",
    "seconds",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_world(tmp_path_factory.mktemp("world"))


def test_split_is_contiguous_60_20_20() -> None:
    s = temporal_split(10)
    assert (s.train, s.val, s.test) == (slice(0, 6), slice(6, 8), slice(8, 10))


def test_rows_are_sorted_and_train_precedes_test_in_time(world: Path) -> None:
    tx = context_for_file(world, "amlworld").transactions
    ts = tx.column("ts").cast(pa.int64()).to_numpy()
    assert np.all(np.diff(ts) >= 0)
    s = temporal_split(tx.num_rows)
    assert ts[s.train].max() <= ts[s.val].min() <= ts[s.val].max() <= ts[s.test].min()


def test_features_are_causal_future_rows_change_nothing(world: Path) -> None:
    """Features of the first 60% are identical whether or not the later 40% exist: no future leaks."""
    inputs = context_for_file(world, "amlworld")
    fs = build_features(inputs, graph=False)
    full = fs.table
    n = temporal_split(inputs.transactions.num_rows).train.stop
    head = type(inputs)(**{**inputs.__dict__, "transactions": inputs.transactions.slice(0, n)})
    part = build_features(head, graph=False).table
    # ties at the cut share a timestamp and may see each other; compare rows strictly before the last ts
    ts = inputs.transactions.column("ts").cast(pa.int64()).to_numpy()
    m = int(np.searchsorted(ts, ts[n - 1], side="left"))
    assert full.column_names == part.column_names
    assert full.column("tx_id").slice(0, m).equals(part.column("tx_id").slice(0, m))
    for name in fs.names:
        a = full.column(name).slice(0, m).to_numpy(zero_copy_only=False).astype(float)
        b = part.column(name).slice(0, m).to_numpy(zero_copy_only=False).astype(float)
        # window sums may add in another order: equal up to rounding
        assert np.allclose(a, b, rtol=1e-9, equal_nan=True), name


def test_patterns_file_marks_typed_rows(world: Path) -> None:
    tx = sort_by_time(context_for_file(world, "amlworld").transactions)
    header = world.read_text().splitlines()[0]
    types = pattern_types_for(tx, read_pattern_rows(world.parent / "patterns.txt", header))
    typed = types.is_valid().to_numpy(zero_copy_only=False)
    y = tx.column("is_laundering").to_numpy(zero_copy_only=False)
    assert typed.sum() > 0
    assert not (typed & ~y).any()  # only laundering rows are in pattern blocks
    assert (y & ~typed).sum() == 60  # one untyped laundering payment per scheme
    assert set(types.drop_null().to_pylist()) == {"FAN-IN", "FAN-OUT", "CYCLE"}


def test_evaluation_report_and_plot(world: Path, tmp_path: Path) -> None:
    inputs = context_for_file(world, "amlworld")
    plot = tmp_path / "pr.png"
    r = evaluate_inputs(inputs, graph=False, plot_path=plot, config=SMALL)
    assert set(r) >= KEYS
    assert r["rows_train"] + r["rows_val"] + r["rows_test"] == inputs.transactions.num_rows
    assert r["train_split_ts_max"] <= r["test_split_ts_min"]
    assert 0.0 <= r["f1"] <= 1.0 and 0.0 <= r["pr_auc"] <= 1.0
    # the planted schemes are learnable from account history: well above the raw-column baseline
    assert r["f1"] > 0.8
    assert r["f1"] >= r["baseline_f1"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_evaluate_json(world: Path, tmp_path: Path) -> None:
    from filiere.cli import app
    from filiere.store import init_workspace

    ws = tmp_path / "ws"
    init_workspace(ws)
    with (ws / "filiere.yml").open("a") as fh:
        fh.write("scoring:\n  train: {n_estimators: 80, oof_folds: 2, early_stopping_rounds: 20}\n")
    args = ["evaluate", str(world), "--format", "amlworld", "--json", "--no-graph", "--no-baseline"]
    args += ["--out-dir", str(tmp_path)]
    res = CliRunner().invoke(app, [*args, "-w", str(ws)])
    assert res.exit_code == 0, res.output
    r = json.loads(res.stdout.strip().splitlines()[-1])
    assert set(r) >= KEYS
    assert r["recall_typed"] is not None and r["recall_untyped"] is not None
    assert Path(r["pr_curve"]).exists() and Path(r["pr_curve"]).parent == tmp_path


def test_f1_threshold_picks_the_best_cut() -> None:
    y = np.array([1, 1, 0, 1, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.2, 0.1])
    thr, f1 = f1_threshold(y, p, max_alert_share=1.0)
    assert thr == pytest.approx(0.6)
    assert f1 == pytest.approx(2 * 3 / (4 + 3))


def test_f1_threshold_never_alerts_on_everything() -> None:
    """A model that cannot separate the classes (constant scores) must not 'maximise F1' by alerting
    on every row: the threshold lies above the highest score."""
    y = np.zeros(1000, dtype=bool)
    y[7] = True
    p = np.full(1000, 0.0187)
    thr, f1 = f1_threshold(y, p)
    assert thr > p.max() and f1 == 0.0
    # a real separation inside the budget (5 % of rows) is still found
    p2 = np.where(y, 0.9, np.linspace(0.0, 0.5, 1000))
    thr2, f12 = f1_threshold(y, p2)
    assert thr2 == 0.9 and f12 == 1.0
