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


@njit(cache=True, inline="always")
def _go_left(fval: float, node: int, threshold: np.ndarray, flags: np.ndarray, cat_off: np.ndarray,
             cats: np.ndarray) -> bool:  # fmt: skip
    """LightGBM's decision at ``node`` for the value ``fval`` (True: the left child)."""
    fl = flags[node]
    if fl & 8:  # categorical: left when the integer value is in the node's set
        if not np.isnan(fval) and fval >= 0:
            iv = int(fval)
            for k in range(cat_off[node], cat_off[node + 1]):
                if cats[k] == iv:
                    return True
        return False
    missing = fl & 3
    if np.isnan(fval) and missing != 2:
        fval = 0.0
    if (missing == 1 and abs(fval) <= _K_ZERO) or (missing == 2 and np.isnan(fval)):
        return bool((fl & 4) != 0)
    return bool(fval <= threshold[node])


@njit(cache=True)  # short: GIL kept (re-taking it after a nogil call can wait up to 5 ms)
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
            while node >= 0:  # _go_left written out: inlined, it made this loop 3x slower
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


# TreeSHAP (Lundberg et al., Algorithm 2) as LightGBM's Tree::TreeSHAP computes it, with the same
# floating-point operations in the same order. The unique path of each depth is a slice of four flat
# arrays (feature, zero fraction, one fraction, weight), the parent's path followed by the child's.


@njit(cache=True, inline="always")
def _count(node: int, node_count: np.ndarray, leaf_count: np.ndarray) -> float:
    return float(node_count[node]) if node >= 0 else float(leaf_count[-node - 1])


@njit(cache=True)
def _extend(pf: np.ndarray, pz: np.ndarray, po: np.ndarray, pw: np.ndarray, base: int, depth: int,
            zero: float, one: float, feat: int) -> None:  # fmt: skip
    pf[base + depth] = feat
    pz[base + depth] = zero
    po[base + depth] = one
    pw[base + depth] = 1.0 if depth == 0 else 0.0
    for i in range(depth - 1, -1, -1):
        pw[base + i + 1] += one * pw[base + i] * (i + 1) / (depth + 1)
        pw[base + i] = zero * pw[base + i] * (depth - i) / (depth + 1)


@njit(cache=True)
def _unwind(pf: np.ndarray, pz: np.ndarray, po: np.ndarray, pw: np.ndarray, base: int, depth: int,
            index: int) -> None:  # fmt: skip
    one = po[base + index]
    zero = pz[base + index]
    nxt = pw[base + depth]
    for i in range(depth - 1, -1, -1):
        if one != 0:
            tmp = pw[base + i]
            pw[base + i] = nxt * (depth + 1) / ((i + 1) * one)
            nxt = tmp - pw[base + i] * zero * (depth - i) / (depth + 1)
        else:
            pw[base + i] = (pw[base + i] * (depth + 1)) / (zero * (depth - i))
    for i in range(index, depth):
        pf[base + i] = pf[base + i + 1]
        pz[base + i] = pz[base + i + 1]
        po[base + i] = po[base + i + 1]


@njit(cache=True)
def _unwound_sum(pz: np.ndarray, po: np.ndarray, pw: np.ndarray, base: int, depth: int, index: int) -> float:
    one = po[base + index]
    zero = pz[base + index]
    nxt = pw[base + depth]
    total = 0.0
    for i in range(depth - 1, -1, -1):
        if one != 0:
            tmp = nxt * (depth + 1) / ((i + 1) * one)
            total += tmp
            nxt = pw[base + i] - tmp * zero * ((depth - i) / (depth + 1))
        elif zero != 0:
            total += (pw[base + i] / zero) / ((depth - i) / (depth + 1))
    return total


