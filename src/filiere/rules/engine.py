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
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filiere.errors import UserInputError
from filiere.rules.context import EVENT_COLUMNS, ContextInputs, build_events, event_columns
from filiere.rules.spec import MissingColumnError, Rule, render, resolved_params
from filiere.rules.window import AVG, COUNT, AggPlan, plan_aggregates, window_aggregate, window_count_distinct

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
    #: pieces for the shared-scan path (see :mod:`filiere.rules.window`)
    when_sql: str = "TRUE"
    having_sql: str = "TRUE"
    values_sql: str = "NULL::VARCHAR"
    group_cols: tuple[str, ...] = ()
    gk_sql: str = ""
    source: str = "events"
    #: event columns ``having`` reads (besides the aggregates)
    having_columns: frozenset[str] = frozenset()


@dataclass
class RuleRun:
    """The outcome of running a rule set: hits, alerts (hits grouped per subject and episode), and
    the rules that could not run (with why)."""

    hits: pa.Table
    compiled: list[CompiledRule]
    skipped: dict[str, str] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    #: alerts already grouped (rules run as SQL)
    eager_alerts: pa.Table = field(default_factory=ALERTS_SCHEMA.empty_table)
    #: (rule, the events it looked at in the groups it hit) whose alerts are grouped on first use
    pending_alerts: list[tuple[CompiledRule, pa.Table]] = field(default_factory=list)
    _alerts: pa.Table | None = None

    @property
    def alerts(self) -> pa.Table:
        """Hits grouped per subject and episode (:data:`ALERTS_SCHEMA`), computed on first use: a
        caller that only needs the hits (the model's rule flags) never pays for them."""
        if self._alerts is None:
            self._alerts = _group_alerts(self.hits, self.eager_alerts, self.pending_alerts)
            self.pending_alerts = []
        return self._alerts


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
    having_used = u - set(rule.aggregates)
    used |= having_used
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
    return CompiledRule(
        rule,
        sql,
        frozenset(used),
        base_sql,
        hits_sql,
        when_sql=when_sql,
        having_sql=having_sql,
        values_sql=values_sql,
        group_cols=tuple(group_cols),
        gk_sql=gk_sql,
        source=source,
        having_columns=frozenset(having_used),
    )


