"""LightGBM training, the saved model artefact, and the model registry.

A model version is a folder ``<workspace>/models/<version>/`` holding ``model.txt`` (LightGBM's text
format) and ``meta.json`` (feature names and their plain-words descriptions, configuration, data
fingerprint, threshold, metrics). ``<workspace>/models/current.json`` names the current version so
that any process (the real-time service included) loads it without opening the store; the store's
``detection_models`` table keeps the history.
"""

from __future__ import annotations

import json
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict

from filiere._lazy import require
from filiere.config import Settings
from filiere.errors import NotFoundError, UserInputError
from filiere.scoring.features import (
    PROPAGATED_DOCS,
    PROPAGATED_EXTRA,
    PROPAGATED_EXTRA_DOCS,
    PROPAGATED_FEATURES,
    propagate,
    to_matrix,
)

MODELS_DIR = "models"
CURRENT_FILE = "current.json"


class TrainConfig(BaseModel):
    """LightGBM settings and how class imbalance is handled."""

    model_config = ConfigDict(extra="forbid")

    #: small trees: with a few hundred positives, 63 leaves over-fit (tuning seed, 1M rows: F1 0.39 with
    #: 63 leaves and learning rate 0.1, 0.51 with 31 and 0.05, 0.54 with 7 and 0.05)
    num_leaves: int = 7
    #: 0.1 (was 0.05): half the rounds to train and to score; tuning seed, 1M rows, first stage at 0.2:
    #: F1 / PR-AUC 0.565 / 0.603 at 0.1, 0.569 / 0.581 at 0.05 (0.538 / 0.552 with both stages at 0.05)
    learning_rate: float = 0.1
    n_estimators: int = 1500
    min_child_samples: int = 20
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    lambda_l2: float = 1.0
    max_bin: int = 63
    early_stopping_rounds: int = 60
    #: negatives kept per positive in training (all positives are kept); 0 keeps every negative
    neg_per_pos: float = 50.0
    #: validation negatives kept per validation positive for early stopping only (0 keeps all); the
    #: threshold is always chosen afterwards on the full validation slice
    val_neg_per_pos: float = 50.0
    #: extra weight on positives after subsampling (1 = none)
    pos_weight: float = 1.0
    #: second stage: add each account's earlier first-stage suspicion as features (0 = off)
    two_stage: bool = True
    #: time blocks for the first stage's out-of-fold scores on the training rows
    oof_folds: int = 3
    #: learning rate of the first stage (its boosters score every row: fewer, larger steps make that
    #: cheaper; 5M rows, seed 2: 227 first-stage trees at 0.2, while the second stage took 983 at
    #: 0.05); ``None``: ``learning_rate``
    stage1_learning_rate: float | None = 0.2
    #: second stage also gets sums/mean/age of the earlier suspicion (PROPAGATED_EXTRA; the real-time
    #: service computes them too)
    propagate_extra: bool = True
    #: LightGBM threads per booster; 1 by default: on a shared, loaded machine OpenMP's spin-waiting made
    #: 2 threads 7x slower than 1 on the subsampled training sets (measured: 28 s vs 3.9 s for 100
    #: rounds). Cores are used by ``workers`` instead
    threads: int = 1
    #: first-stage boosters (the out-of-fold ones and the full one) trained at the same time, on Python
    #: threads (LightGBM releases the GIL); results do not depend on it
    workers: int = 2
    #: threads for scoring (0 = every core; results do not depend on it): chunks of rows on Python
    #: threads, one LightGBM thread each (no OpenMP spin-waiting)
    predict_threads: int = 2
    seed: int = 7


@dataclass(slots=True)
class Contribution:
    """One feature's push on a score (log-odds units), with its value and its meaning in words."""

    feature: str
    value: float | None
    contribution: float
    description: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "value": self.value,
            "contribution": round(self.contribution, 4),
            "description": self.description,
        }


#: a threshold never alerts more than this share of the validation rows: a model that cannot separate
#: the classes (few positives, constant scores) would otherwise "maximise F1" by alerting on everything
MAX_ALERT_SHARE = 0.05


