"""Detection model: features, LightGBM training, temporal evaluation, explained alerts.

Public API (other areas use these names)::

    from filiere.scoring import load_current_model, ScoringModel, build_features, detect, train_on_store
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from filiere.scoring.detect import detect, train_on_store
    from filiere.scoring.features import build_features
    from filiere.scoring.model import Contribution, ScoringModel, load_current_model

__all__ = ["Contribution", "ScoringModel", "build_features", "detect", "load_current_model", "train_on_store"]

_LAZY = {
    "detect": "filiere.scoring.detect",
    "train_on_store": "filiere.scoring.detect",
    "build_features": "filiere.scoring.features",
    "Contribution": "filiere.scoring.model",
    "ScoringModel": "filiere.scoring.model",
    "load_current_model": "filiere.scoring.model",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'filiere.scoring' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(mod), name)
