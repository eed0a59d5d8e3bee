"""The learned pair scorer: boosted trees over the features of an aligned name pair.

The compiled alignment (:mod:`filiere.screening._kernels`) describes each (query, listed name) pair
by :data:`FEATURE_NAMES` (coverage of each side by IDF weight, the rarest token matched, the rarest
left unmatched, how many tokens are left over, similarity of the aligned tokens, script). A small
gradient-boosted tree model (LightGBM at training time, monotone in every feature where more
evidence should never lower a score; evaluated by compiled code at serving time) is learned by
:mod:`filiere.screening.train` on UN leave-one-out aliases and
generated non-listed names, and stored in ``name_model.json`` beside this module (about 100 kB,
rebuilt reproducibly by ``python -m filiere.screening.train``). Scores stay explainable: each
feature's contribution to the logit (path attribution over the trees) is spelt out in words.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from filiere.errors import FiliereError
from filiere.screening import _kernels as _k

MODEL_PATH = Path(__file__).with_name("name_model.json")

#: feature name → (kernel index, words for an explanation)
FEATURES: dict[str, tuple[int, str]] = {
    "hand_score": (_k.F_LEGACY, "hand-set overlap score"),
    "query_cover": (_k.F_QCOVER, "share of the query's weight matched"),
    "name_cover": (_k.F_NCOVER, "share of the listed name's weight matched"),
    "strength": (_k.F_STRENGTH, "weight of the matched tokens"),
    "query_unmatched_rarest": (_k.F_Q_UNM_MAX, "rarest query word left unmatched"),
    "name_unmatched_rarest": (_k.F_N_UNM_MAX, "rarest listed word left unmatched"),
    "query_unmatched": (_k.F_Q_UNM_N, "query words left unmatched"),
    "name_unmatched": (_k.F_N_UNM_N, "listed words left unmatched"),
    "mean_similarity": (_k.F_MEAN_SIM, "similarity of the aligned words"),
    "exact_share": (_k.F_EXACT, "share of the aligned words spelt alike"),
    "rarest_exact": (_k.F_RAREST, "rarest word matched exactly"),
    "rarest_aligned": (_k.F_RAREST_SIM, "rarest word aligned (times its similarity)"),
    "pairs": (_k.F_PAIRS, "words aligned"),
    "unvoweled": (_k.F_UNVOWELED, "query in a script without short vowels"),
    "min_cover": (_k.F_MIN_COVER, "the worse-covered side's share"),
    "query_rarest_aligned": (_k.F_Q_RAREST_HIT, "similarity of the query's rarest word's alignment"),
    "entity_query_cover": (_k.F_ENT_QCOVER, "share of the query's weight found in any of the entity's names"),
    "entity_unmatched_rarest": (_k.F_ENT_Q_UNM_MAX, "rarest query word in none of the entity's names"),
    "entity_strength": (_k.F_ENT_STRENGTH, "weight of the query words found in the entity's names"),
    "entity_rarest": (_k.F_ENT_RAREST, "rarest query word found in the entity's names (times its similarity)"),
    "entity_query_rarest": (_k.F_ENT_Q_RAREST_HIT, "similarity of the query's rarest word in the entity's names"),
}
FEATURE_NAMES = tuple(sorted(FEATURES, key=lambda n: FEATURES[n][0]))
assert len(FEATURE_NAMES) == _k.N_FEAT


def gated(feat: np.ndarray, gate: float) -> np.ndarray:
    """Where the compiled search skips the trees (``feat[..., :]``: one pair or an array of them): a
    hand-set score below ``gate`` and the query mostly not found in the entity's names. The one
    Python statement of ``_kernels._learned_many``'s test, for the model and its training."""
    return (feat[..., _k.F_LEGACY] < gate) & (feat[..., _k.F_ENT_QCOVER] < _k.ENT_GATE)


class ModelError(FiliereError):
    """The name model file is missing a field or was built for other features."""

    status_code = 500


