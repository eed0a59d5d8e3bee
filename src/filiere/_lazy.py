"""Lazy import of optional heavy dependencies with a clear message naming the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from filiere.errors import MissingExtraError


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised by the minimal-import CI check
        raise MissingExtraError(module.split(".")[0], extra) from exc
