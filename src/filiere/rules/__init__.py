"""Red-flag rules: YAML definitions compiled to DuckDB SQL, a library for the typologies, backtests."""

from __future__ import annotations

from filiere.rules.spec import LIBRARY_DIR, Rule, load_global_params, load_rules

__all__ = ["LIBRARY_DIR", "Rule", "load_global_params", "load_rules"]
