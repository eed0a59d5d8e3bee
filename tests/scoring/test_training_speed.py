"""The faster training paths give the same model: boosters side by side, scoring on threads, the
first stage's own learning rate, and the feature cache of ``filiere evaluate``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from world import write_world

from filiere.scoring.evaluate import (
    context_for_file,
    evaluate_file,
    load_features,
    save_features,
    temporal_split,
)
from filiere.scoring.features import build_features, to_matrix
from filiere.scoring.model import TrainConfig, fit, predict_rows

SMALL = TrainConfig(n_estimators=60, oof_folds=3, early_stopping_rounds=20)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_world(tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="module")
def features(world: Path) -> tuple[object, np.ndarray]:
    inputs = context_for_file(world, "amlworld")
    fs = build_features(inputs, graph=False)
    y = inputs.transactions.column("is_laundering").to_numpy(zero_copy_only=False).astype(np.int8)
    return fs, y


def _fit(features: tuple[object, np.ndarray], config: TrainConfig):  # type: ignore[no-untyped-def]
    fs, y = features
    sp = temporal_split(len(y))
    return fit(fs.table, fs.names, fs.categorical, y, sp.train.stop, sp.val.stop - sp.val.start, config)  # type: ignore[attr-defined]


def test_boosters_side_by_side_train_the_same_model(features: tuple[object, np.ndarray]) -> None:
    one = _fit(features, SMALL.model_copy(update={"workers": 1, "predict_threads": 1}))
    two = _fit(features, SMALL.model_copy(update={"workers": 2, "predict_threads": 2}))
    assert one.stage1.model_to_string() == two.stage1.model_to_string()
    assert one.booster.model_to_string() == two.booster.model_to_string()
    assert np.array_equal(one.p_after, two.p_after)
    assert one.threshold == two.threshold
    assert one.p_after.std() > 0  # a model that learned something, not constant scores


def test_threaded_scoring_equals_lightgbm_predict(
    features: tuple[object, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    import filiere.scoring.model as model

    fitted = _fit(features, SMALL)
    fs, _ = features
    X = to_matrix(fs.table, fitted.stage1_names)  # type: ignore[attr-defined]
    monkeypatch.setattr(model, "PREDICT_CHUNK", 97)  # many chunks, the last one short
    ref = fitted.stage1.predict(X, num_threads=1)
    for workers in (1, 2, 3):
        assert np.array_equal(predict_rows(fitted.stage1, X, workers), ref)
    assert predict_rows(fitted.stage1, X[:0], 2).shape == (0,)


def test_first_stage_learning_rate(features: tuple[object, np.ndarray]) -> None:
    fitted = _fit(features, SMALL.model_copy(update={"stage1_learning_rate": 0.3}))
    assert "[learning_rate: 0.3]" in fitted.stage1.model_to_string()
    assert f"[learning_rate: {SMALL.learning_rate}]" in fitted.booster.model_to_string()


def test_feature_cache_round_trip_gives_the_same_evaluation(world: Path, tmp_path: Path) -> None:
    cache = tmp_path / "features.parquet"
    first = evaluate_file(world, out_dir=tmp_path, config=SMALL, baseline=False, graph=False, feature_cache=cache)
    assert cache.exists()
    again = evaluate_file(world, out_dir=tmp_path, config=SMALL, baseline=False, graph=False, feature_cache=cache)
    for key in ("f1", "pr_auc", "threshold", "positives_test", "recall_typed", "recall_untyped", "account_f1"):
        assert first[key] == again[key], key
    assert "history_s" in first["timings"] and "history_s" not in again["timings"]
    fs, inputs, types = load_features(cache)
    assert types is not None and types.null_count < len(types)
    assert inputs.transactions.num_rows == fs.table.num_rows
    assert "__is_laundering" not in fs.table.column_names


def test_feature_cache_that_is_not_one_is_refused(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from filiere.errors import UserInputError

    p = tmp_path / "x.parquet"
    pq.write_table(pa.table({"a": [1]}), p)
    with pytest.raises(UserInputError, match="not a feature cache"):
        load_features(p)
    assert save_features  # the writer is public API too


def test_rules_wait_for_the_pattern_engine_only_when_they_read_it(world: Path) -> None:
    from filiere.rules import load_global_params, load_rules
    from filiere.rules.spec import Rule
    from filiere.scoring.features import _rules_read_pattern_features

    inputs = context_for_file(world, "amlworld")
    g = load_global_params()
    assert not _rules_read_pattern_features(load_rules(), inputs, g)
    reads = Rule(id="fan-feature", title="t", typology="fan-out", scope="transaction", when="src_fan_out >= 5")
    assert _rules_read_pattern_features([*load_rules(), reads], inputs, g)
    # and such a rule still gets its column: it fires on the same rows as the feature says
    fs = build_features(inputs, rules=[reads], global_params=g)
    fired = fs.table.column("rule_fan_feature").to_numpy(zero_copy_only=False).astype(bool)
    fan = fs.table.column("src_fan_out").to_numpy(zero_copy_only=False)
    assert fired.any() and np.array_equal(fired, np.nan_to_num(fan.astype(float)) >= 5)


def test_booster_from_a_table_equals_booster_from_the_matrix(features: tuple[object, np.ndarray]) -> None:
    from filiere.scoring.model import train_booster

    fs, y = features
    sp = temporal_split(len(y))
    names, cat = fs.names, fs.categorical  # type: ignore[attr-defined]
    train = fs.table.slice(0, sp.train.stop)  # type: ignore[attr-defined]
    va = fs.table.slice(sp.val.start, sp.val.stop - sp.val.start)  # type: ignore[attr-defined]
    y_tr, y_va = y[: sp.train.stop], y[sp.val]
    a = train_booster(to_matrix(train, names), y_tr, to_matrix(va, names), y_va, names, cat, SMALL)
    b = train_booster(train, y_tr, va, y_va, names, cat, SMALL)
    assert a.model_to_string() == b.model_to_string()
    assert a.num_trees() > 1