def f1_threshold(y: np.ndarray, p: np.ndarray, max_alert_share: float = MAX_ALERT_SHARE) -> tuple[float, float]:
    """The score threshold that maximises minority-class F1 on (y, p) among those alerting at most
    ``max_alert_share`` of the rows; returns (threshold, f1). When no cut between distinct scores
    stays within the share, the threshold lies just above the highest score (no alerts)."""
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order].astype(np.int64)
    tp = np.cumsum(ys)
    k = np.arange(1, len(ys) + 1)
    total = int(ys.sum())
    if total == 0 or len(ys) == 0:
        return 0.5, 0.0
    # only cut between distinct scores, and within the alert budget
    last = np.r_[ps[1:] != ps[:-1], True]
    ok = last & (k <= max(1, int(max_alert_share * len(ys))))
    if not ok.any():
        return float(np.nextafter(ps[0], np.inf)), 0.0
    f1 = np.where(ok, 2 * tp / (k + total), -1.0)
    i = int(np.argmax(f1))
    return float(ps[i]), float(f1[i])


def binary_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    from sklearn.metrics import average_precision_score

    pred = p >= threshold
    yb = y.astype(bool)
    tp = int((pred & yb).sum())
    fp = int((pred & ~yb).sum())
    fn = int((~pred & yb).sum())
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    # clipped: sklearn's sum of precision steps can exceed 1 by an ulp on a perfect ranking
    pr_auc = min(1.0, float(average_precision_score(yb, p))) if yb.any() and (~yb).any() else 0.0
    return {
        "f1": f1,
        "precision": prec,
        "recall": rec,
        "pr_auc": pr_auc,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "alerts_per_10k": 1e4 * (tp + fp) / max(len(y), 1),
    }


def subsample(y: np.ndarray, neg_per_pos: float, rng: np.random.Generator) -> np.ndarray:
    """Sorted row indices: every positive of ``y`` and ``neg_per_pos`` random negatives per positive
    (all rows when ``neg_per_pos`` is 0 or there is no positive)."""
    yb = y.astype(bool)
    idx = np.arange(len(y))
    if neg_per_pos <= 0 or not yb.any():
        return idx
    neg = idx[~yb]
    keep = min(len(neg), math.ceil(neg_per_pos * yb.sum()))
    return np.sort(np.r_[idx[yb], rng.choice(neg, size=keep, replace=False)])


def train_booster(
    X_train: np.ndarray | pa.Table,
    y_train: np.ndarray,
    X_val: np.ndarray | pa.Table,
    y_val: np.ndarray,
    names: list[str],
    categorical: list[str],
    config: TrainConfig,
    rows: np.ndarray | None = None,
) -> Any:
    """A LightGBM booster: negatives subsampled, early-stopped on the log-loss of a subsample of the
    validation rows (all positives, ``val_neg_per_pos`` negatives each).

    ``rows``: the training rows are ``X_train[rows]`` (labels ``y_train`` already for those rows),
    taken after subsampling, so that the full training slice is never copied. ``X_train`` and
    ``X_val`` may be feature *tables* (columns ``names``): only the subsampled rows are then made
    into a matrix."""
    lgb = require("lightgbm", "ml")
    rng = np.random.default_rng(config.seed)
    idx = subsample(y_train, config.neg_per_pos, rng)
    w = np.where(y_train[idx].astype(bool), config.pos_weight, 1.0)
    params: dict[str, Any] = {
        "objective": "binary",
        "metric": "binary_logloss",
        "max_bin": config.max_bin,
        "num_leaves": config.num_leaves,
        "learning_rate": config.learning_rate,
        "min_child_samples": config.min_child_samples,
        "feature_fraction": config.feature_fraction,
        "bagging_fraction": config.bagging_fraction,
        "bagging_freq": 1,
        "lambda_l2": config.lambda_l2,
        "num_threads": config.threads,
        "seed": config.seed,
        "verbosity": -1,
        "deterministic": True,
        "force_row_wise": True,
    }
    cat = [c for c in categorical if c in names]
    take = idx if rows is None else rows[idx]
    dtrain = lgb.Dataset(
        to_matrix(X_train.take(pa.array(take)), names) if isinstance(X_train, pa.Table) else X_train[take],
        label=y_train[idx],
        weight=w,
        feature_name=names,
        categorical_feature=cat,
        free_raw_data=True,
    )
    callbacks = []
    valid_sets = []
    if len(y_val) and y_val.any():
        vidx = subsample(y_val, config.val_neg_per_pos, rng)
        dval = lgb.Dataset(
            to_matrix(X_val.take(pa.array(vidx)), names) if isinstance(X_val, pa.Table) else X_val[vidx],
            label=y_val[vidx],
            reference=dtrain,
            feature_name=names,
            categorical_feature=cat,
        )
        valid_sets = [dval]
        callbacks.append(lgb.early_stopping(config.early_stopping_rounds, verbose=False))
    return lgb.train(params, dtrain, num_boost_round=config.n_estimators, valid_sets=valid_sets, callbacks=callbacks)


