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


ALERTS_SCHEMA = pa.schema(
    [
        ("rule_id", pa.string()),
        ("group_key", pa.string()),
        ("first_ts", pa.timestamp("us")),
        ("last_ts", pa.timestamp("us")),
        ("triggers", pa.int64()),
        ("trigger_tx_ids", pa.list_(pa.string())),
        ("tx_ids", pa.list_(pa.string())),
        ("members", pa.int64()),
        ("accounts", pa.list_(pa.string())),
        ("amount_usd", pa.float64()),
        ("values", pa.string()),
    ]
)

#: member transactions listed per alert (the count is exact; the list is cut)
MAX_MEMBERS = 200


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule: Rule
    #: the whole rule as one statement (hits)
    sql: str
    columns: frozenset[str]
    #: the events the rule looks at (``when``), with the group key ``gk``
    base_sql: str = ""
    #: the hits, reading the materialised base ``__b``
    hits_sql: str = ""


@dataclass
class RuleRun:
    """The outcome of running a rule set: hits, alerts (hits grouped per subject and episode), and
    the rules that could not run (with why)."""

    hits: pa.Table
    compiled: list[CompiledRule]
    skipped: dict[str, str] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    alerts: pa.Table = field(default_factory=ALERTS_SCHEMA.empty_table)


def _group_sql(rule: Rule, columns: frozenset[str], where: str) -> tuple[list[str], str]:
    cols = list(rule.group_by) or [_GROUP_KEY[rule.scope]]
    for c in cols:
        if c not in columns:
            raise MissingColumnError(f"{where}: group_by", c)
    if len(cols) == 1:
        return cols, f'CAST("{cols[0]}" AS VARCHAR)'
    return cols, "concat_ws('|', " + ", ".join(f'CAST("{c}" AS VARCHAR)' for c in cols) + ")"


def compile_rule(rule: Rule, columns: frozenset[str], global_params: Mapping[str, Any]) -> CompiledRule:
    """The SQL of ``rule`` over ``events_f`` (raises ``MissingColumnError`` if a column is absent)."""
    params = resolved_params(rule, global_params)
    where = rule.source or rule.id
    when_sql, used = render(rule.when, where=f"{where}: when", columns=columns, params=params)
    agg_cols: list[str] = []
    window_s = rule.window_s
    if rule.aggregates and rule.scope == "transaction" and not rule.group_by:
        raise UserInputError(f"{where}: scope 'transaction' takes no aggregates (use account or party)")
    if rule.aggregates and window_s is None:
        raise UserInputError(f"{where}: aggregates need a window (e.g. window: 24h)")
    group_cols, gk_sql = _group_sql(rule, columns, where)
    used |= set(group_cols)
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
    base = {"tx_id", "account", "counterparty", "party_id", "ts", "direction", "amount_usd"}
    select_cols = ", ".join(f'"{c}"' for c in sorted(base | used))
    window_clause = (
        f" WINDOW w AS (PARTITION BY gk ORDER BY ts "
        f"RANGE BETWEEN INTERVAL '{int(window_s)} seconds' PRECEDING AND CURRENT ROW)"
        if agg_cols and window_s is not None
        else ""
    )
    aggs = (", " + ", ".join(agg_cols)) if agg_cols else ""
    # the features join only when the rule reads a feature
    source = "events" if used <= set(EVENT_COLUMNS) else "events_f"
    base_sql = f"SELECT {select_cols}, {gk_sql} AS gk FROM {source} WHERE ({when_sql})"
    tail = (
        f"a AS (SELECT b.*{aggs} FROM b{window_clause}) "
        f"SELECT '{rule.id}' AS rule_id, tx_id, account, gk AS group_key, ts, direction, "
        f"amount_usd, {values_sql} AS values FROM a WHERE ({having_sql})"
    )
    sql = f"WITH b AS ({base_sql}), {tail}"
    hits_sql = f"WITH b AS (SELECT * FROM __b), {tail}"
    return CompiledRule(rule, sql, frozenset(used), base_sql, hits_sql)


