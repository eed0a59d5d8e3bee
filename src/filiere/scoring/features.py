"""The model's feature table: raw columns, causal account history, pattern features, rule flags.

Every feature of a transaction is computed from it and from transactions at or before its time
(never later), so the same table serves training, temporal evaluation and scoring. Bulk work is
DuckDB SQL (window functions) and the pattern engine's compiled kernels; nothing loops over rows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from filiere.model.currencies import NAME_TO_CODE
from filiere.model.schemas import PAYMENT_FORMATS
from filiere.rules.context import DEFAULT_USD_RATES, ContextInputs
from filiere.rules.engine import RuleRun, flag_name, rule_flags, run_rules
from filiere.rules.spec import Rule

log = logging.getLogger(__name__)

#: stable category codes, so that a model trained on one file reads another the same way
FORMAT_CODES = {f: i for i, f in enumerate(PAYMENT_FORMATS)}
CURRENCY_CODES = {c: i for i, c in enumerate(sorted(set(NAME_TO_CODE.values()) | set(NAME_TO_CODE)))}
CATEGORICAL = ("payment_format", "payment_currency", "receiving_currency")

#: plain-words descriptions of filiere's own features (the pattern engine documents its own)
RAW_DOCS: dict[str, str] = {
    "log_amount_paid": "size of the amount paid (log scale, in its own currency)",
    "log_amount_received": "size of the amount received (log scale)",
    "log_amount_usd": "size of the amount in US dollars (log scale)",
    "payment_format": "payment format (cash, wire, ACH, cheque, card, bitcoin, mobile money…)",
    "payment_currency": "currency paid",
    "receiving_currency": "currency received",
    "cross_currency": "paid and received in different currencies",
    "same_bank": "both accounts at the same bank",
    "self_transfer": "the account paid itself",
    "hour": "hour of the day",
    "weekday": "day of the week",
    "round_amount": "whole-thousand amount",
    "cents": "fractional part of the amount",
    "from_bank_id": "the paying bank",
    "to_bank_id": "the receiving bank",
}
HISTORY_DOCS: dict[str, str] = {
    "s_n_out": "payments the sender has made so far",
    "s_n_in": "payments the sender has received so far",
    "s_age_h": "hours since the sender's first transaction",
    "s_gap_h": "hours since the sender's previous transaction",
    "s_amt_ratio": "this amount relative to the sender's average payment so far",
    "r_n_out": "payments the receiver has made so far",
    "r_n_in": "payments the receiver has received so far",
    "r_age_h": "hours since the receiver's first transaction",
    "r_gap_h": "hours since the receiver's previous transaction",
    "r_amt_ratio": "this amount relative to the receiver's average incoming payment so far",
    "pair_n": "earlier payments from this sender to this receiver",
    "pair_reverse_n": "earlier payments from this receiver back to this sender",
}
PROPAGATED_DOCS: dict[str, str] = {
    "s_prev_max_p": "highest first-stage suspicion of any earlier transaction of the sender",
    "s_prev_in_max_p": "highest first-stage suspicion of the money the sender received earlier",
    "r_prev_max_p": "highest first-stage suspicion of any earlier transaction of the receiver",
    "r_prev_out_max_p": "highest first-stage suspicion of the payments the receiver made earlier",
}
PROPAGATED_FEATURES = tuple(PROPAGATED_DOCS)
#: further account-suspicion columns (``TrainConfig.propagate_extra``, on by default; the real-time
#: service computes them in :mod:`filiere.realtime.features`)
PROPAGATED_EXTRA_DOCS: dict[str, str] = {
    "s_prev_sum_p": "sum of the first-stage suspicion of the sender's earlier transactions",
    "s_prev_mean_p": "average first-stage suspicion of the sender's earlier transactions",
    "s_prev_max_age_h": "hours since the sender's most suspicious earlier transaction",
    "r_prev_sum_p": "sum of the first-stage suspicion of the receiver's earlier transactions",
}
PROPAGATED_EXTRA = tuple(PROPAGATED_EXTRA_DOCS)
#: columns carried in the feature table for propagation (not model features)
KEY_COLUMNS = ("ts", "from_account", "to_account")
RAW_FEATURES = tuple(RAW_DOCS)
HISTORY_FEATURES = tuple(HISTORY_DOCS)


@dataclass
class FeatureSet:
    """``table``: ``tx_id`` then one column per feature name, rows in the input's order."""

    table: pa.Table
    names: list[str]
    categorical: list[str]
    docs: dict[str, str]
    rule_run: RuleRun | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def matrix(self, names: Sequence[str] | None = None) -> np.ndarray:
        return to_matrix(self.table, names or self.names)