@njit(cache=True)
def _shap_tree(
    x: np.ndarray, phi: np.ndarray, root: int, pf: np.ndarray, pz: np.ndarray, po: np.ndarray, pw: np.ndarray,
    stack_i: np.ndarray, stack_f: np.ndarray,
    feature: np.ndarray, threshold: np.ndarray, left: np.ndarray, right: np.ndarray, flags: np.ndarray,
    cat_off: np.ndarray, cats: np.ndarray, leaf_value: np.ndarray, node_count: np.ndarray, leaf_count: np.ndarray,
) -> None:  # fmt: skip
    """One tree's contributions added to ``phi``: LightGBM's recursion, hot child before cold, as a
    loop over an explicit stack of pending calls (node, depth, parent's path start, feature | zero
    and one fractions). A pending call's parent path is not written until it runs: the hot child's
    calls write only after it."""
    top = 0
    stack_i[0, 0], stack_i[0, 1], stack_i[0, 2], stack_i[0, 3] = root, 0, 0, -1
    stack_f[0, 0], stack_f[0, 1] = 1.0, 1.0
    top = 1
    while top > 0:
        top -= 1
        node, depth, parent, feat = stack_i[top, 0], stack_i[top, 1], stack_i[top, 2], stack_i[top, 3]
        zero, one = stack_f[top, 0], stack_f[top, 1]
        base = parent + depth  # this call's path: the parent's (depth elements) copied after it
        for k in range(depth):
            pf[base + k] = pf[parent + k]
            pz[base + k] = pz[parent + k]
            po[base + k] = po[parent + k]
            pw[base + k] = pw[parent + k]
        _extend(pf, pz, po, pw, base, depth, zero, one, feat)
        if node < 0:
            value = leaf_value[-node - 1]
            for i in range(1, depth + 1):
                w = _unwound_sum(pz, po, pw, base, depth, i)
                phi[pf[base + i]] += w * (po[base + i] - pz[base + i]) * value
            continue
        split = feature[node]
        if _go_left(x[split], node, threshold, flags, cat_off, cats):
            hot, cold = left[node], right[node]
        else:
            hot, cold = right[node], left[node]
        w = node_count[node]
        hot_zero = _count(hot, node_count, leaf_count) / w
        cold_zero = _count(cold, node_count, leaf_count) / w
        in_zero = 1.0
        in_one = 1.0
        index = 0
        while index <= depth:
            if pf[base + index] == split:
                break
            index += 1
        if index != depth + 1:
            in_zero = pz[base + index]
            in_one = po[base + index]
            _unwind(pf, pz, po, pw, base, depth, index)
            depth -= 1
        # cold pushed first: the hot child (and all below it) runs first, as in the recursion
        stack_i[top, 0], stack_i[top, 1], stack_i[top, 2], stack_i[top, 3] = cold, depth + 1, base, split
        stack_f[top, 0], stack_f[top, 1] = cold_zero * in_zero, 0.0
        stack_i[top + 1, 0], stack_i[top + 1, 1], stack_i[top + 1, 2], stack_i[top + 1, 3] = hot, depth + 1, base, split
        stack_f[top + 1, 0], stack_f[top + 1, 1] = hot_zero * in_zero, in_one
        top += 2