def _alerts_sql(c: CompiledRule) -> str:
    """Group one rule's hits (``__rh``) into alerts: one per group and *episode* (hits of the group
    no further apart than the rule's alert gap), listing the member transactions — every event the
    rule looked at (``__b``) in the group from one window before the first hit to the last hit."""
    gap = int(c.rule.alert_gap_s)
    win = int(c.rule.window_s or 0)
    return f"""
        WITH e AS (
            SELECT *, CASE WHEN lag(ts) OVER (PARTITION BY group_key ORDER BY ts, tx_id) IS NULL
                             OR ts - lag(ts) OVER (PARTITION BY group_key ORDER BY ts, tx_id)
                                > INTERVAL '{gap} seconds' THEN 1 ELSE 0 END AS new_episode
            FROM __rh
        ), f AS (
            SELECT *, sum(new_episode) OVER (PARTITION BY group_key ORDER BY ts, tx_id
                                             ROWS UNBOUNDED PRECEDING) AS episode
            FROM e
        ), g AS (
            SELECT group_key, episode, min(ts) AS first_ts, max(ts) AS last_ts,
                   count(DISTINCT tx_id) AS triggers, list(DISTINCT tx_id ORDER BY tx_id) AS trigger_tx_ids,
                   arg_max("values", ts) AS "values"
            FROM f GROUP BY group_key, episode
        ), m AS (
            SELECT g.group_key, g.episode, list(DISTINCT b.tx_id ORDER BY b.tx_id) AS tx_ids,
                   list(DISTINCT b.account ORDER BY b.account) AS accounts,
                   sum(b.amount_usd) AS amount_usd
            FROM g JOIN __b b ON b.gk = g.group_key
                 AND b.ts BETWEEN g.first_ts - INTERVAL '{win} seconds' AND g.last_ts
            GROUP BY g.group_key, g.episode
        )
        SELECT '{c.rule.id}' AS rule_id, g.group_key, g.first_ts, g.last_ts, g.triggers, g.trigger_tx_ids,
               m.tx_ids[1:{MAX_MEMBERS}] AS tx_ids, len(m.tx_ids) AS members, m.accounts, m.amount_usd, g."values"
        FROM g JOIN m USING (group_key, episode)
    """


def run_rules(
    rules: Sequence[Rule],
    inputs: ContextInputs,
    *,
    global_params: Mapping[str, Any] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> RuleRun:
    """Run every enabled rule over ``inputs``; hits in :data:`HITS_SCHEMA`, alerts in
    :data:`ALERTS_SCHEMA`."""
    own = con is None
    con = con or duckdb.connect()
    try:
        columns = build_events(con, inputs)
        con.execute(f"CREATE OR REPLACE TEMP TABLE rule_hits AS SELECT * FROM ({_empty_hits_sql()}) LIMIT 0")
        con.register("__empty_alerts", ALERTS_SCHEMA.empty_table())
        con.execute("CREATE OR REPLACE TEMP TABLE rule_alerts AS SELECT * FROM __empty_alerts")
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
            con.execute(f"CREATE OR REPLACE TEMP TABLE __b AS {c.base_sql}")
            con.execute(f"CREATE OR REPLACE TEMP TABLE __rh AS {c.hits_sql}")
            con.execute("INSERT INTO rule_hits SELECT * FROM __rh")
            con.execute(f"INSERT INTO rule_alerts {_alerts_sql(c)}")
            compiled.append(c)
        for r in rules:
            if not r.enabled:
                skipped[r.id] = "disabled"
        hits = _fetch(con, "SELECT * FROM rule_hits ORDER BY rule_id, ts, tx_id").cast(HITS_SCHEMA)
        alerts = _fetch(con, "SELECT * FROM rule_alerts ORDER BY rule_id, first_ts, group_key").cast(ALERTS_SCHEMA)
        con.execute("DROP TABLE IF EXISTS __b; DROP TABLE IF EXISTS __rh")
        return RuleRun(hits=hits, compiled=compiled, skipped=skipped, rules=list(rules), alerts=alerts)
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