@dataclass
class ScoringModel:
    """A trained model: scores a feature table and explains a row."""

    version: str
    booster: Any
    feature_names: list[str]
    threshold: float
    docs: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    #: first-stage booster of a two-stage model, and its features
    stage1: Any = None
    stage1_names: list[str] = field(default_factory=list)

    def prepare(self, features: pa.Table) -> pa.Table:
        """Add the propagated account-suspicion columns a two-stage model needs (time-sorted rows with
        ``ts``, ``from_account``, ``to_account``); a table that has them is returned unchanged."""
        extra = any(c in self.feature_names for c in PROPAGATED_EXTRA)
        wanted = [*PROPAGATED_FEATURES, *(PROPAGATED_EXTRA if extra else ())]
        if self.stage1 is None or all(c in features.column_names for c in wanted):
            return features
        p1 = np.asarray(self.stage1.predict(to_matrix(features, self.stage1_names), num_threads=2))
        prop = propagate(features, p1, extra=extra)
        for c in wanted:
            if c not in features.column_names:
                features = features.append_column(c, prop.column(c))
        return features

    def predict(self, features: pa.Table | np.ndarray) -> np.ndarray:
        """Probability of laundering for each row of ``features`` (columns named as ``feature_names``)."""
        X = features if isinstance(features, np.ndarray) else to_matrix(self.prepare(features), self.feature_names)
        out = self.booster.predict(X, num_threads=2)
        return np.asarray(out, dtype=np.float64)

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """LightGBM's per-row feature contributions (log-odds), last column the bias."""
        return np.asarray(self.booster.predict(X, pred_contrib=True, num_threads=2), dtype=np.float64)

    def explain(self, row: pa.Table | np.ndarray | dict[str, Any], top: int = 6) -> list[Contribution]:
        """The features that pushed one row's score up the most (positive contributions first)."""
        if isinstance(row, dict):
            X = np.array([[_num(row.get(n)) for n in self.feature_names]], dtype=np.float64)
        elif isinstance(row, pa.Table):
            X = to_matrix(row.slice(0, 1), self.feature_names)
        else:
            X = np.asarray(row, dtype=np.float64).reshape(1, -1)
        return self.explain_matrix(X, top=top)[0]

    def explain_matrix(self, X: np.ndarray, top: int = 6) -> list[list[Contribution]]:
        if X.shape[0] == 0:
            return []
        contrib = self.contributions(X)[:, :-1]
        out: list[list[Contribution]] = []
        order = np.argsort(-contrib, axis=1)[:, :top]
        for i in range(X.shape[0]):
            items = []
            for j in order[i]:
                c = float(contrib[i, j])
                if c <= 0:
                    break
                name = self.feature_names[j]
                v = X[i, j]
                items.append(Contribution(name, None if np.isnan(v) else float(v), c, self.docs.get(name, name)))
            out.append(items)
        return out


def _num(v: Any) -> float:
    if v is None:
        return float("nan")
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def new_version(fingerprint: str) -> str:
    return datetime.now(UTC).strftime("m%Y%m%dT%H%M%S") + "-" + fingerprint[:6]


def models_dir(settings: Settings) -> Path:
    return settings.workspace / MODELS_DIR


def save_model(model: ScoringModel, directory: Path) -> Path:
    """Write ``model.txt`` and ``meta.json`` under ``directory/<version>/``."""
    d = directory / model.version
    d.mkdir(parents=True, exist_ok=True)
    model.booster.save_model(str(d / "model.txt"))
    if model.stage1 is not None:
        model.stage1.save_model(str(d / "stage1.txt"))
    meta = {
        **model.meta,
        "version": model.version,
        "feature_names": model.feature_names,
        "feature_docs": {n: model.docs.get(n, n) for n in model.feature_names},
        "threshold": model.threshold,
        "stage1_feature_names": model.stage1_names if model.stage1 is not None else None,
    }
    (d / "meta.json").write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    model.path = d
    return d