def _alerts_sql(c: CompiledRule, base: str = "__b") -> str:
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
            FROM g JOIN {base} b ON b.gk = g.group_key
                 AND b.ts BETWEEN g.first_ts - INTERVAL '{win} seconds' AND g.last_ts
            GROUP BY g.group_key, g.episode
        )
        SELECT '{c.rule.id}' AS rule_id, g.group_key, g.first_ts, g.last_ts, g.triggers, g.trigger_tx_ids,
               m.tx_ids[1:{MAX_MEMBERS}] AS tx_ids, len(m.tx_ids) AS members, m.accounts, m.amount_usd, g."values"
        FROM g JOIN m USING (group_key, episode)
    """


#: the columns every hit carries
_OUT_COLUMNS = ("tx_id", "account", "ts", "direction", "amount_usd")


def run_rules(
    rules: Sequence[Rule],
    inputs: ContextInputs,
    *,
    global_params: Mapping[str, Any] | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
    shared: bool = True,
) -> RuleRun:
    """Run every enabled rule over ``inputs``; hits in :data:`HITS_SCHEMA`, alerts in
    :data:`ALERTS_SCHEMA`.

    ``shared`` (default): the events table holds only the columns the rules read, rules with the same
    grouping share one scan and one sort, and window aggregates are compiled sliding windows
    (:mod:`filiere.rules.window`). ``shared=False`` runs each rule as its own SQL statement (the
    reference the shared path is tested against; a rule the shared path cannot plan runs that way too).
    """
    own = con is None
    con = con or duckdb.connect()
    try:
        gp = dict(global_params or {})
        vocab = event_columns(inputs)
        compiled: list[CompiledRule] = []
        skipped: dict[str, str] = {}
        active = [r for r in rules if r.enabled]
        for rule in active:
            try:
                compiled.append(compile_rule(rule, vocab, gp))
            except MissingColumnError as exc:
                skipped[rule.id] = f"needs column {exc.column!r}, not in this data"
                log.info("rule %s skipped: %s", rule.id, skipped[rule.id])
        planned: dict[str, list[AggPlan]] = {}
        if shared:
            for c in compiled:
                plan = plan_aggregates(c.rule, vocab, gp)
                if plan is not None:
                    planned[c.rule.id] = plan
        needed: set[str] | None = None
        if shared:
            needed = set(_OUT_COLUMNS)
            for c in compiled:
                needed |= c.columns
                if c.rule.id not in planned:
                    needed |= {"counterparty", "party_id"}
        build_events(con, inputs, needed)
        con.execute(f"CREATE OR REPLACE TEMP TABLE rule_hits AS SELECT * FROM ({_empty_hits_sql()}) LIMIT 0")
        con.register("__empty_alerts", ALERTS_SCHEMA.empty_table())
        con.execute("CREATE OR REPLACE TEMP TABLE rule_alerts AS SELECT * FROM __empty_alerts")
        groups: dict[tuple[str, str], list[CompiledRule]] = {}
        for c in compiled:
            if c.rule.id in planned:
                groups.setdefault((c.gk_sql, c.source), []).append(c)
            else:
                _run_sql_rule(con, c)
        full_events = not shared
        pending: list[tuple[CompiledRule, pa.Table]] = []
        for (gk_sql, source), members in groups.items():
            for c in _run_group(con, gk_sql, source, members, planned, pending):
                # an argument the kernels do not take (e.g. a string): this rule runs as SQL
                if not full_events:
                    build_events(con, inputs)
                    full_events = True
                _run_sql_rule(con, c)
        for r in rules:
            if not r.enabled:
                skipped[r.id] = "disabled"
        hits = _fetch(con, "SELECT * FROM rule_hits ORDER BY rule_id, ts, tx_id").cast(HITS_SCHEMA)
        alerts = _fetch(con, "SELECT * FROM rule_alerts ORDER BY rule_id, first_ts, group_key").cast(ALERTS_SCHEMA)
        con.execute("DROP TABLE IF EXISTS __b; DROP TABLE IF EXISTS __rh")
        return RuleRun(
            hits=hits,
            compiled=compiled,
            skipped=skipped,
            rules=list(rules),
            eager_alerts=alerts,
            pending_alerts=pending,
        )
    finally:
        if own:
            con.close()


def _run_sql_rule(con: duckdb.DuckDBPyConnection, c: CompiledRule) -> None:
    """One rule as its own SQL statements (base, hits, alerts)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE __b AS {c.base_sql}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE __rh AS {c.hits_sql}")
    con.execute("INSERT INTO rule_hits SELECT * FROM __rh")
    con.execute(f"INSERT INTO rule_alerts {_alerts_sql(c)}")