def to_matrix(table: pa.Table, names: Sequence[str]) -> np.ndarray:
    """Float64 matrix of ``names`` (nulls become NaN); raises naming a missing feature."""
    missing = [n for n in names if n not in table.column_names]
    if missing:
        from filiere.errors import UserInputError

        raise UserInputError(f"feature table lacks {len(missing)} model feature(s): {', '.join(missing[:5])}")
    out = np.empty((table.num_rows, len(names)), dtype=np.float64)
    for j, n in enumerate(names):  # one column at a time: peak memory is the matrix, not twice it
        out[:, j] = table.column(n).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    return out


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    rel = con.sql(sql)
    fetch = getattr(rel, "to_arrow_table", None) or rel.arrow
    tbl = fetch()
    assert isinstance(tbl, pa.Table)
    return tbl


def _map_sql(name: str, mapping: Mapping[str, int]) -> str:
    cases = " ".join(f"WHEN '{k.replace(chr(39), chr(39) * 2)}' THEN {v}" for k, v in mapping.items())
    return f"CASE {name} {cases} ELSE -1 END"


def raw_and_history(
    con: duckdb.DuckDBPyConnection, usd_rates: Mapping[str, float] | None = None, *, compiled: bool = True
) -> pa.Table:
    """Raw-column and account-history features of ``__tx`` (registered in ``con`` with a row number
    column ``__rn``), in ``__rn`` order. ``compiled`` computes the history in one numba pass
    (:mod:`filiere.scoring.history`); ``False``, by the reference SQL windows (equal, tested)."""
    rates = dict(usd_rates or DEFAULT_USD_RATES)
    con.register(
        "__frates",
        pa.table({"currency": pa.array(list(rates), pa.string()), "usd": pa.array(list(rates.values()), pa.float64())}),
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE __ft AS
        SELECT t.__rn, t.tx_id, t.ts, t.from_account, t.to_account,
               t.amount_paid * coalesce(r.usd, 1.0) AS amount_usd,
               ln(1 + t.amount_paid) AS log_amount_paid, ln(1 + t.amount_received) AS log_amount_received,
               ln(1 + t.amount_paid * coalesce(r.usd, 1.0)) AS log_amount_usd,
               {_map_sql("t.payment_format", FORMAT_CODES)} AS payment_format,
               {_map_sql("t.payment_currency", CURRENCY_CODES)} AS payment_currency,
               {_map_sql("t.receiving_currency", CURRENCY_CODES)} AS receiving_currency,
               (t.payment_currency <> t.receiving_currency)::INTEGER AS cross_currency,
               (t.from_bank = t.to_bank)::INTEGER AS same_bank,
               (t.from_account = t.to_account)::INTEGER AS self_transfer,
               hour(t.ts) AS hour, dayofweek(t.ts) AS weekday,
               (t.amount_paid >= 1000 AND t.amount_paid % 1000 = 0)::INTEGER AS round_amount,
               t.amount_paid - floor(t.amount_paid) AS cents,
               coalesce(TRY_CAST(t.from_bank AS BIGINT), hash(t.from_bank) % 100000) AS from_bank_id,
               coalesce(TRY_CAST(t.to_bank AS BIGINT), hash(t.to_bank) % 100000) AS to_bank_id
        FROM __tx t LEFT JOIN __frates r ON r.currency = t.payment_currency
        """
    )
    if compiled:
        from filiere.scoring.history import account_history

        keep = ", ".join(["tx_id", *RAW_FEATURES, "ts", "from_account", "to_account", "amount_usd"])
        ft = _fetch(con, f"SELECT {keep} FROM __ft ORDER BY __rn")
        hist = account_history(
            ft.column("ts"), ft.column("from_account"), ft.column("to_account"), ft.column("amount_usd")
        )
        ft = ft.select(["tx_id", *RAW_FEATURES])
        return pa.Table.from_arrays([*ft.columns, *hist.columns], names=[*ft.column_names, *hist.column_names])
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE __fe AS
        WITH e AS (
            SELECT __rn, ts, from_account AS account, 'out' AS dir, amount_usd FROM __ft
            UNION ALL
            SELECT __rn, ts, to_account AS account, 'in' AS dir, amount_usd FROM __ft
        )
        SELECT __rn, dir,
               count(*) FILTER (WHERE dir = 'out') OVER w AS n_out,
               count(*) FILTER (WHERE dir = 'in') OVER w AS n_in,
               date_diff('second', min(ts) OVER w, ts) / 3600.0 AS age_h,
               date_diff('second', max(ts) OVER wp, ts) / 3600.0 AS gap_h,
               amount_usd / nullif(avg(amount_usd) FILTER (WHERE dir = 'out') OVER w, 0) AS out_ratio,
               amount_usd / nullif(avg(amount_usd) FILTER (WHERE dir = 'in') OVER w, 0) AS in_ratio
        FROM e
        WINDOW w AS (PARTITION BY account ORDER BY ts RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
               wp AS (PARTITION BY account ORDER BY ts
                      RANGE BETWEEN UNBOUNDED PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING)
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE __fp AS
        WITH p AS (
            SELECT __rn, ts, from_account AS a, to_account AS b, 0 AS rev FROM __ft
            UNION ALL
            SELECT __rn, ts, to_account AS a, from_account AS b, 1 AS rev FROM __ft
        )
        SELECT __rn, rev,
               count(*) FILTER (WHERE rev = 0) OVER w AS n_fwd,
               count(*) FILTER (WHERE rev = 1) OVER w AS n_rev
        FROM p
        WINDOW w AS (PARTITION BY a, b ORDER BY ts
                     RANGE BETWEEN UNBOUNDED PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING)
        """
    )
    raw = ", ".join(f"f.{c}" for c in RAW_FEATURES)
    return _fetch(
        con,
        f"""
        SELECT f.tx_id, {raw},
               s.n_out AS s_n_out, s.n_in AS s_n_in, s.age_h AS s_age_h, s.gap_h AS s_gap_h,
               s.out_ratio AS s_amt_ratio,
               r.n_out AS r_n_out, r.n_in AS r_n_in, r.age_h AS r_age_h, r.gap_h AS r_gap_h,
               r.in_ratio AS r_amt_ratio,
               pf.n_fwd AS pair_n, pr.n_fwd AS pair_reverse_n
        FROM __ft f
        JOIN __fe s ON s.__rn = f.__rn AND s.dir = 'out'
        JOIN __fe r ON r.__rn = f.__rn AND r.dir = 'in'
        JOIN __fp pf ON pf.__rn = f.__rn AND pf.rev = 0
        JOIN __fp pr ON pr.__rn = f.__rn AND pr.rev = 1
        ORDER BY f.__rn
        """,
    )