@dataclass(frozen=True, slots=True)
class NameModel:
    """Gradient-boosted trees over the pair features (flattened), and the calibration shift."""

    node_i: np.ndarray  # (nodes, 3) int64: feature (−1: leaf), left child, right child
    node_f: np.ndarray  # (nodes, 2) float64: threshold (left when feature <= it), node value
    roots: np.ndarray  # (trees,) int64
    shift: float
    meta: dict[str, object]
    #: pairs the hand-set score puts below this skip the trees (see ``_kernels._learned_many``)
    gate: float = 0.0

    def walk_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The compact pre-order arrays the search kernel walks: split feature (−1: leaf), right
        child (the left child is the next node), threshold or leaf value."""
        leaf = self.node_i[:, 0] < 0
        return (
            self.node_i[:, 0].astype(np.int8),
            self.node_i[:, 2].astype(np.int32),
            np.where(leaf, self.node_f[:, 1], self.node_f[:, 0]),
        )

    def contributions(self, feat: np.ndarray) -> tuple[np.ndarray, float]:
        """Each feature's share of the logit, and the rest (bias + calibration)."""
        contrib = np.zeros(_k.N_FEAT, dtype=np.float64)
        bias = _k.tree_contributions(np.asarray(feat, dtype=np.float64), self.node_i, self.node_f, self.roots, contrib)
        return contrib, float(bias) + self.shift

    def logit(self, feat: np.ndarray) -> float:
        contrib, rest = self.contributions(feat)
        return float(contrib.sum()) + rest

    def gated(self, feat: np.ndarray) -> bool:
        """Whether the compiled search skips the trees for this pair (see ``_kernels._learned_many``)."""
        return bool(gated(feat, self.gate))

    def score(self, feat: np.ndarray) -> float:
        """The pair score the compiled search gives (gate included)."""
        if self.gated(feat):
            return float(_k.GATED_SCALE * feat[_k.F_LEGACY])
        return sigmoid(self.logit(feat))

    def explain(self, feat: np.ndarray, top: int = 4) -> str:
        """The largest contributions in words: ``rarest word matched exactly 0.82 (+1.9)``."""
        if self.gated(feat):
            return f"model: not consulted, hand-set score {feat[_k.F_LEGACY]:.2f} below {self.gate:.2f}"
        contrib, _rest = self.contributions(feat)
        order = [int(i) for i in np.argsort(-np.abs(contrib))[:top] if abs(contrib[i]) >= 0.05]
        parts = [f"{FEATURES[FEATURE_NAMES[i]][1]} {feat[i]:.2f} ({contrib[i]:+.1f})" for i in order]
        return "model: " + (", ".join(parts) if parts else "no feature stands out")

    def to_json(self) -> dict[str, object]:
        return {
            "kind": "gbdt",
            "features": list(FEATURE_NAMES),
            "shift": self.shift,
            "gate": self.gate,
            "roots": self.roots.tolist(),
            "feature": self.node_i[:, 0].tolist(),
            "left": self.node_i[:, 1].tolist(),
            "right": self.node_i[:, 2].tolist(),
            "threshold": [round(float(x), 9) for x in self.node_f[:, 0]],
            "value": [round(float(x), 9) for x in self.node_f[:, 1]],
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict[str, object], source: str = "") -> NameModel:
        feats = data.get("features")
        if data.get("kind") != "gbdt" or feats != list(FEATURE_NAMES):
            raise ModelError(
                f"{source}: a {data.get('kind')!r} model over {feats} does not fit this version's features "
                f"{list(FEATURE_NAMES)}; rebuild it with `python -m filiere.screening.train`"
            )
        try:
            ints = np.asarray([data["feature"], data["left"], data["right"]], dtype=np.int64).T.copy()
            flts = np.asarray([data["threshold"], data["value"]], dtype=np.float64).T.copy()
            roots = np.asarray(data["roots"], dtype=np.int64)
            shift = float(data["shift"])  # type: ignore[arg-type]
            gate = float(data.get("gate", 0.0))  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{source}: malformed tree arrays: {exc}") from exc
        n = len(ints)
        inner = ints[:, 0] >= 0
        if (
            not np.all(np.isfinite(flts))
            or np.any(ints[:, 0] >= _k.N_FEAT)
            or np.any(ints[inner, 1] != np.arange(n)[inner] + 1)
            or np.any((ints[inner, 2] <= np.arange(n)[inner] + 1) | (ints[inner, 2] >= n))
            or np.any((roots < 0) | (roots >= n))
            or not math.isfinite(shift)
            or not 0.0 <= gate < 1.0
        ):
            raise ModelError(f"{source}: tree arrays out of range (pre-order: the left child is the next node)")
        meta = data.get("meta")
        return cls(ints, flts, roots, shift, meta if isinstance(meta, dict) else {}, gate)


@cache
def default_model() -> NameModel | None:
    """The committed model (``None`` when the file is absent: the hand-set score is used)."""
    if not MODEL_PATH.exists():
        return None
    return load_model(MODEL_PATH)


def load_model(path: Path) -> NameModel:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: cannot read the name model: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelError(f"{path}: expected a JSON object")
    return NameModel.from_json(data, str(path))


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


def sigmoid(z: float) -> float:
    if z < -700:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))