def _run_group(
    con: duckdb.DuckDBPyConnection,
    gk_sql: str,
    source: str,
    members: list[CompiledRule],
    planned: Mapping[str, list[AggPlan]],
    pending: list[tuple[CompiledRule, pa.Table]],
) -> list[CompiledRule]:
    """The rules of one grouping: one scan of the events, one (group, time) sort, then per rule its
    window aggregates (compiled kernels) and its ``having`` (SQL over the rule's candidate rows).

    Returns the rules it could not run (an aggregate argument the kernels do not take)."""
    cols: dict[str, str] = {c: f'"{c}"' for c in _OUT_COLUMNS}
    single = members[0].group_cols
    # a single VARCHAR column is its own group key (CAST AS VARCHAR would not change it)
    gk_col = single[0] if len(single) == 1 and single[0] in ("tx_id", "account", "direction") else None
    if gk_col is None:
        cols["gk"] = gk_sql
    for c in members:
        for h in sorted(c.having_columns):
            cols.setdefault(h, f'"{h}"')
    args: dict[str, str] = {}  # argument SQL -> column
    masks: dict[str, str] = {}  # condition SQL -> column
    for c in members:
        masks.setdefault(c.when_sql, f"__w{len(masks)}")
        for a in planned[c.rule.id]:
            if a.arg_sql is not None and a.arg_sql not in args:
                args[a.arg_sql] = f"__x{len(args)}"
            if a.filter_sql is not None:
                cond = f"({c.when_sql}) AND ({a.filter_sql})"
                masks.setdefault(cond, f"__w{len(masks)}")
    select = [f"{sql} AS {name}" for name, sql in cols.items()]
    select += [f"({sql}) AS {name}" for sql, name in args.items()]
    select += [f"coalesce(({sql}), FALSE) AS {name}" for sql, name in masks.items()]
    any_when = " OR ".join(f"({c.when_sql})" for c in members)
    scan = _fetch(con, f"SELECT {', '.join(select)} FROM {source} WHERE {any_when}")
    if scan.num_rows == 0:
        return []
    left: list[CompiledRule] = []
    gk_name = gk_col or "gk"
    gk = scan.column(gk_name)
    windowed = [c for c in members if planned[c.rule.id]]
    order = part = ts = None
    if windowed:
        part = _codes(gk)
        ts = scan.column("ts").cast(pa.timestamp("us")).cast(pa.int64()).to_numpy(zero_copy_only=False)
        order = np.lexsort((ts, part))
    mask_np = {name: _bool(scan.column(name)) for name in masks.values()}
    arg_cache: dict[str, tuple[np.ndarray, np.ndarray, bool]] = {}
    code_cache: dict[str, np.ndarray] = {}
    n = scan.num_rows
    gk_arr = scan.column(gk_name)
    if not pa.types.is_string(gk_arr.type):
        gk_arr = gk_arr.cast(pa.string())
    for c in members:
        when = mask_np[masks[c.when_sql]]
        plans = planned[c.rule.id]
        extra: dict[str, pa.Array] = {}
        if plans:
            assert order is not None and part is not None and ts is not None
            sel = order[when[order]]
            p_s, t_s = part[sel], ts[sel]
            window_us = int(c.rule.window_s or 0) * 1_000_000
            for a in plans:
                fmask = mask_np[masks[f"({c.when_sql}) AND ({a.filter_sql})"]] if a.filter_sql is not None else when
                if a.distinct:
                    assert a.arg_sql is not None
                    xname = args[a.arg_sql]
                    if xname not in code_cache:
                        code_cache[xname] = _codes(scan.column(xname), nulls=-1)
                    codes = np.where(fmask, code_cache[xname], -1)[sel]
                    full = np.zeros(n, np.int64)
                    full[sel] = window_count_distinct(p_s, t_s, codes, window_us)
                    extra[a.name] = pa.array(full)
                    continue
                if a.arg_sql is None:
                    vals, notnull, is_int = np.ones(n), np.ones(n, np.bool_), True
                else:
                    xname = args[a.arg_sql]
                    if xname not in arg_cache:
                        arg_cache[xname] = _numeric(scan.column(xname))
                    vals, notnull, is_int = arg_cache[xname]
                    if not len(vals):
                        break
                valid = (fmask & notnull)[sel]
                out, ok = window_aggregate(p_s, t_s, vals[sel], valid, window_us, a.kind)
                full_v = np.zeros(n, np.float64)
                full_ok = np.zeros(n, np.bool_)
                full_v[sel] = out
                full_ok[sel] = ok
                extra[a.name] = _typed(full_v, full_ok, a.kind, is_int)
            if len(extra) < len(plans):
                left.append(c)
                continue
        keep = list(dict.fromkeys([*_OUT_COLUMNS, *sorted(c.having_columns)]))
        tbl = scan.select(keep).append_column("gk", gk_arr)
        for name, arr in extra.items():
            tbl = tbl.append_column(name, arr)
        tbl = tbl.append_column("__when", pa.array(when))
        con.register("__cb", tbl)
        try:
            row = con.execute(
                f"INSERT INTO rule_hits SELECT '{c.rule.id}' AS rule_id, tx_id, account, gk AS group_key, ts, "
                f"direction, amount_usd, {c.values_sql} AS values FROM __cb WHERE __when AND ({c.having_sql})"
            ).fetchone()
            if row and row[0]:
                hit_keys = _fetch(con, f"SELECT DISTINCT group_key FROM rule_hits WHERE rule_id = '{c.rule.id}'")
                in_hit_group = pc.is_in(gk_arr, value_set=hit_keys.column(0).combine_chunks())
                mask = pc.and_(pa.chunked_array([pa.array(when)]), in_hit_group)
                base = scan.select(["tx_id", "account", "ts", "amount_usd"]).append_column("gk", gk_arr)
                pending.append((c, base.filter(mask)))
        finally:
            con.unregister("__cb")
    return left


