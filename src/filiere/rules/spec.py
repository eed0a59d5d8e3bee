"""Rule definitions: YAML files compiled to DuckDB SQL.

A rule is data, not code. It names the rows it looks at (``when``), the per-group aggregates it
computes over a causal time window (``aggregates``, ``window``, ``scope``) and the condition that
raises a hit (``having``). Expressions are a small, validated subset of SQL: column names of the
evaluation context, numbers, quoted strings, ``$param`` references, comparison and arithmetic
operators, a fixed list of functions. Anything else is refused with the file and field named, so a
rule file can never inject arbitrary SQL.

Example (``library/structuring.yml``)::

    id: structuring-cash
    title: Cash deposits just below the reporting threshold
    scope: account            # transaction | account | party
    window: 24h
    when: "direction = 'in' AND payment_format = 'Cash' AND amount_usd BETWEEN $low AND $threshold"
    aggregates:
      n: "count(*)"
    having: "n >= $min_count"
    params: {threshold: 10000, low: 9000, min_count: 3}
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from filiere.errors import UserInputError

LIBRARY_DIR = Path(__file__).with_name("library")
#: the library file holding parameters shared by every rule (``$high_risk_countries``…)
GLOBALS_FILE = "_params.yml"

Scope = Literal["transaction", "account", "party"]
Severity = Literal["low", "medium", "high", "critical"]

KEYWORDS = frozenset(
    {
        "and", "or", "not", "in", "between", "is", "null", "true", "false", "like", "ilike",
        "case", "when", "then", "else", "end", "filter", "where", "distinct",
    }
)  # fmt: skip
#: aggregate functions: allowed only in ``aggregates``
AGGREGATES = frozenset({"count", "sum", "avg", "min", "max", "stddev_pop"})
#: scalar functions allowed anywhere
FUNCTIONS = frozenset(
    {"abs", "ln", "log10", "least", "greatest", "coalesce", "round", "floor", "ceil", "length", "lower", "upper"}
)

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<str>'(?:[^']|'')*')
  | (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<param>\$[A-Za-z_][A-Za-z0-9_]*)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|<>|!=|=|<|>|\+|-|\*|/|%|\(|\)|,)
    """,
    re.VERBOSE,
)
_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str


def tokenize(expr: str, where: str) -> list[Token]:
    """Split ``expr`` into tokens; anything outside the grammar raises naming ``where``."""
    out: list[Token] = []
    pos = 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None:
            raise UserInputError(f"{where}: unexpected character {expr[pos]!r} at position {pos} in {expr!r}")
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(Token(kind, m.group()))
        pos = m.end()
    depth = 0
    for t in out:
        if t.text == "(":
            depth += 1
        elif t.text == ")":
            depth -= 1
            if depth < 0:
                break
    if depth != 0:
        raise UserInputError(f"{where}: unbalanced parentheses in {expr!r}")
    return out


def window_seconds(text: str | None, where: str) -> int | None:
    if text is None:
        return None
    m = _WINDOW.match(str(text))
    if m is None:
        raise UserInputError(f"{where}: window {text!r} is not like '30m', '24h', '14d'")
    return int(float(m.group(1)) * _UNIT_S[m.group(2)])


def sql_literal(value: Any, where: str) -> str:
    """A parameter value as a SQL literal (lists become ``(a, b, …)`` for ``IN``)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, list | tuple):
        if not value:
            return "(NULL)"
        return "(" + ", ".join(sql_literal(v, where) for v in value) + ")"
    raise UserInputError(f"{where}: parameter value {value!r} is not a number, string, boolean or list")


class Rule(BaseModel):
    """One red-flag rule, as written in YAML."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str
    description: str = ""
    typology: str
    vector: str | None = None
    severity: Severity = "medium"
    indicators: list[str] = Field(default_factory=list, description="goAML report indicator codes")
    scope: Scope = "account"
    window: str | None = None
    #: columns naming an alert's subject (e.g. ``[party_phone]``, ``[account, counterparty]``); they
    #: also partition the window aggregates. Default: the scope's key (tx_id, account or party_id).
    group_by: list[str] = Field(default_factory=list)
    #: hits of one group closer than this in time form one alert (default: the window, at least 1d)
    alert_gap: str | None = None
    when: str = "true"
    aggregates: dict[str, str] = Field(default_factory=dict)
    having: str = "true"
    params: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    #: where the rule came from (file path), for messages
    source: str = ""

    @field_validator("aggregates")
    @classmethod
    def _agg_names(cls, v: dict[str, str]) -> dict[str, str]:
        for name in v:
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or name in KEYWORDS:
                raise ValueError(f"aggregate name {name!r} must be a lower-case identifier")
        return v

    @field_validator("group_by")
    @classmethod
    def _group_names(cls, v: list[str]) -> list[str]:
        for name in v:
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
                raise ValueError(f"group_by column {name!r} must be a lower-case identifier")
        return v

    @property
    def window_s(self) -> int | None:
        return window_seconds(self.window, f"{self.source or self.id}: window")

    @property
    def alert_gap_s(self) -> int:
        """Hits of one group at most this far apart (seconds) make one alert."""
        gap = window_seconds(self.alert_gap, f"{self.source or self.id}: alert_gap")
        if gap is not None:
            return gap
        return max(self.window_s or 0, 86400)

    def fingerprint(self) -> str:
        body = self.model_dump(exclude={"source"})
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UserInputError(f"{path}: not valid YAML: {exc}") from exc