def pattern_features(transactions: pa.Table, config: Any = None) -> tuple[pa.Table | None, dict[str, str]]:
    """The pattern engine's features (``None`` when :mod:`filiere.graph` lacks them)."""
    try:
        from filiere.graph import FEATURE_DOCS, FeatureConfig, compute_features  # type: ignore[attr-defined]
    except ImportError:
        log.warning("filiere.graph.compute_features not available: no pattern features")
        return None, {}
    cfg = config if config is not None else FeatureConfig()
    feats = compute_features(transactions, cfg)
    return feats, dict(FEATURE_DOCS)


def build_features(
    inputs: ContextInputs,
    *,
    rules: Sequence[Rule] = (),
    global_params: Mapping[str, Any] | None = None,
    graph: bool = True,
    graph_config: Any = None,
    history: bool = True,
) -> FeatureSet:
    """All features of ``inputs.transactions``, rows in its order.

    ``graph=False`` leaves out the pattern engine; ``history=False`` and no rules give the
    raw-columns baseline.
    """
    tx = inputs.transactions
    timings: dict[str, float] = {}
    active = [r for r in rules if r.enabled]
    t_all = time.perf_counter()

    def history_job() -> pa.Table:
        t0 = time.perf_counter()
        con = duckdb.connect()
        try:
            con.execute("SET threads TO 2")
            con.register("__tx", tx.append_column("__rn", pa.array(np.arange(tx.num_rows, dtype=np.int64))))
            return raw_and_history(con, inputs.usd_rates)
        finally:
            con.close()
            timings["history_s"] = time.perf_counter() - t0

    def patterns_job() -> tuple[pa.Table | None, dict[str, str]]:
        t0 = time.perf_counter()
        try:
            return pattern_features(tx, graph_config)
        finally:
            timings["patterns_s"] = time.perf_counter() - t0

    def rules_job(rule_inputs: ContextInputs) -> tuple[RuleRun, pa.Table]:
        t0 = time.perf_counter()
        try:
            run = run_rules(active, rule_inputs, global_params=global_params)
            return run, rule_flags(run.hits, tx.column("tx_id"), [c.rule.id for c in run.compiled])
        finally:
            timings["rules_s"] = time.perf_counter() - t0

    # the three stages read only the transactions, so they run side by side (each releases the GIL in
    # DuckDB, Arrow and its numba kernels); the rules wait for the pattern engine only when one of
    # them reads a pattern feature
    rules_after_patterns = graph and bool(active) and _rules_read_pattern_features(active, inputs, global_params)
    with ThreadPoolExecutor(max_workers=3) as pool:
        f_hist = pool.submit(history_job)
        f_pat = pool.submit(patterns_job) if graph else None
        f_rules = pool.submit(rules_job, inputs) if active and not rules_after_patterns else None
        base = f_hist.result()
        feats, fdocs = f_pat.result() if f_pat is not None else (None, {})
    names = list(RAW_FEATURES) + (list(HISTORY_FEATURES) if history else [])
    docs: dict[str, str] = {**RAW_DOCS, **HISTORY_DOCS}
    table = base.select(["tx_id", *names])
    # not features: what the account-suspicion propagation needs (see propagate)
    for c in KEY_COLUMNS:
        table = table.append_column(c, tx.column(c))
    if feats is not None:
        fnames = [c for c in feats.column_names if c != "tx_id" and c not in names]
        if feats.num_rows != tx.num_rows:
            raise RuntimeError("pattern features do not cover every transaction")
        # compute_features returns rows in the input's order (checked on tx_id)
        if not feats.column("tx_id").equals(tx.column("tx_id")):
            feats = _align(feats, tx)
        for n in fnames:
            table = table.append_column(n, feats.column(n))
        names += fnames
        docs.update({n: fdocs.get(n, n) for n in fnames})
        inputs = ContextInputs(**{**inputs.__dict__, "features": feats})
    run: RuleRun | None = None
    if active:
        run, flags = f_rules.result() if f_rules is not None else rules_job(inputs)
        for rid in [c.rule.id for c in run.compiled]:
            n = flag_name(rid)
            table = table.append_column(n, flags.column(n))
            names.append(n)
            rule = next(r for r in active if r.id == rid)
            docs[n] = f"red-flag rule fired: {rule.title}"
    timings["features_wall_s"] = time.perf_counter() - t_all
    return FeatureSet(
        table=table,
        names=names,
        categorical=[c for c in CATEGORICAL if c in names],
        docs=docs,
        rule_run=run,
        timings=timings,
    )


