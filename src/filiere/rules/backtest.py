"""Backtest a rule set against labelled transactions: alerts raised, precision and recall per rule.

An *alert* is what an analyst would receive: one per rule, group (the rule's ``group_by``, else its
account, party or transaction) and episode. A rule's precision is the share of the transactions it
flagged that are labelled laundering; its recall is the share of all laundering transactions it
flagged; its alert precision is the share of its alerts whose member transactions hold at least one
laundering transaction, and ``alerts_per_10k`` its alert volume per 10,000 transactions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import duckdb
import pyarrow as pa

from filiere.rules.context import ContextInputs
from filiere.rules.engine import RuleRun, _fetch, run_rules
from filiere.rules.spec import Rule


@dataclass(slots=True)
class RuleScore:
    rule_id: str
    title: str
    status: str  # ran | skipped: why | disabled
    alerts: int
    tx_flagged: int
    tx_true: int
    precision: float | None
    recall: float | None
    alerts_true: int = 0
    alert_precision: float | None = None
    alerts_per_10k: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_hits(run: RuleRun, transactions: pa.Table) -> list[RuleScore]:
    """Per rule: alerts, flagged transactions, and precision/recall against ``is_laundering``."""
    con = duckdb.connect()
    try:
        con.register("__h", run.hits)
        con.register("__al", run.alerts)
        con.register("__tx", transactions.select(["tx_id", "is_laundering"]))
        n_tx = max(transactions.num_rows, 1)
        total_pos = int(con.execute("SELECT count(*) FROM __tx WHERE is_laundering").fetchall()[0][0])
        rows = _fetch(
            con,
            """
            WITH h AS (SELECT DISTINCT rule_id, tx_id FROM __h),
            u AS (SELECT rule_id, group_key, first_ts, unnest(tx_ids) AS tx_id FROM __al),
            a AS (SELECT rule_id, count(DISTINCT (group_key, first_ts)) AS alerts,
                         count(DISTINCT (group_key, first_ts)) FILTER (WHERE coalesce(t.is_laundering, FALSE))
                             AS alerts_true
                  FROM u LEFT JOIN __tx t USING (tx_id) GROUP BY rule_id)
            SELECT h.rule_id, any_value(a.alerts) AS alerts, any_value(a.alerts_true) AS alerts_true,
                   count(*) AS flagged,
                   count(*) FILTER (WHERE coalesce(t.is_laundering, FALSE)) AS tp
            FROM h JOIN a USING (rule_id) LEFT JOIN __tx t USING (tx_id) GROUP BY h.rule_id
            """,
        ).to_pylist()
    finally:
        con.close()
    by_id = {r["rule_id"]: r for r in rows}
    out: list[RuleScore] = []
    for rule in run.rules:
        if rule.id in run.skipped:
            out.append(RuleScore(rule.id, rule.title, f"skipped: {run.skipped[rule.id]}", 0, 0, 0, None, None))
            continue
        r = by_id.get(rule.id, {"alerts": 0, "alerts_true": 0, "flagged": 0, "tp": 0})
        flagged, tp = int(r["flagged"]), int(r["tp"])
        n_alerts, n_true = int(r["alerts"] or 0), int(r["alerts_true"] or 0)
        out.append(
            RuleScore(
                rule.id,
                rule.title,
                "ran",
                n_alerts,
                flagged,
                tp,
                tp / flagged if flagged else None,
                tp / total_pos if total_pos else None,
                n_true,
                n_true / n_alerts if n_alerts else None,
                round(n_alerts * 10_000 / n_tx, 2),
            )
        )
    return out


def backtest(
    rules: Sequence[Rule],
    inputs: ContextInputs,
    *,
    global_params: Mapping[str, Any] | None = None,
) -> tuple[list[RuleScore], RuleRun]:
    run = run_rules(rules, inputs, global_params=global_params)
    return score_hits(run, inputs.transactions), run