def load_rule_file(path: Path) -> list[Rule]:
    """Rules of one YAML file (a mapping, or a list of mappings)."""
    data = _read_yaml(path)
    items = data if isinstance(data, list) else [data]
    rules: list[Rule] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise UserInputError(f"{path}: rule #{i + 1} is not a mapping")
        try:
            rules.append(Rule(**{**item, "source": str(path)}))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise UserInputError(f"{path}: rule #{i + 1} field {loc!r}: {first['msg']}") from exc
    return rules


def load_global_params(directory: Path = LIBRARY_DIR) -> dict[str, Any]:
    path = directory / GLOBALS_FILE
    if not path.exists():
        return {}
    data = _read_yaml(path) or {}
    if not isinstance(data, dict):
        raise UserInputError(f"{path}: expected a mapping of parameter names to values")
    return dict(data)


def load_rules(
    paths: Iterable[Path] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> list[Rule]:
    """The rule library (``library/*.yml``) plus extra files/folders, with workspace overrides.

    ``overrides`` is the workspace's ``rules:`` section: ``params`` (global parameters),
    ``rule_params: {rule_id: {param: value}}``, ``disabled: [rule_id…]``, ``paths: [...]``.
    """
    ov = dict(overrides or {})
    sources: list[Path] = [LIBRARY_DIR, *(Path(p) for p in ov.get("paths", []) or []), *(paths or [])]
    seen: dict[str, Rule] = {}
    for src in sources:
        files = sorted(src.glob("*.yml")) + sorted(src.glob("*.yaml")) if src.is_dir() else [src]
        for f in files:
            if f.name == GLOBALS_FILE:
                continue
            if not f.exists():
                raise UserInputError(f"{f}: rule file not found")
            for rule in load_rule_file(f):
                seen[rule.id] = rule  # later files override the library
    disabled = set(ov.get("disabled", []) or [])
    rule_params: dict[str, Any] = dict(ov.get("rule_params", {}) or {})
    out: list[Rule] = []
    for rule in seen.values():
        extra = rule_params.get(rule.id) or {}
        if extra:
            rule = rule.model_copy(update={"params": {**rule.params, **extra}})
        if rule.id in disabled:
            rule = rule.model_copy(update={"enabled": False})
        out.append(rule)
    return out


def resolved_params(rule: Rule, global_params: Mapping[str, Any]) -> dict[str, Any]:
    return {**global_params, **rule.params}


def render(
    expr: str,
    *,
    where: str,
    columns: frozenset[str],
    params: Mapping[str, Any],
    allow_aggregates: bool = False,
) -> tuple[str, set[str]]:
    """Validate ``expr`` and return (SQL text, column names it uses).

    Raises ``UserInputError`` for an unknown parameter or function or a disallowed construct;
    raises ``MissingColumnError`` for a column the context lacks (the caller may skip the rule).
    """
    tokens = tokenize(expr, where)
    out: list[str] = []
    used: set[str] = set()
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
        if tok.kind == "param":
            name = tok.text[1:]
            if name not in params:
                raise UserInputError(f"{where}: unknown parameter ${name} (define it under params:)")
            out.append(sql_literal(params[name], where))
        elif tok.kind == "ident":
            low = tok.text.lower()
            if nxt == "(" and low not in KEYWORDS:
                if low in AGGREGATES:
                    if not allow_aggregates:
                        raise UserInputError(f"{where}: aggregate {low}() belongs under aggregates:, not here")
                elif low not in FUNCTIONS:
                    raise UserInputError(f"{where}: function {tok.text}() is not allowed")
                out.append(low)
            elif low in KEYWORDS:
                out.append(low.upper())
            elif tok.text in columns:
                used.add(tok.text)
                out.append(f'"{tok.text}"')
            else:
                raise MissingColumnError(where, tok.text)
        elif tok.kind == "op":
            out.append("<>" if tok.text == "!=" else tok.text)
        else:
            out.append(tok.text)
    sql = " ".join(out).replace("( ", "(").replace(" )", ")")
    if allow_aggregates and tokens and tokens[0].text.lower() not in AGGREGATES:
        raise UserInputError(f"{where}: an aggregate must be one call like count(*) or sum(amount_usd)")
    return sql or "TRUE", used


class MissingColumnError(UserInputError):
    """A rule names a column the evaluation context does not have (e.g. a feature not computed)."""

    def __init__(self, where: str, column: str) -> None:
        super().__init__(f"{where}: unknown column {column!r}")
        self.column = column
