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
from filiere.scoring.features import to_matrix

MODELS_DIR = "models"
CURRENT_FILE = "current.json"


class TrainConfig(BaseModel):
    """LightGBM settings and how class imbalance is handled."""

    model_config = ConfigDict(extra="forbid")

    num_leaves: int = 63
    learning_rate: float = 0.05
    n_estimators: int = 600
    min_child_samples: int = 20
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    lambda_l2: float = 1.0
    early_stopping_rounds: int = 50
    #: negatives kept per positive in training (all positives are kept); 0 keeps every negative
    neg_per_pos: float = 50.0
    #: extra weight on positives after subsampling (1 = none)
    pos_weight: float = 1.0
    threads: int = 2
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


def f1_threshold(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """The score threshold that maximises minority-class F1 on (y, p); returns (threshold, f1)."""
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order].astype(np.int64)
    tp = np.cumsum(ys)
    k = np.arange(1, len(ys) + 1)
    total = int(ys.sum())
    if total == 0 or len(ys) == 0:
        return 0.5, 0.0
    # only cut between distinct scores
    last = np.r_[ps[1:] != ps[:-1], True]
    f1 = np.where(last, 2 * tp / (k + total), 0.0)
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
    pr_auc = float(average_precision_score(yb, p)) if yb.any() and (~yb).any() else 0.0
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


def train_booster(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_val: np.ndarray,
    y_val: np.ndarray,
    names: list[str],
    categorical: list[str],
    config: TrainConfig,
) -> Any:
    """A LightGBM booster: negatives subsampled, early-stopped on the validation PR-AUC."""
    lgb = require("lightgbm", "ml")
    rng = np.random.default_rng(config.seed)
    yb = y_train.astype(bool)
    idx = np.arange(len(y_train))
    if config.neg_per_pos > 0 and yb.any():
        neg = idx[~yb]
        keep = min(len(neg), math.ceil(config.neg_per_pos * yb.sum()))
        neg = rng.choice(neg, size=keep, replace=False)
        idx = np.sort(np.r_[idx[yb], neg])
    w = np.where(yb[idx], config.pos_weight, 1.0)
    params: dict[str, Any] = {
        "objective": "binary",
        "metric": "average_precision",
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
    dtrain = lgb.Dataset(
        X_train[idx], label=y_train[idx], weight=w, feature_name=names, categorical_feature=cat, free_raw_data=True
    )
    callbacks = []
    valid_sets = []
    if len(y_val) and y_val.any():
        dval = lgb.Dataset(X_val, label=y_val, reference=dtrain, feature_name=names, categorical_feature=cat)
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

    def predict(self, features: pa.Table | np.ndarray) -> np.ndarray:
        """Probability of laundering for each row of ``features`` (columns named as ``feature_names``)."""
        X = features if isinstance(features, np.ndarray) else to_matrix(features, self.feature_names)
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
    meta = {
        **model.meta,
        "version": model.version,
        "feature_names": model.feature_names,
        "feature_docs": {n: model.docs.get(n, n) for n in model.feature_names},
        "threshold": model.threshold,
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
    return ScoringModel(
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
