"""The learned pair scorer: flattened trees equal LightGBM, serving equals explaining, bad files fail."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from filiere.screening import _kernels as _k
from filiere.screening.evalset import generate_names
from filiere.screening.matcher import MatcherConfig, NameIndex, Query
from filiere.screening.models import ListEntity
from filiere.screening.scorer import FEATURE_NAMES, ModelError, default_model, load_model, logit, sigmoid
from filiere.screening.service import Screener


def test_flattened_trees_equal_lightgbm() -> None:
    lgb = pytest.importorskip("lightgbm")
    from filiere.screening.train import BOOST, _flatten

    rng = np.random.default_rng(3)
    x = rng.random((3000, _k.N_FEAT))
    y = (x[:, 0] + 0.5 * x[:, 3] - 0.3 * x[:, 6] + 0.2 * rng.standard_normal(3000) > 0.6).astype(float)
    clf = lgb.LGBMClassifier(**{**BOOST, "n_estimators": 40}, verbose=-1, n_jobs=1)
    clf.fit(x, y)
    model = _flatten(clf.booster_.dump_model())
    test = rng.random((500, _k.N_FEAT))
    ours = _k.tree_logits(test, model.node_i, model.node_f, model.roots)
    theirs = clf.booster_.predict(test, raw_score=True)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)
    # path attribution adds up to the logit
    contrib, rest = model.contributions(test[0])
    assert contrib.sum() + rest == pytest.approx(float(theirs[0]))


def test_committed_model_loads_and_is_used() -> None:
    model = default_model()
    assert model is not None, "src/filiere/screening/name_model.json is missing"
    assert len(model.roots) > 10 and "UN aliases" in str(model.meta.get("trained_on"))
    idx = NameIndex([ListEntity("x:1", "Person", "Ayman Zawahiri", names=["Ayman Zawahiri"])])
    assert idx.model is model
    assert NameIndex(idx.entities, MatcherConfig(learned=False)).model is None


def test_served_score_equals_explained_score(screener: Screener) -> None:
    """The kernel's score of the best name is the one its explanation recomputes, feature by feature."""
    assert screener.index.model is not None
    for name in ("Aiman al-Zawahiri", "أيمن محمد ربيع الظواهري", "Hassan Rahmani", "Banco Nacional de Cuba"):
        res = screener.screen(name, limit=3, cutoff=0.0)
        assert res, name
        for m in res:
            name_f = m.features[0]
            assert name_f.name == "name" and "model: " in name_f.detail
            # the explanation recomputes the name score (the best name's alignment, plus the entity's
            # second-best name's share) in Python; the qualifiers add to its logit
            z = sum(f.weight * f.value for f in m.features[1:])
            served = sigmoid(logit(name_f.value) + z) if len(m.features) > 1 else name_f.value
            assert m.score == pytest.approx(served, abs=1e-9)
            prep = screener.index.prepare(Query(name))
            assert prep is not None
            # the same name text may be indexed for several entities: take this entity's
            cands = [i for i, t in enumerate(screener.index.name_text) if t == m.matched_name]
            ids = [i for i in cands if screener.index.entities[screener.index.name_entity[i]].entity_id == m.entity_id]
            pair = screener.index.align(prep, ids[0]).score
            # the entity's other names can only add to its best name's score
            assert name_f.value >= pair - 1e-12
            if name_f.value > pair + 5e-4:
                assert "also listed as" in name_f.detail


def test_learned_scorer_can_be_switched_off() -> None:
    cfg = MatcherConfig.from_settings({"learned": "false", "threshold": "0.8"})
    assert cfg.learned is False and cfg.threshold == 0.8
    ents = [ListEntity("x:1", "Person", "Ayman Zawahiri", names=["Ayman Zawahiri", "Aiman Zawahri"])]
    hand = NameIndex(ents, cfg).search(Query("Ayman al Zawahiri"))[0]
    learned = NameIndex(ents).search(Query("Ayman al Zawahiri"))[0]
    assert hand.entity_id == learned.entity_id == "x:1"
    assert "model: " not in hand.features[0].detail and "model: " in learned.features[0].detail


def test_generated_names_rarely_alert(screener: Screener) -> None:
    """Non-listed names of a seed used neither for training nor calibration nor the benchmark."""
    names = generate_names(400, seed=12345)
    hits = sum(any(m.match for m in r) for r in screener.screen_many([Query(n) for n in names]))
    assert hits <= 0.03 * len(names)


def test_qualifiers_move_the_logit(screener: Screener) -> None:
    base = {m.entity_id: m.score for m in screener.screen("Ayman Zawahri", schema="Person")}["un:QDi.006"]
    good = {m.entity_id: m for m in screener.screen("Ayman Zawahri", schema="Person", birth_date="1951", country="eg")}
    bad = {m.entity_id: m for m in screener.screen("Ayman Zawahri", schema="Person", birth_date="1990", country="fr")}
    assert good["un:QDi.006"].score > base
    assert bad.get("un:QDi.006") is None or bad["un:QDi.006"].score < base
    z = math.log(base / (1 - base))
    feats = good["un:QDi.006"].features[1:]
    expect = 1 / (1 + math.exp(-(z + sum(f.weight * f.value for f in feats))))
    assert good["un:QDi.006"].score == pytest.approx(expect, rel=1e-6)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"features": ["a", "b"]}, "rebuild it"),
        ({"kind": "linear"}, "rebuild it"),
        ({"value": None}, "malformed tree arrays"),
        ({"left": "x"}, "malformed"),
        ({"shift": float("nan")}, "out of range"),
    ],
)
def test_bad_model_file_is_named(tmp_path: Path, patch: dict[str, object], message: str) -> None:
    good = {
        "kind": "gbdt",
        "features": list(FEATURE_NAMES),
        "shift": 0.0,
        "roots": [0],
        "feature": [0, -1, -1],
        "left": [1, -1, -1],
        "right": [2, -1, -1],
        "threshold": [0.5, 0.0, 0.0],
        "value": [0.0, -1.0, 1.0],
    }
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps(good))
    assert load_model(ok).logit(np.ones(_k.N_FEAT)) == pytest.approx(1.0)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**good, **patch}))
    with pytest.raises(ModelError, match=message) as err:
        load_model(bad)
    assert str(bad) in str(err.value)


def test_cyclic_tree_is_refused(tmp_path: Path) -> None:
    bad = {
        "kind": "gbdt", "features": list(FEATURE_NAMES), "shift": 0.0, "roots": [0],
        "feature": [0, 1, -1], "left": [1, 0, -1], "right": [2, 2, -1],
        "threshold": [0.5, 0.5, 0.0], "value": [0.0, 0.0, 1.0],
    }  # fmt: skip
    path = tmp_path / "cyclic.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(ModelError, match="pre-order"):
        load_model(path)
