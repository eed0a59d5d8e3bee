"""TreeSHAP on the compiled trees (:meth:`filiere.realtime.trees.CompiledBooster.contrib`) gives
LightGBM's ``pred_contrib`` numbers, and the service's explanations are those of LightGBM's."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest


def _data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, 7))
    X[:, 0] = rng.integers(0, 8, n)  # categorical
    X[rng.random(X.shape) < 0.08] = np.nan
    X[rng.random(X.shape) < 0.08] = 0.0
    y = (np.nan_to_num(X[:, 1]) + (X[:, 0] == 3) - np.nan_to_num(X[:, 2]) * np.nan_to_num(X[:, 3])) > 0.3
    return X, y.astype(int)


@pytest.mark.parametrize(
    "params",
    [
        {"objective": "binary"},
        {"objective": "binary", "zero_as_missing": True, "max_depth": 3},
        {"objective": "regression", "use_missing": False, "num_leaves": 63},
    ],
)
def test_compiled_treeshap_equals_lightgbm(params: dict[str, object]) -> None:
    lgb = pytest.importorskip("lightgbm")
    from filiere.realtime.trees import CompiledBooster

    rng = np.random.default_rng(11)
    X, y = _data(rng, 3000)
    ds = lgb.Dataset(X, y, categorical_feature=[0], params={"verbose": -1})
    booster = lgb.train({"num_leaves": 15, "min_data_in_leaf": 5, "verbose": -1, **params}, ds, 30)
    c = CompiledBooster(booster)
    assert c.can_explain
    Z, _ = _data(rng, 400)
    Z[:, 0] = rng.integers(-1, 10, 400)  # unseen and negative categories
    ref = booster.predict(Z, pred_contrib=True)
    got = c.contrib(Z)
    assert got.shape == ref.shape
    # the same operations in the same order: equal to the last bit on the features, the bias to rounding
    np.testing.assert_array_equal(got[:, :-1], ref[:, :-1])
    np.testing.assert_allclose(got[:, -1], ref[:, -1], rtol=0, atol=1e-12)
    # and the contributions add up to the raw score (TreeSHAP's local accuracy)
    np.testing.assert_allclose(got.sum(axis=1), booster.predict(Z, raw_score=True), rtol=0, atol=1e-9)


def test_single_leaf_trees_and_bad_shapes() -> None:
    lgb = pytest.importorskip("lightgbm")
    from filiere.realtime.trees import CompiledBooster

    X = np.zeros((50, 3))
    y = np.arange(50) % 2
    booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, y), 3)  # nothing to split on
    c = CompiledBooster(booster)
    Z = np.ones((4, 3))
    np.testing.assert_allclose(c.contrib(Z), booster.predict(Z, pred_contrib=True), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="columns"):
        c.contrib(np.ones((2, 2)))


def test_scorer_explanations_equal_lightgbms() -> None:
    lgb = pytest.importorskip("lightgbm")
    from filiere.realtime.service import Scorer

    rng = np.random.default_rng(3)
    X, y = _data(rng, 2000)
    names = [f"f{i}" for i in range(X.shape[1])]
    booster = lgb.train({"objective": "binary", "num_leaves": 15, "verbose": -1},
                        lgb.Dataset(X, y, feature_name=names, categorical_feature=[0]), 25)  # fmt: skip
    model = SimpleNamespace(version="t", threshold=0.5, booster=booster, stage1=None, feature_names=names,
                            stage1_names=[], docs={})  # fmt: skip
    sc = Scorer(model, {n: i for i, n in enumerate(names)})
    assert sc.stage2 is not None and sc.stage2.can_explain
    Z, _ = _data(rng, 60)
    got = sc.explain(Z, top=4)
    sc.stage2 = None  # LightGBM's pred_contrib
    ref = sc.explain(Z, top=4)
    assert sum(len(r) for r in ref) > 0
    assert [[c.as_dict() for c in row] for row in got] == [[c.as_dict() for c in row] for row in ref]