def load_model_dir(d: Path) -> ScoringModel:
    lgb = require("lightgbm", "ml")
    meta_path = d / "meta.json"
    if not meta_path.exists():
        raise NotFoundError(f"{d}: not a model folder (no meta.json)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    booster = lgb.Booster(model_file=str(d / "model.txt"))
    stage1 = lgb.Booster(model_file=str(d / "stage1.txt")) if (d / "stage1.txt").exists() else None
    return ScoringModel(
        stage1=stage1,
        stage1_names=list(meta.get("stage1_feature_names") or []),
        version=meta["version"],
        booster=booster,
        feature_names=list(meta["feature_names"]),
        threshold=float(meta["threshold"]),
        docs=dict(meta.get("feature_docs", {})),
        meta=meta,
        path=d,
    )


def set_current(settings: Settings, version: str) -> None:
    d = models_dir(settings)
    if not (d / version / "meta.json").exists():
        raise NotFoundError(f"no model {version!r} under {d}")
    tmp = d / (CURRENT_FILE + ".tmp")
    tmp.write_text(json.dumps({"version": version}), encoding="utf-8")
    tmp.replace(d / CURRENT_FILE)


def current_version(settings: Settings) -> str | None:
    p = models_dir(settings) / CURRENT_FILE
    if not p.exists():
        return None
    return str(json.loads(p.read_text(encoding="utf-8"))["version"])


def load_current_model(settings: Settings) -> ScoringModel:
    """The workspace's current model (``filiere train`` sets it). Reads files only, never the store."""
    version = current_version(settings)
    if version is None:
        raise NotFoundError(f"no trained model in {models_dir(settings)}: run `filiere train` first")
    return load_model_dir(models_dir(settings) / version)


def register_model(store: Any, model: ScoringModel) -> None:
    """Record ``model`` in the store's ``detection_models`` table and make it the current one there."""
    meta = model.meta
    with store.transaction():
        store.execute("UPDATE detection_models SET is_current = FALSE WHERE is_current")
        store.execute("DELETE FROM detection_models WHERE version = ?", [model.version])
        store.execute(
            "INSERT INTO detection_models (version, created_at, path, is_current, threshold, feature_names, "
            "fingerprint, metrics, config) VALUES (?, ?, ?, TRUE, ?, ?, ?, ?, ?)",
            [
                model.version,
                datetime.now(UTC).replace(tzinfo=None),
                str(model.path) if model.path else None,
                model.threshold,
                model.feature_names,
                json.dumps(meta.get("data_fingerprint", {}), default=str),
                json.dumps(meta.get("metrics", {}), default=str),
                json.dumps(meta.get("config", {}), default=str),
            ],
        )


def check_version(version: str) -> str:
    if not version or "/" in version or version.startswith("."):
        raise UserInputError(f"bad model version {version!r}")
    return version


@dataclass
class Fitted:
    """A trained (one- or two-stage) model and its scores on the validation and later rows."""

    booster: Any
    names: list[str]
    threshold: float
    p_val: np.ndarray
    p_after: np.ndarray  # scores of the rows after the training slice (validation, then test)
    stage1: Any = None
    stage1_names: list[str] = field(default_factory=list)
    docs: dict[str, str] = field(default_factory=dict)
    #: seconds per training step (``stage1_oof_s``: out-of-fold and full first-stage boosters, trained
    #: side by side; ``predict_s``, ``propagate_s``, ``stage2_s``; ``stage1_full_booster_s`` overlaps
    #: ``stage1_oof_s``)
    timings: dict[str, float] = field(default_factory=dict)


#: rows per scoring task: the rows to score are cut into chunks that the workers take in turn
PREDICT_CHUNK = 100_000


def _pool_map(fn: Any, items: list[Any], workers: int) -> list[Any]:
    """``[fn(i) for i in items]``, on ``workers`` Python threads when more than one.

    LightGBM's training and prediction calls release the GIL (ctypes), so single-threaded LightGBM
    calls on separate threads use separate cores; a worker that finishes waits on a lock instead of
    spinning like OpenMP's barrier (which made 2 LightGBM threads slower than 1 on the shared,
    loaded machine), and a worker slowed by other processes simply takes fewer tasks."""
    if workers <= 1 or len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


def predict_rows(booster: Any, X: np.ndarray, workers: int) -> np.ndarray:
    """``booster.predict(X)`` (probabilities), chunks of rows on ``workers`` threads of one LightGBM
    thread each; the scores do not depend on ``workers``."""
    n = X.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.float64)
    bounds = [(lo, min(n, lo + PREDICT_CHUNK)) for lo in range(0, n, PREDICT_CHUNK)]
    parts = _pool_map(lambda lh: booster.predict(X[lh[0] : lh[1]], num_threads=1), bounds, workers)
    return np.concatenate([np.asarray(q, dtype=np.float64) for q in parts])


def _predict_slices(booster: Any, table: pa.Table, names: list[str], start: int, stop: int, workers: int) -> np.ndarray:
    out = []
    step = 500_000
    for lo in range(start, stop, step):
        hi = min(stop, lo + step)
        out.append(predict_rows(booster, to_matrix(table.slice(lo, hi - lo), names), workers))
    return np.concatenate(out) if out else np.empty(0)


