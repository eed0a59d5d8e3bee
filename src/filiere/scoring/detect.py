"""``filiere train`` and ``filiere detect`` on a workspace: the model and the rules turned into
explained alerts.

An alert groups the flagged transactions one account sent on one day (``model`` alerts) or the hits
of one rule on one account/party on one day (``rule`` alerts). Each carries an explanation::

    {"summary": str,
     "features": [{"feature", "value", "contribution", "description"}],   # LightGBM pred_contrib
     "rules": [{"id", "title", "indicators", "values"}],
     "patterns": [{"pattern", "accounts", "tx_ids", ...}]}                  # filiere.graph.pattern_instances
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filiere.cases.alerts import AlertRecord, insert_alerts
from filiere.config import Settings
from filiere.errors import UserInputError
from filiere.model.schemas import ACCOUNT_SCHEMA, PARTY_SCHEMA, TRANSACTION_SCHEMA
from filiere.rules import load_global_params, load_rules
from filiere.rules.context import ContextInputs, load_tagpacks
from filiere.rules.spec import Rule
from filiere.scoring.evaluate import data_fingerprint, sort_by_time
from filiere.scoring.features import FeatureSet, build_features, to_matrix
from filiere.scoring.model import (
    ScoringModel,
    TrainConfig,
    binary_metrics,
    fit,
    load_current_model,
    models_dir,
    new_version,
    register_model,
    save_model,
    set_current,
)
from filiere.store import open_store

log = logging.getLogger(__name__)

SEVERITY_SCORE = {"low": 0.3, "medium": 0.5, "high": 0.75, "critical": 0.95}


@dataclass(frozen=True, slots=True)
class AlertBudget:
    """How many alerts one ``detect`` run may write (highest scores / severities first).

    Set in ``filiere.yml`` under ``scoring: {detect: {...}}``. Budgets are per 10,000 transactions
    of the run, with a floor so that small workspaces still see their best alerts.
    """

    model_per_10k: float = 10.0
    rules_per_10k: float = 20.0
    minimum: int = 20
    #: alerts (best first) whose pattern instances are computed (the rest link to their transactions)
    pattern_alerts: int = 50

    def cap(self, per_10k: float, n_tx: int) -> int:
        return max(self.minimum, int(per_10k * n_tx / 10_000))

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertBudget:
        cfg = dict(settings.area("scoring").get("detect") or {})
        unknown = set(cfg) - set(cls.__slots__)
        if unknown:
            raise UserInputError(f"filiere.yml scoring.detect: unknown keys {sorted(unknown)}")
        return cls(**cfg)


@dataclass
class DetectReport:
    model_version: str
    transactions: int
    flagged: int
    model_alerts: int
    rule_alerts: int
    inserted: int
    seconds: float
    rule_hits: dict[str, int] = field(default_factory=dict)
    #: groups above the threshold / rule alerts before the budget cut
    model_candidates: int = 0
    rule_candidates: int = 0
    rule_alerts_by_rule: dict[str, int] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _cast(table: pa.Table, schema: pa.Schema) -> pa.Table:
    cols = [table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
            for f in schema]  # fmt: skip
    return pa.Table.from_arrays(cols, schema=pa.schema([f.with_nullable(True) for f in schema]))


def store_inputs(settings: Settings) -> ContextInputs:
    """Transactions (time-sorted), accounts, parties and screening hits of the workspace."""
    g = load_global_params()
    rules_cfg = settings.area("rules")
    min_score = float((rules_cfg.get("params") or {}).get("list_hit_min_score", g.get("list_hit_min_score", 0.0)))
    with open_store(settings, read_only=False) as store:
        tx = store.query_arrow("SELECT * FROM transactions ORDER BY ts, source_row, tx_id")
        accounts = store.query_arrow("SELECT * FROM accounts")
        parties = store.query_arrow("SELECT * FROM parties")
        # a list hit for the rules: a screening alert not dismissed, at or above the minimum score
        hits = store.query(
            "SELECT DISTINCT unnest(party_ids) FROM alerts WHERE source = 'screening' AND party_ids IS NOT NULL "
            "AND coalesce(score, 1.0) >= ? AND coalesce(disposition, '') <> 'false_positive'",
            [min_score],
        )
    if tx.num_rows == 0:
        raise UserInputError(f"workspace {settings.workspace} holds no transactions: run `filiere ingest` first")
    tx = _cast(tx, TRANSACTION_SCHEMA)
    tagged = None
    crypto = settings.shared_data / "crypto"
    if crypto.exists():
        tagged = load_tagpacks(crypto)
    return ContextInputs(
        transactions=sort_by_time(tx),
        accounts=_cast(accounts, ACCOUNT_SCHEMA),
        parties=_cast(parties, PARTY_SCHEMA),
        tagged_addresses=tagged,
        list_hit_parties=[str(r[0]) for r in hits if r[0] is not None],
        high_risk_countries=list((rules_cfg.get("params") or {}).get("high_risk_countries", g["high_risk_countries"])),
    )


def workspace_rules(settings: Settings) -> tuple[list[Rule], dict[str, Any]]:
    cfg = settings.area("rules")
    params = {**load_global_params(), **(cfg.get("params") or {})}
    return load_rules(overrides=cfg), params


def train_config(settings: Settings) -> TrainConfig:
    return TrainConfig(**(settings.area("scoring").get("train") or {}))


def train_on_store(settings: Settings, config: TrainConfig | None = None, *, graph: bool = True) -> ScoringModel:
    """Train on the workspace's labelled transactions (first 80% by time), pick the threshold on the
    last 20%, save the artefact, register it and make it current."""
    cfg = config or train_config(settings)
    inputs = store_inputs(settings)
    tx = inputs.transactions
    labels = tx.column("is_laundering")
    if labels.null_count == tx.num_rows or not pc.any(pc.fill_null(labels, False)).as_py():
        raise UserInputError("training needs labelled transactions with at least one positive (is_laundering)")
    rules, params = workspace_rules(settings)
    fs = build_features(inputs, rules=rules, global_params=params, graph=graph)
    y = pc.fill_null(labels, False).to_numpy(zero_copy_only=False).astype(np.int8)
    n_train = int(tx.num_rows * 0.8)
    fitted = fit(fs.table, fs.names, fs.categorical, y, n_train, tx.num_rows - n_train, cfg)
    thr = fitted.threshold
    metrics = binary_metrics(y[n_train:], fitted.p_val, thr)
    fp = data_fingerprint(tx)
    model = ScoringModel(
        version=new_version(fp["sha"]),
        booster=fitted.booster,
        feature_names=fitted.names,
        threshold=thr,
        docs={**fs.docs, **fitted.docs},
        stage1=fitted.stage1,
        stage1_names=fitted.stage1_names,
        meta={
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "data_fingerprint": fp,
            "metrics": {"validation": metrics, "rows_train": n_train, "rows_val": tx.num_rows - n_train},
            "config": {
                "train": cfg.model_dump(),
                "graph": graph,
                "rules": {r.id: r.fingerprint() for r in rules if r.enabled},
                "rule_params": params,
                "categorical": fs.categorical,
            },
        },
    )
    save_model(model, models_dir(settings))
    with open_store(settings) as store:
        register_model(store, model)
    set_current(settings, model.version)
    return model


def _group_alert_rows(tx: pa.Table, scores: np.ndarray, flagged: np.ndarray) -> list[dict[str, Any]]:
    """Flagged transactions grouped by (sender account, day), best score first within a group."""
    con = duckdb.connect()
    try:
        idx = np.flatnonzero(flagged)
        con.register(
            "__f",
            pa.table(
                {
                    "i": pa.array(idx, pa.int64()),
                    "tx_id": tx.column("tx_id").take(idx),
                    "acc": tx.column("from_account").take(idx),
                    "to_acc": tx.column("to_account").take(idx),
                    "ts": tx.column("ts").take(idx),
                    "p": pa.array(scores[idx]),
                }
            ),
        )
        rel = con.sql(
            """
            SELECT acc, CAST(ts AS DATE) AS day, max(p) AS score, arg_max(i, p) AS top,
                   list(tx_id ORDER BY ts, tx_id) AS tx_ids, list(DISTINCT to_acc) AS to_accs, min(ts) AS first_ts
            FROM __f GROUP BY acc, day ORDER BY score DESC, acc, day
            """
        )
        fetch = getattr(rel, "to_arrow_table", None) or rel.arrow
        rows: list[dict[str, Any]] = fetch().to_pylist()
        return rows
    finally:
        con.close()


def _patterns_for(tx: pa.Table, ts_us: np.ndarray, row: int, config: Any) -> list[dict[str, Any]]:
    try:
        from filiere.graph import pattern_instances  # type: ignore[attr-defined]
    except ImportError:
        return []
    lo = int(np.searchsorted(ts_us, ts_us[row] - config.max_window_us(), side="left"))
    hi = int(np.searchsorted(ts_us, ts_us[row], side="right"))
    sub = tx.slice(lo, hi - lo)
    try:
        found: list[dict[str, Any]] = pattern_instances(sub, str(tx.column("tx_id")[row].as_py()), config)
    except Exception as exc:  # explanation is best effort: never lose an alert over a drawing
        log.warning("pattern instances of %s failed: %s", tx.column("tx_id")[row], exc)
        return []
    return found


def detect(
    settings: Settings,
    model: ScoringModel | None = None,
    *,
    max_pattern_alerts: int | None = None,
    rule_alerts: bool = True,
    budget: AlertBudget | None = None,
) -> DetectReport:
    """Score every transaction of the workspace with the current model, run the rules, write alerts.

    Idempotent: an alert's key is its source, subject and day, so a second run adds nothing new.
    """
    t0 = time.perf_counter()
    stages: dict[str, float] = {}
    budget = budget or AlertBudget.from_settings(settings)
    if max_pattern_alerts is not None:
        budget = AlertBudget(budget.model_per_10k, budget.rules_per_10k, budget.minimum, max_pattern_alerts)
    model = model or load_current_model(settings)
    inputs = store_inputs(settings)
    tx = inputs.transactions
    stages["load"] = time.perf_counter() - t0
    rules, params = workspace_rules(settings)
    graph = bool(model.meta.get("config", {}).get("graph", True))
    fs = build_features(inputs, rules=rules, global_params=params, graph=graph)
    stages["features"] = time.perf_counter() - t0 - sum(stages.values())
    X = to_matrix(model.prepare(fs.table), model.feature_names)
    scores = model.predict(X)
    flagged = scores >= model.threshold
    stages["score"] = time.perf_counter() - t0 - sum(stages.values())
    hits = fs.rule_run.hits if fs.rule_run is not None else None
    rules_by_id = {r.id: r for r in rules}
    tx_rules = _rules_per_tx(hits)
    all_groups = _group_alert_rows(tx, scores, flagged)
    groups = all_groups[: budget.cap(budget.model_per_10k, tx.num_rows)]
    tops = np.array([g["top"] for g in groups], dtype=np.int64)
    expl = model.explain_matrix(X[tops]) if len(tops) else []
    graph_cfg = _graph_config()
    ts_us = tx.column("ts").cast(pa.timestamp("us")).cast(pa.int64()).to_numpy()
    alerts: list[AlertRecord] = []
    for k, g in enumerate(groups):
        fired = sorted({rid for t in g["tx_ids"] for rid in tx_rules.get(t, ())})
        rule_items = [_rule_item(rules_by_id[r]) for r in fired if r in rules_by_id]
        codes = sorted({c for r in fired if r in rules_by_id for c in rules_by_id[r].indicators})
        patterns = _patterns_for(tx, ts_us, int(g["top"]), graph_cfg) if graph_cfg and k < budget.pattern_alerts else []
        feats = [c.as_dict() for c in expl[k]]
        top_words = "; ".join(c["description"] for c in feats[:3])
        n = len(g["tx_ids"])
        summary = (
            f"Account {g['acc']} sent {n} payment{'s' if n > 1 else ''} on {g['day']} scored "
            f"{g['score']:.2f} (threshold {model.threshold:.2f}). Main reasons: {top_words or 'model score'}."
        )
        if fired:
            summary += f" Rules fired: {', '.join(fired)}."
        if patterns:
            summary += f" Patterns: {', '.join(sorted({str(p.get('pattern')) for p in patterns}))}."
        alerts.append(
            AlertRecord(
                source="model",
                title=f"Suspicious payments from {g['acc']}",
                score=float(g["score"]),
                dedup_key=f"{g['acc']}|{g['day']}",
                typology=(patterns[0].get("pattern") if patterns else None)
                or (rules_by_id[fired[0]].typology if fired else None),
                indicator_codes=codes,
                rule_ids=fired,
                tx_ids=list(g["tx_ids"]),
                account_ids=[g["acc"], *[a for a in g["to_accs"] if a != g["acc"]]],
                explanation={"summary": summary, "features": feats, "rules": rule_items, "patterns": patterns},
                model_version=model.version,
                event_ts=g["first_ts"],
            )
        )
    stages["model_alerts"] = time.perf_counter() - t0 - sum(stages.values())
    n_rule_alerts = 0
    rule_candidates = 0
    by_rule: dict[str, int] = {}
    rule_hit_counts: dict[str, int] = {}
    if hits is not None and hits.num_rows:
        counts = pc.value_counts(hits.column("rule_id")).to_pylist()
        rule_hit_counts = {str(d["values"]): int(d["counts"]) for d in counts}
    if rule_alerts and fs.rule_run is not None and fs.rule_run.alerts.num_rows:
        rule_candidates = fs.rule_run.alerts.num_rows
        ralerts = rule_alerts_from(fs.rule_run.alerts, rules_by_id, budget.cap(budget.rules_per_10k, tx.num_rows))
        n_rule_alerts = len(ralerts)
        for a in ralerts:
            by_rule[a.rule_ids[0]] = by_rule.get(a.rule_ids[0], 0) + 1
        alerts.extend(ralerts)
    with open_store(settings) as store:
        inserted = insert_alerts(store, alerts)
        _write_scores(store, tx, scores, model.version)
    stages["write"] = time.perf_counter() - t0 - sum(stages.values())
    return DetectReport(
        model_version=model.version,
        transactions=tx.num_rows,
        flagged=int(flagged.sum()),
        model_alerts=len(groups),
        rule_alerts=n_rule_alerts,
        inserted=inserted,
        seconds=time.perf_counter() - t0,
        rule_hits=rule_hit_counts,
        model_candidates=len(all_groups),
        rule_candidates=rule_candidates,
        rule_alerts_by_rule=by_rule,
        stage_seconds={k: round(v, 2) for k, v in stages.items()},
    )


def _graph_config() -> Any:
    try:
        from filiere.graph import FeatureConfig
    except ImportError:
        return None
    return FeatureConfig()


def _rule_item(rule: Rule, values: Any = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": rule.id,
        "title": rule.title,
        "typology": rule.typology,
        "indicators": list(rule.indicators),
        "severity": rule.severity,
    }
    if values is not None:
        item["values"] = values
    return item


def _rules_per_tx(hits: pa.Table | None) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    if hits is None or hits.num_rows == 0:
        return out
    for t, r in zip(hits.column("tx_id").to_pylist(), hits.column("rule_id").to_pylist(), strict=True):
        out[t].add(r)
    return out


SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def rule_alerts_from(alerts: pa.Table, rules_by_id: dict[str, Rule], cap: int | None = None) -> list[AlertRecord]:
    """Alert records from the rule engine's grouped alerts (:data:`filiere.rules.engine.ALERTS_SCHEMA`):
    one per rule, group and episode, listing the member transactions. With ``cap``, the most severe
    first, then the largest amounts."""
    rows = [r for r in alerts.to_pylist() if r["rule_id"] in rules_by_id]
    rows.sort(key=lambda r: (SEVERITY_RANK[rules_by_id[r["rule_id"]].severity], -(r["amount_usd"] or 0.0)))
    if cap is not None:
        rows = rows[:cap]
    out: list[AlertRecord] = []
    for r in rows:
        rule = rules_by_id[r["rule_id"]]
        values = json.loads(r["values"]) if r["values"] else None
        n = int(r["members"])
        day0, day1 = r["first_ts"].date(), r["last_ts"].date()
        when = str(day0) if day0 == day1 else f"{day0} to {day1}"
        summary = (
            f"{rule.title}: {r['group_key']}, {when}: {n} transaction{'s' if n > 1 else ''} "
            f"({r['amount_usd'] or 0.0:,.0f} USD), {r['triggers']} of them past the threshold."
        )
        if values:
            summary += " " + ", ".join(f"{k} = {_fmt(v)}" for k, v in values.items()) + "."
        out.append(
            AlertRecord(
                source="rule",
                title=rule.title,
                score=SEVERITY_SCORE[rule.severity],
                severity=rule.severity,
                dedup_key=f"{rule.id}|{r['group_key']}|{r['first_ts'].isoformat()}",
                typology=rule.typology,
                vector=rule.vector,
                indicator_codes=list(rule.indicators),
                rule_ids=[rule.id],
                tx_ids=list(r["tx_ids"]),
                account_ids=sorted(a for a in r["accounts"] if a),
                explanation={
                    "summary": summary,
                    "features": [],
                    "rules": [_rule_item(rule, values)],
                    "patterns": [],
                    "group": {
                        "key": r["group_key"],
                        "first_ts": r["first_ts"].isoformat(),
                        "last_ts": r["last_ts"].isoformat(),
                        "members": n,
                        "triggers": list(r["trigger_tx_ids"])[:200],
                        "amount_usd": r["amount_usd"],
                    },
                },
                event_ts=r["first_ts"],
            )
        )
    return out


def _fmt(v: Any) -> str:
    return f"{v:,.2f}" if isinstance(v, float) else str(v)


def _write_scores(store: Any, tx: pa.Table, scores: np.ndarray, version: str) -> None:
    """Transaction and account scores of ``version`` (replaced on each run)."""
    data = pa.table(
        {
            "tx_id": tx.column("tx_id"),
            "from_account": tx.column("from_account"),
            "to_account": tx.column("to_account"),
            "score": pa.array(scores, pa.float64()),
        }
    )
    with store.transaction():
        store.execute("DELETE FROM detection_scores WHERE model_version = ?", [version])
        store.execute("DELETE FROM account_scores WHERE model_version = ?", [version])
        store.execute(
            "CREATE TEMP TABLE IF NOT EXISTS __scores "
            "(tx_id VARCHAR, from_account VARCHAR, to_account VARCHAR, score DOUBLE)"
        )
        store.execute("DELETE FROM __scores")
        store.insert_arrow("__scores", data)
        store.execute(
            "INSERT INTO detection_scores (tx_id, model_version, score) SELECT tx_id, ?, score FROM __scores", [version]
        )
        store.execute(
            """
            INSERT INTO account_scores (account_id, model_version, score, transactions)
            SELECT acc, ?, max(score), count(*) FROM (
                SELECT from_account AS acc, score FROM __scores UNION ALL SELECT to_account, score FROM __scores
            ) GROUP BY acc
            """,
            [version],
        )
        store.execute("DELETE FROM __scores")


def score_table(model: ScoringModel, fs: FeatureSet) -> np.ndarray:
    return model.predict(fs.table)


def top_contributions(model: ScoringModel, X: np.ndarray, rows: Sequence[int]) -> list[list[dict[str, Any]]]:
    return [[c.as_dict() for c in items] for items in model.explain_matrix(X[np.asarray(rows, dtype=np.int64)])]