@njit(cache=True)  # short: GIL kept (re-taking it after a nogil call can wait up to 5 ms)
def _contribs(
    X: np.ndarray,
    roots: np.ndarray,
    expected: np.ndarray,
    feature: np.ndarray,
    threshold: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    flags: np.ndarray,
    cat_off: np.ndarray,
    cats: np.ndarray,
    leaf_value: np.ndarray,
    node_count: np.ndarray,
    leaf_count: np.ndarray,
    path_size: int,
    out: np.ndarray,
) -> None:
    """TreeSHAP contributions of each row (``out[i, :-1]``) and the expected value (``out[i, -1]``)."""
    pf = np.full(path_size, -1, dtype=np.int64)
    pz = np.zeros(path_size)
    po = np.zeros(path_size)
    pw = np.zeros(path_size)
    stack_i = np.zeros((path_size, 4), dtype=np.int64)  # pending calls: at most two per level
    stack_f = np.zeros((path_size, 2))
    nf = out.shape[1] - 1
    for i in range(X.shape[0]):
        for t in range(roots.shape[0]):
            root = roots[t]
            if root < 0:  # a single leaf: its value is the expected value
                out[i, nf] += leaf_value[-root - 1]
                continue
            out[i, nf] += expected[t]
            _shap_tree(X[i], out[i], root, pf, pz, po, pw, stack_i, stack_f, feature, threshold, left, right,
                       flags, cat_off, cats, leaf_value, node_count, leaf_count)  # fmt: skip


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
        node_count: list[float] = []  # training rows through each node and leaf (TreeSHAP's covers)
        leaf_count: list[float] = []
        expected: list[float] = []
        deepest = 0

        def visit(node: dict[str, Any], depth: int) -> int:
            nonlocal deepest
            deepest = max(deepest, depth)
            if "leaf_value" in node:
                leaves.append(float(node["leaf_value"]))
                leaf_count.append(float(node.get("leaf_count", 0)))
                return -len(leaves)
            me = len(feature)
            feature.append(int(node["split_feature"]))
            node_count.append(float(node.get("internal_count", 0)))
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
            left[me] = visit(node["left_child"], depth + 1)
            right[me] = visit(node["right_child"], depth + 1)
            return me

        for tree in dump["tree_info"]:
            first = len(leaves)
            root = visit(tree["tree_structure"], 0)
            roots.append(root)
            if root >= 0:  # LightGBM's Tree::ExpectedValue: leaves in leaf-index order, weighted by count
                idx = _leaf_indices(tree["tree_structure"])
                order = [first + j for _, j in sorted(zip(idx, range(len(idx)), strict=True))]
                total = node_count[root]
                ev = 0.0
                for k in order:
                    ev += leaf_count[k] / total * leaves[k]
                expected.append(ev)
            else:
                expected.append(0.0)
        self.roots = np.array(roots, dtype=np.int64)
        self.feature = np.array(feature, dtype=np.int64)
        self.threshold = np.array(threshold, dtype=np.float64)
        self.left = np.array(left, dtype=np.int64)
        self.right = np.array(right, dtype=np.int64)
        self.flags = np.array(flags, dtype=np.int64)
        self.cat_off = np.array(cat_off, dtype=np.int64)
        self.cats = np.array(cats or [0], dtype=np.int64)
        self.leaf_value = np.array(leaves, dtype=np.float64)
        self.node_count = np.array(node_count or [1.0], dtype=np.float64)
        self.leaf_count = np.array(leaf_count, dtype=np.float64)
        self.expected = np.array(expected, dtype=np.float64)
        self._path_size = (deepest + 2) * (deepest + 3) // 2
        self._has_counts = all(c > 0 for c in node_count)

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

    @property
    def can_explain(self) -> bool:
        """Whether :meth:`contrib` can run (the dump held every node's training count)."""
        return self._has_counts

    def contrib(self, X: np.ndarray) -> np.ndarray:
        """What ``booster.predict(X, pred_contrib=True)`` gives: TreeSHAP contributions of each
        feature, then the expected value (n × (features + 1)); equal up to float rounding (tested).
        Raises :class:`ValueError` when the model was saved without its node counts."""
        if not self._has_counts:
            raise ValueError("the model has no node counts (TreeSHAP needs them)")
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] < self.num_features:
            raise ValueError(f"expected a matrix with {self.num_features} columns, got shape {X.shape}")
        out = np.zeros((X.shape[0], X.shape[1] + 1), dtype=np.float64)
        _contribs(X, self.roots, self.expected, self.feature, self.threshold, self.left, self.right, self.flags,
                  self.cat_off, self.cats, self.leaf_value, self.node_count, self.leaf_count, self._path_size,
                  out)  # fmt: skip
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        """What ``booster.predict(X)`` gives: probabilities for binary models, raw values otherwise."""
        raw = self.raw_score(X)
        if self.sigmoid is None:
            return raw
        return 1.0 / (1.0 + np.exp(-self.sigmoid * raw))


def _leaf_indices(tree: dict[str, Any]) -> list[int]:
    """``leaf_index`` of each leaf of a dumped tree, in the depth-first order of ``visit``."""
    out: list[int] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if "leaf_value" in node:
            out.append(int(node.get("leaf_index", len(out))))
        else:
            stack.append(node["right_child"])
            stack.append(node["left_child"])
    return out


def compile_booster(booster: Any) -> CompiledBooster | None:
    """The compiled booster, or None when the model is of a kind that is not compiled."""
    try:
        return CompiledBooster(booster)
    except (ValueError, KeyError):
        return None


__all__ = ["CompiledBooster", "compile_booster"]