def fit(
    table: pa.Table,
    names: list[str],
    categorical: list[str],
    y: np.ndarray,
    n_train: int,
    n_val: int,
    config: TrainConfig,
    *,
    two_stage: bool | None = None,
) -> Fitted:
    """Train on rows ``[0, n_train)``, early-stop and pick the threshold on ``[n_train, n_train + n_val)``.

    Two-stage: a first model's out-of-fold scores (``oof_folds`` time blocks) on the training rows and
    its scores on later rows are propagated to each account's later transactions
    (:func:`filiere.scoring.features.propagate`); the second model adds those columns.
    """
    n = table.num_rows
    val = slice(n_train, n_train + n_val)
    two = config.two_stage if two_stage is None else two_stage
    pt = config.predict_threads or os.cpu_count() or 1
    X_va = table.slice(n_train, n_val)  # validation rows: only the early-stopping subsample becomes a matrix
    tm: dict[str, float] = {}
    t0 = time.perf_counter()

    def lap(key: str) -> None:
        nonlocal t0
        t1 = time.perf_counter()
        tm[key] = tm.get(key, 0.0) + t1 - t0
        t0 = t1

    train_tbl = table.slice(0, n_train)
    if not two:
        b = train_booster(train_tbl, y[:n_train], X_va, y[val], names, categorical, config)
        lap("train_s")
        p_after = _predict_slices(b, table, names, n_train, n, pt)
        p_val = p_after[:n_val]
        thr, _ = f1_threshold(y[val], p_val)
        lap("predict_s")
        return Fitted(b, names, thr, p_val, p_after, timings=tm)
    # stage 1: out-of-fold scores on the training rows, full-train scores after. The fold boosters
    # and the full first stage are independent: trained side by side (``config.workers``), the full
    # one first (the longest); each is single-threaded and seeded, so the result does not depend on
    # how many run at once. Then every score is computed in chunks on ``predict_threads`` threads
    p1 = np.zeros(n, dtype=np.float64)
    k = max(2, config.oof_folds)
    edges = np.linspace(0, n_train, k + 1).astype(np.int64)
    X_train_all = to_matrix(train_tbl, names)
    y_train = y[:n_train]
    cfg1 = config
    if config.stage1_learning_rate is not None:
        cfg1 = config.model_copy(update={"learning_rate": config.stage1_learning_rate})

    def stage1_job(i: int, X_train_all: np.ndarray = X_train_all) -> Any:
        if i < 0:
            return train_booster(X_train_all, y_train, X_va, y[val], names, categorical, cfg1)
        lo, hi = int(edges[i]), int(edges[i + 1])
        rows = np.r_[np.arange(0, lo), np.arange(hi, n_train)]
        if not y[rows].any():
            return None
        return train_booster(X_train_all, y[rows], X_va, y[val], names, categorical, cfg1, rows=rows)

    stage1, *folds = _pool_map(stage1_job, [-1, *range(k)], max(1, config.workers))
    lap("stage1_oof_s")
    for i, bi in enumerate(folds):
        if bi is not None:
            lo, hi = int(edges[i]), int(edges[i + 1])
            p1[lo:hi] = predict_rows(bi, X_train_all[lo:hi], pt)
    del X_train_all, stage1_job, folds
    p1[n_train:] = _predict_slices(stage1, table, names, n_train, n, pt)
    lap("predict_s")
    prop = propagate(table, p1, extra=config.propagate_extra)
    added = [*PROPAGATED_FEATURES, *(PROPAGATED_EXTRA if config.propagate_extra else ())]
    t2 = table
    for c in added:
        t2 = t2.append_column(c, prop.column(c))
    names2 = [*names, *added]
    lap("propagate_s")
    X_va2 = t2.slice(n_train, n_val)
    # the training rows as a table: only the subsampled ones become a matrix (not all n_train rows)
    b2 = train_booster(t2.slice(0, n_train), y[:n_train], X_va2, y[val], names2, categorical, config)
    lap("stage2_s")
    p_after = _predict_slices(b2, t2, names2, n_train, n, pt)
    p_val = p_after[:n_val]
    thr, _ = f1_threshold(y[val], p_val)
    lap("predict_s")
    return Fitted(
        b2,
        names2,
        thr,
        p_val,
        p_after,
        stage1=stage1,
        stage1_names=names,
        docs={**PROPAGATED_DOCS, **PROPAGATED_EXTRA_DOCS},
        timings=tm,
    )
