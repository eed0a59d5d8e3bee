"""Compile rules to DuckDB SQL and run them over the events context.

Each rule becomes one ``SELECT`` over ``events_f``: a ``WHERE`` from ``when``, window aggregates
``OVER (PARTITION BY <group> ORDER BY ts RANGE BETWEEN <window> PRECEDING AND CURRENT ROW)`` (causal:
an event sees only events at or before its time), and a filter from ``having``. Hits are the
triggering events; ``rule_hits`` collects them for every rule in one table.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from filiere.errors import UserInputError
from filiere.rules.context import EVENT_COLUMNS, ContextInputs, build_events
from filiere.rules.spec import MissingColumnError, Rule, render, resolved_params

log = logging.getLogger(__name__)

_GROUP_KEY = {"transaction": "tx_id", "account": "account", "party": "party_id"}

HITS_SCHEMA = pa.schema(
    [
        ("rule_id", pa.string()),
        ("tx_id", pa.string()),
        ("account", pa.string()),
        ("group_key", pa.string()),
        ("ts", pa.timestamp("us")),
        ("direction", pa.string()),
        ("amount_usd", pa.float64()),
        ("values", pa.string()),
    ]
)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    sql: str
    columns: frozenset[str]


@dataclass
class RuleRun:
    """The outcome of running a rule set: hits, and the rules that could not run (with why)."""

    hits: pa.Table
    compiled: list[CompiledRule]
    skipped: dict[str, str] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)


def compile_rule(rule: Rule, columns: frozenset[str], global_params: Mapping[str, Any]) -> CompiledRule:
    """The SQL of ``rule`` over ``events_f`` (raises ``MissingColumnError`` if a column is absent)."""
    params = resolved_params(rule, global_params)
    where = rule.source or rule.id
    when_sql, used = render(rule.when, where=f"{where}: when", columns=columns, params=params)
    agg_cols: list[str] = []
    window_s = rule.window_s
    key = _GROUP_KEY[rule.scope]
    if rule.aggregates and rule.scope == "transaction":
        raise UserInputError(f"{where}: scope 'transaction' takes no aggregates (use account or party)")
    if rule.aggregates and window_s is None:
        raise UserInputError(f"{where}: aggregates need a window (e.g. window: 24h)")
    for name, expr in rule.aggregates.items():
        sql, u = render(
            expr, where=f"{where}: aggregates.{name}", columns=columns, params=params, allow_aggregates=True
        )
        used |= u
        agg_cols.append(f'{sql} OVER w AS "{name}"')
    having_cols = columns | frozenset(rule.aggregates)
    having_sql, u = render(rule.having, where=f"{where}: having", columns=having_cols, params=params)
    used |= u - set(rule.aggregates)
    values = ", ".join(f"'{n}': \"{n}\"" for n in rule.aggregates)
    values_sql = f"to_json({{{values}}})::VARCHAR" if values else "NULL::VARCHAR"
    select_cols = ", ".join(sorted({"tx_id", "account", "party_id", "ts", "direction", "amount_usd"} | used))
    window_clause = (
        f" WINDOW w AS (PARTITION BY {key} ORDER BY ts "
        f"RANGE BETWEEN INTERVAL '{int(window_s)} seconds' PRECEDING AND CURRENT ROW)"
        if agg_cols and window_s is not None
        else ""
    )
    aggs = (", " + ", ".join(agg_cols)) if agg_cols else ""
    # the features join only when the rule reads a feature
    source = "events" if used <= set(EVENT_COLUMNS) else "events_f"
    sql = (
        f"WITH b AS (SELECT {select_cols} FROM {source} WHERE ({when_sql})), "
        f"a AS (SELECT b.*{aggs} FROM b{window_clause}) "
        f"SELECT '{rule.id}' AS rule_id, tx_id, account, CAST({key} AS VARCHAR) AS group_key, ts, direction, "
        f"amount_usd, {values_sql} AS values FROM a WHERE ({having_sql})"
    )
    return CompiledRule(rule, sql, frozenset(used))


def run_rules(
    rules: Sequence[Rule],
    inputs: ContextInputs,
    *,
    global_params: Mapping[str, Any] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> RuleRun:
    """Run every enabled rule over ``inputs``; hits in :data:`HITS_SCHEMA`."""
    own = con is None
    con = con or duckdb.connect()
    try:
        columns = build_events(con, inputs)
        con.execute(f"CREATE OR REPLACE TEMP TABLE rule_hits AS SELECT * FROM ({_empty_hits_sql()}) LIMIT 0")
        compiled: list[CompiledRule] = []
        skipped: dict[str, str] = {}
        active = [r for r in rules if r.enabled]
        for rule in active:
            try:
                c = compile_rule(rule, columns, global_params or {})
            except MissingColumnError as exc:
                skipped[rule.id] = f"needs column {exc.column!r}, not in this data"
                log.info("rule %s skipped: %s", rule.id, skipped[rule.id])
                continue
            con.execute(f"INSERT INTO rule_hits {c.sql}")
            compiled.append(c)
        for r in rules:
            if not r.enabled:
                skipped[r.id] = "disabled"
        hits = _fetch(con, "SELECT * FROM rule_hits ORDER BY rule_id, ts, tx_id").cast(HITS_SCHEMA)
        return RuleRun(hits=hits, compiled=compiled, skipped=skipped, rules=list(rules))
    finally:
        if own:
            con.close()


def _empty_hits_sql() -> str:
    return (
        "SELECT NULL::VARCHAR AS rule_id, NULL::VARCHAR AS tx_id, NULL::VARCHAR AS account, "
        "NULL::VARCHAR AS group_key, NULL::TIMESTAMP AS ts, NULL::VARCHAR AS direction, "
        "NULL::DOUBLE AS amount_usd, NULL::VARCHAR AS values"
    )


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    rel = con.sql(sql)
    fetch = getattr(rel, "to_arrow_table", None) or rel.arrow
    tbl = fetch()
    assert isinstance(tbl, pa.Table)
    return tbl


def rule_flags(hits: pa.Table, tx_ids: pa.Array | pa.ChunkedArray, rule_ids: Sequence[str]) -> pa.Table:
    """Per transaction, one 0/1 column ``rule_<id>`` per rule (the model's rule features)."""
    con = duckdb.connect()
    try:
        con.register("__h", hits)
        n = len(tx_ids)
        con.register("__ids", pa.table({"tx_id": tx_ids, "rn": pa.array(range(n), pa.int64())}))
        if not rule_ids:
            return _fetch(con, "SELECT tx_id FROM __ids")
        cols = ", ".join(
            f"coalesce(max(CASE WHEN h.rule_id = '{r}' THEN 1 ELSE 0 END), 0)::TINYINT AS \"{flag_name(r)}\""
            for r in rule_ids
        )
        sql = (
            f"SELECT i.tx_id, {cols} FROM __ids i LEFT JOIN (SELECT DISTINCT rule_id, tx_id FROM __h) h "
            "USING (tx_id) GROUP BY i.tx_id"
        )
        flags = _fetch(con, sql)
        # keep the caller's row order
        con.register("__f", flags)
        return _fetch(
            con,
            "SELECT f.* FROM __ids i JOIN __f f USING (tx_id) ORDER BY i.rn",
        )
    finally:
        con.close()


def flag_name(rule_id: str) -> str:
    return "rule_" + rule_id.replace("-", "_")