def _group_alerts(hits: pa.Table, eager: pa.Table, pending: Sequence[tuple[CompiledRule, pa.Table]]) -> pa.Table:
    """Alerts of the rules in ``pending`` (their hits in ``hits``, the events they looked at in the
    hit groups), with the ``eager`` ones, ordered by rule, first time and group."""
    con = duckdb.connect()
    try:
        con.register("__eager", eager)
        con.execute("CREATE TEMP TABLE rule_alerts AS SELECT * FROM __eager")
        for c, base in pending:
            con.register("__rh", hits.filter(pc.equal(hits.column("rule_id"), c.rule.id)))
            con.register("__cb", base)
            con.execute(f"INSERT INTO rule_alerts {_alerts_sql(c, '__cb')}")
            con.unregister("__rh")
            con.unregister("__cb")
        out = _fetch(con, "SELECT * FROM rule_alerts ORDER BY rule_id, first_ts, group_key")
    finally:
        con.close()
    return out.cast(ALERTS_SCHEMA)


def _codes(arr: pa.ChunkedArray | pa.Array, nulls: int = -1) -> np.ndarray:
    """Dense integer codes of ``arr``'s values (nulls become ``nulls``)."""
    enc = pc.dictionary_encode(arr)
    chunks = enc.chunks if isinstance(enc, pa.ChunkedArray) else [enc]
    if len(chunks) > 1:
        enc = pa.chunked_array(chunks).unify_dictionaries()
        chunks = enc.chunks
    idx = pa.chunked_array([ch.indices for ch in chunks], type=chunks[0].indices.type) if chunks else pa.array([])
    out = pc.fill_null(idx, nulls).to_numpy(zero_copy_only=False).astype(np.int64)
    return np.asarray(out)


def _bool(arr: pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=np.bool_)


def _numeric(arr: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, bool]:
    """(float64 values, not-null mask, integer type?) of an aggregate's argument."""
    t = arr.type
    if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)):
        return np.empty(0), np.empty(0, np.bool_), False
    notnull = np.asarray(pc.is_valid(arr).to_numpy(zero_copy_only=False), dtype=np.bool_)
    vals = pc.fill_null(arr.cast(pa.float64()), 0.0).to_numpy(zero_copy_only=False)
    return np.asarray(vals, dtype=np.float64), notnull, pa.types.is_integer(t)


def _typed(out: np.ndarray, ok: np.ndarray, kind: int, is_int: bool) -> pa.Array:
    """The kernel's result in the type DuckDB gives the aggregate (count: BIGINT; sum, min, max of an
    integer: integer; otherwise DOUBLE)."""
    if kind == COUNT:
        return pa.array(out.astype(np.int64))
    mask = ~ok
    if is_int and kind != AVG:
        return pa.array(np.rint(out).astype(np.int64), mask=mask)
    return pa.array(out, mask=mask)


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
    """Per transaction, one 0/1 column ``rule_<id>`` per rule (the model's rule features).

    One hash lookup of the hits' transaction ids in ``tx_ids`` (unique ids); repeated ids take the
    SQL path, which flags every row of an id."""
    ids = tx_ids.combine_chunks() if isinstance(tx_ids, pa.ChunkedArray) else tx_ids
    n = len(ids)
    if rule_ids and pc.count_distinct(ids, mode="only_valid").as_py() == n - ids.null_count and not ids.null_count:
        pos = pc.index_in(hits.column("tx_id"), value_set=ids)
        found = pos.is_valid()
        cols: dict[str, pa.Array] = {"tx_id": ids}
        rid = hits.column("rule_id")
        for r in rule_ids:
            sel = pc.and_(found, pc.equal(rid, r))
            rows = pc.filter(pos, sel).to_numpy(zero_copy_only=False).astype(np.int64)
            flag = np.zeros(n, np.int8)
            flag[rows] = 1
            cols[flag_name(r)] = pa.array(flag)
        return pa.table(cols)
    return _rule_flags_sql(hits, tx_ids, rule_ids)


def _rule_flags_sql(hits: pa.Table, tx_ids: pa.Array | pa.ChunkedArray, rule_ids: Sequence[str]) -> pa.Table:
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
