"""Backtest a rule set against labelled transactions: alerts raised, precision and recall per rule.

An *alert* is what an analyst would receive: one per rule, group (account, party or transaction)
and day. A rule's precision is the share of the transactions it flagged that are labelled
laundering; its recall is the share of all laundering transactions it flagged.
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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def score_hits(run: RuleRun, transactions: pa.Table) -> list[RuleScore]:
    """Per rule: alerts, flagged transactions, and precision/recall against ``is_laundering``."""
    con = duckdb.connect()
    try:
        con.register("__h", run.hits)
        con.register("__tx", transactions.select(["tx_id", "is_laundering"]))
        total_pos = int(con.execute("SELECT count(*) FROM __tx WHERE is_laundering").fetchall()[0][0])
        rows = _fetch(
            con,
            """
            WITH h AS (SELECT DISTINCT rule_id, tx_id FROM __h),
            a AS (SELECT rule_id, count(DISTINCT (group_key, CAST(ts AS DATE))) AS alerts FROM __h GROUP BY rule_id)
            SELECT h.rule_id, any_value(a.alerts) AS alerts, count(*) AS flagged,
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
        r = by_id.get(rule.id, {"alerts": 0, "flagged": 0, "tp": 0})
        flagged, tp = int(r["flagged"]), int(r["tp"])
        out.append(
            RuleScore(
                rule.id,
                rule.title,
                "ran",
                int(r["alerts"]),
                flagged,
                tp,
                tp / flagged if flagged else None,
                tp / total_pos if total_pos else None,
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
