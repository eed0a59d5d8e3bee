"""LightGBM boosters compiled to flat arrays and evaluated by a numba kernel.

``Booster.predict`` costs ~65 µs per call before the first row (Python checks, ctypes) — more than
scoring a whole micro-batch. :class:`CompiledBooster` reads the trees once from
``booster.dump_model()`` and evaluates them with LightGBM's own decision rules (numerical splits
with their missing-value handling, categorical splits as category sets), giving the same raw
scores up to float rounding of the sum (tested against ``predict(raw_score=True)``).

Only single-output models (``binary``, regression objectives) are compiled; anything else raises
:class:`ValueError` and the caller keeps the booster.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

_K_ZERO = 1e-35  # LightGBM's kZeroThreshold
_MISSING_NONE, _MISSING_ZERO, _MISSING_NAN = 0, 1, 2
_MISSING = {"None": _MISSING_NONE, "Zero": _MISSING_ZERO, "NaN": _MISSING_NAN}


@njit(cache=True, nogil=True)
def _raw_scores(
    X: np.ndarray,
    roots: np.ndarray,
    feature: np.ndarray,
    threshold: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    flags: np.ndarray,
    cat_off: np.ndarray,
    cats: np.ndarray,
    leaf_value: np.ndarray,
    out: np.ndarray,
) -> None:
    for i in range(X.shape[0]):
        total = 0.0
        for t in range(roots.shape[0]):
            node = roots[t]
            while node >= 0:
                fval = X[i, feature[node]]
                fl = flags[node]
                if fl & 8:  # categorical: left when the integer value is in the node's set
                    go_left = False
                    if not np.isnan(fval) and fval >= 0:
                        iv = int(fval)
                        for k in range(cat_off[node], cat_off[node + 1]):
                            if cats[k] == iv:
                                go_left = True
                                break
                else:
                    missing = fl & 3
                    if np.isnan(fval) and missing != 2:
                        fval = 0.0
                    if (missing == 1 and abs(fval) <= _K_ZERO) or (missing == 2 and np.isnan(fval)):
                        go_left = (fl & 4) != 0
                    else:
                        go_left = fval <= threshold[node]
                node = left[node] if go_left else right[node]
            total += leaf_value[-node - 1]
        out[i] = total


class CompiledBooster:
    """The trees of a single-output LightGBM booster as flat arrays; :meth:`predict` as LightGBM's."""

    def __init__(self, booster: Any) -> None:
        dump = booster.dump_model()
        if int(dump.get("num_tree_per_iteration", 1)) != 1 or int(dump.get("num_class", 1)) != 1:
            raise ValueError("only single-output LightGBM models are compiled")
        objective = str(dump.get("objective", ""))
        self.sigmoid: float | None = None
        if objective.startswith("binary"):
            self.sigmoid = 1.0
            for part in objective.split():
                if part.startswith("sigmoid:"):
                    self.sigmoid = float(part.split(":", 1)[1])
        elif not objective.startswith(("regression", "huber", "fair", "quantile", "mape")):
            raise ValueError(f"objective {objective!r} is not compiled")
        self.num_features = int(dump["max_feature_idx"]) + 1
        feature: list[int] = []
        threshold: list[float] = []
        left: list[int] = []
        right: list[int] = []
        flags: list[int] = []
        cat_off: list[int] = [0]
        cats: list[int] = []
        leaves: list[float] = []
        roots: list[int] = []

        def visit(node: dict[str, Any]) -> int:
            if "leaf_value" in node:
                leaves.append(float(node["leaf_value"]))
                return -len(leaves)
            me = len(feature)
            feature.append(int(node["split_feature"]))
            left.append(0)
            right.append(0)
            fl = _MISSING.get(str(node.get("missing_type", "None")), 0)
            if node.get("default_left"):
                fl |= 4
            if node["decision_type"] == "==":
                fl |= 8
                threshold.append(math.nan)
                cats.extend(int(c) for c in str(node["threshold"]).split("||"))
            elif node["decision_type"] == "<=":
                threshold.append(float(node["threshold"]))
            else:
                raise ValueError(f"decision type {node['decision_type']!r} is not compiled")
            cat_off.append(len(cats))
            flags.append(fl)
            left[me] = visit(node["left_child"])
            right[me] = visit(node["right_child"])
            return me

        for tree in dump["tree_info"]:
            roots.append(visit(tree["tree_structure"]))
        self.roots = np.array(roots, dtype=np.int64)
        self.feature = np.array(feature, dtype=np.int64)
        self.threshold = np.array(threshold, dtype=np.float64)
        self.left = np.array(left, dtype=np.int64)
        self.right = np.array(right, dtype=np.int64)
        self.flags = np.array(flags, dtype=np.int64)
        self.cat_off = np.array(cat_off, dtype=np.int64)
        self.cats = np.array(cats or [0], dtype=np.int64)
        self.leaf_value = np.array(leaves, dtype=np.float64)

    @property
    def num_trees(self) -> int:
        return int(self.roots.shape[0])

    def raw_score(self, X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] < self.num_features:
            raise ValueError(f"expected a matrix with {self.num_features} columns, got shape {X.shape}")
        out = np.empty(X.shape[0], dtype=np.float64)
        _raw_scores(X, self.roots, self.feature, self.threshold, self.left, self.right, self.flags,
                    self.cat_off, self.cats, self.leaf_value, out)  # fmt: skip
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        """What ``booster.predict(X)`` gives: probabilities for binary models, raw values otherwise."""
        raw = self.raw_score(X)
        if self.sigmoid is None:
            return raw
        return 1.0 / (1.0 + np.exp(-self.sigmoid * raw))


def compile_booster(booster: Any) -> CompiledBooster | None:
    """The compiled booster, or None when the model is of a kind that is not compiled."""
    try:
        return CompiledBooster(booster)
    except (ValueError, KeyError):
        return None


__all__ = ["CompiledBooster", "compile_booster"]
