"""Temporal multigraph pattern engine: causal per-transaction features, batch and streaming.

Public API (other areas use these names)::

    from filiere.graph import FeatureConfig, compute_features, StreamingEngine, FEATURE_DOCS, pattern_instances

The compiled kernels need the ``graph`` extra (numba); they are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from filiere.graph.config import ALL_FAMILIES, FeatureConfig
from filiere.graph.features import FEATURE_DOCS, FEATURES, FeatureSpec

if TYPE_CHECKING:
    from filiere.graph.engine import StreamingEngine, compute_features, feature_names
    from filiere.graph.instances import pattern_instances

__all__ = [
    "ALL_FAMILIES",
    "FEATURES",
    "FEATURE_DOCS",
    "FeatureConfig",
    "FeatureSpec",
    "StreamingEngine",
    "compute_features",
    "feature_names",
    "pattern_instances",
]

_LAZY = {
    "StreamingEngine": "filiere.graph.engine",
    "compute_features": "filiere.graph.engine",
    "feature_names": "filiere.graph.engine",
    "pattern_instances": "filiere.graph.instances",
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'filiere.graph' has no attribute {name!r}")
    from filiere._lazy import require

    require("numba", "graph")
    import importlib

    return getattr(importlib.import_module(mod), name)