def _rules_read_pattern_features(
    rules: Sequence[Rule], inputs: ContextInputs, global_params: Mapping[str, Any] | None
) -> bool:
    """Whether a rule reads a column of the pattern engine (then it must run after it)."""
    from filiere.graph import FEATURE_DOCS  # the feature list only: no compiled kernels imported
    from filiere.rules.context import event_columns
    from filiere.rules.engine import compile_rule
    from filiere.rules.spec import MissingColumnError

    pattern_cols = {c for c in FEATURE_DOCS if c not in event_columns(inputs)}
    vocab = frozenset(event_columns(inputs) | pattern_cols)
    for rule in rules:
        try:
            compiled = compile_rule(rule, vocab, dict(global_params or {}))
        except MissingColumnError:
            continue
        if compiled.columns & pattern_cols:
            return True
    return False


def _align(feats: pa.Table, tx: pa.Table) -> pa.Table:
    con = duckdb.connect()
    try:
        con.register("__f", feats)
        n = tx.num_rows
        con.register("__ids", pa.table({"tx_id": tx.column("tx_id"), "__rn": pa.array(np.arange(n))}))
        return _fetch(con, "SELECT f.* FROM __ids i JOIN __f f USING (tx_id) ORDER BY i.__rn")
    finally:
        con.close()


def propagate(table: pa.Table, p1: np.ndarray, *, extra: bool = False, compiled: bool = True) -> pa.Table:
    """Account-suspicion features from first-stage scores ``p1`` (rows of ``table``, time-sorted).

    For each transaction, the highest ``p1`` among the *earlier* transactions (strictly before its
    time) of its sender and of its receiver: dirty money received days ago makes a later payment
    from the same account suspect (AMLworld's untyped integration payments). Causal by construction.
    ``extra`` adds :data:`PROPAGATED_EXTRA` (sums, mean, time since the most suspicious transaction).
    ``compiled``: one numba pass (:mod:`filiere.scoring.history`); ``False``, the reference SQL.
    """
    if compiled:
        from filiere.scoring.history import propagate_scores

        cols = (table.column("ts"), table.column("from_account"), table.column("to_account"))
        return propagate_scores(*cols, np.asarray(p1, dtype=np.float64), extra=extra)
    con = duckdb.connect()
    try:
        con.execute("SET threads TO 2")
        con.register(
            "__p",
            pa.table(
                {
                    "rn": pa.array(np.arange(table.num_rows, dtype=np.int64)),
                    "ts": table.column("ts"),
                    "a": table.column("from_account"),
                    "b": table.column("to_account"),
                    "p": pa.array(np.asarray(p1, dtype=np.float64)),
                }
            ),
        )
        extra_cols = (
            ", coalesce(s.prev_sum, 0) AS s_prev_sum_p, coalesce(s.prev_mean, 0) AS s_prev_mean_p, "
            "s.prev_max_age_h AS s_prev_max_age_h, coalesce(r.prev_sum, 0) AS r_prev_sum_p"
            if extra
            else ""
        )
        return _fetch(
            con,
            f"""
            WITH e AS (
                SELECT rn, ts, a AS acc, 'out' AS dir, p FROM __p
                UNION ALL SELECT rn, ts, b AS acc, 'in' AS dir, p FROM __p
            ), w AS (
                SELECT rn, dir,
                       max(p) OVER w AS prev_max,
                       max(p) FILTER (WHERE dir = 'in') OVER w AS prev_in_max,
                       max(p) FILTER (WHERE dir = 'out') OVER w AS prev_out_max,
                       sum(p) OVER w AS prev_sum, avg(p) OVER w AS prev_mean,
                       date_diff('second', arg_max(ts, p) OVER w, ts) / 3600.0 AS prev_max_age_h
                FROM e
                WINDOW w AS (PARTITION BY acc ORDER BY ts
                             RANGE BETWEEN UNBOUNDED PRECEDING AND INTERVAL 1 MICROSECOND PRECEDING)
            )
            SELECT coalesce(s.prev_max, 0) AS s_prev_max_p, coalesce(s.prev_in_max, 0) AS s_prev_in_max_p,
                   coalesce(r.prev_max, 0) AS r_prev_max_p, coalesce(r.prev_out_max, 0) AS r_prev_out_max_p
                   {extra_cols}
            FROM w s JOIN w r ON r.rn = s.rn AND r.dir = 'in'
            WHERE s.dir = 'out' ORDER BY s.rn
            """,
        )
    finally:
        con.close()
