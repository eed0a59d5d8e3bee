"""Honest temporal evaluation: sort by time, train on the first 60%, pick the threshold on the next
20%, report on the last 20% — the AMLworld protocol — with a raw-columns LightGBM baseline run on
the same split.

Features are causal (a transaction sees only transactions at or before its time), so computing them
once over the whole file leaks nothing from the future into earlier rows; labels are never features.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from filiere.errors import UserInputError
from filiere.io.ftm import ACCOUNT_PROPS, PARTY_FIELDS
from filiere.rules import load_global_params, load_rules
from filiere.rules.context import ContextInputs, load_tagpacks
from filiere.rules.engine import flag_name
from filiere.rules.spec import Rule
from filiere.scoring.features import RAW_FEATURES, FeatureSet, build_features
from filiere.scoring.model import Fitted, TrainConfig, binary_metrics, fit

log = logging.getLogger(__name__)

SPLIT = (0.6, 0.2, 0.2)


@dataclass(frozen=True, slots=True)
class Split:
    train: slice
    val: slice
    test: slice


def sort_by_time(tx: pa.Table) -> pa.Table:
    """Rows in time order (ties kept in file order)."""
    if "source_row" in tx.column_names and tx.num_rows and not tx.column("source_row").null_count:
        ts = tx.column("ts").cast(pa.int64()).to_numpy(zero_copy_only=False)
        rows = tx.column("source_row").to_numpy(zero_copy_only=False)
        increasing = bool(np.all(np.diff(rows) > 0))  # file order: then unique, and ties keep it
        if increasing or len(np.unique(rows)) == len(rows):  # (ts, source_row) is then a total order
            if increasing and bool(np.all(np.diff(ts) >= 0)):
                return tx  # already in that order (a file written in time order)
            order = np.argsort(ts, kind="stable") if increasing else np.lexsort((rows, ts))
            return take_columns(tx, order)
    keys = [("ts", "ascending")]
    if "source_row" in tx.column_names:
        keys.append(("source_row", "ascending"))
    keys.append(("tx_id", "ascending"))
    return tx.sort_by(keys)


def take_columns(table: pa.Table, order: np.ndarray, workers: int = 2) -> pa.Table:
    """``table.take(order)``, the columns taken on ``workers`` threads (Arrow releases the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    idx = pa.array(order)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        cols = list(pool.map(lambda c: c.take(idx), table.columns))
    return pa.Table.from_arrays(cols, schema=table.schema)


def temporal_split(n: int, fractions: tuple[float, float, float] = SPLIT) -> Split:
    """Contiguous 60/20/20 slices of rows already in time order."""
    a = int(n * fractions[0])
    b = int(n * (fractions[0] + fractions[1]))
    return Split(slice(0, a), slice(a, b), slice(b, n))


def data_fingerprint(tx: pa.Table) -> dict[str, Any]:
    """Rows, time span and an order-independent hash of the transactions (ids, times, amounts, labels)."""
    con = duckdb.connect()
    try:
        con.register("__t", tx.select(["tx_id", "ts", "amount_paid", "is_laundering"]))
        n, t0, t1, h, pos = con.execute(
            "SELECT count(*), min(ts), max(ts), "
            "bit_xor(hash(tx_id, ts, amount_paid, coalesce(is_laundering, FALSE))), "
            "count(*) FILTER (WHERE is_laundering) FROM __t"
        ).fetchall()[0]
    finally:
        con.close()
    digest = hashlib.sha256(f"{n}|{t0}|{t1}|{h}".encode()).hexdigest()[:16]
    return {"rows": int(n), "ts_min": str(t0), "ts_max": str(t1), "positives": int(pos or 0), "sha": digest}


def read_pattern_rows(patterns_path: Path, header: str) -> pa.Table:
    """The transactions listed in an AMLworld ``patterns.txt`` (with a ``pattern_type`` column)."""
    from filiere.io import read_transactions

    lines: list[str] = []
    types: list[str] = []
    current: str | None = None
    for raw in patterns_path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if line.startswith("BEGIN LAUNDERING ATTEMPT"):
            current = line.split("-", 1)[1].split(":", 1)[0].strip()
        elif line.startswith("END LAUNDERING ATTEMPT"):
            current = None
        elif current and line:
            lines.append(line)
            types.append(current)
    if not lines:
        return pa.table({"key": pa.array([], pa.string()), "pattern_type": pa.array([], pa.string())})
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "patterns.csv"
        p.write_text(header + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
        res = read_transactions(p, "amlworld")
    rows = res.transactions
    keep = pc.subtract(rows.column("source_row"), 1).to_numpy()
    typ = pa.array(np.asarray(types, dtype=object)[keep], pa.string())
    return pa.table({"key": tx_keys(rows), "pattern_type": typ})


def tx_keys(tx: pa.Table) -> pa.Array:
    """A content key that identifies a transaction without its id (to match patterns.txt rows)."""
    parts = [
        pc.cast(tx.column("ts"), pa.string()),
        tx.column("from_account"),
        tx.column("to_account"),
        pc.cast(tx.column("amount_paid"), pa.string()),
        tx.column("payment_currency"),
        pc.cast(tx.column("amount_received"), pa.string()),
        tx.column("receiving_currency"),
        tx.column("payment_format"),
    ]
    return pc.binary_join_element_wise(*parts, "|").combine_chunks()


def pattern_types_for(tx: pa.Table, patterns: pa.Table) -> pa.Array:
    """Per transaction, its pattern type when it appears in a patterns.txt block, else null."""
    con = duckdb.connect()
    try:
        con.register("__k", pa.table({"key": tx_keys(tx), "rn": pa.array(np.arange(tx.num_rows))}))
        con.register("__p", patterns)
        rel = con.sql(
            "SELECT t.rn, p.pattern_type FROM __k t LEFT JOIN "
            "(SELECT key, min(pattern_type) AS pattern_type FROM __p GROUP BY key) p USING (key) ORDER BY t.rn"
        )
        fetch = getattr(rel, "to_arrow_table", None) or rel.arrow
        return fetch().column("pattern_type").combine_chunks()
    finally:
        con.close()


def pattern_types_for_positives(tx: pa.Table, patterns: pa.Table) -> pa.Array:
    """:func:`pattern_types_for` computed on the laundering rows only (null elsewhere): the report
    reads pattern types only where ``is_laundering`` holds, and patterns.txt lists laundering rows."""
    if "is_laundering" not in tx.column_names:
        return pattern_types_for(tx, patterns)
    pos = np.flatnonzero(pc.fill_null(tx.column("is_laundering"), False).to_numpy(zero_copy_only=False))
    out = np.full(tx.num_rows, None, dtype=object)
    if len(pos):
        out[pos] = np.asarray(pattern_types_for(tx.take(pa.array(pos)), patterns).to_pylist(), dtype=object)
    return pa.array(out, pa.string())


def find_beside(path: Path, names: tuple[str, ...]) -> Path | None:
    """The first of ``names`` that exists in ``path``'s folder.

    A name starting with ``*`` is a suffix after the file's stem without ``_Trans`` (AMLworld's
    ``HI-Small_Trans.csv`` sits beside ``HI-Small_Patterns.txt``).
    """
    stem = path.name.removesuffix(".csv").removesuffix("_Trans")
    for n in names:
        p = path.parent / (stem + n[1:] if n.startswith("*") else n)
        if p.exists():
            return p
    return None


def context_for_file(
    path: Path, fmt: str, shared_data: Path | None = None, *, timings: dict[str, float] | None = None
) -> ContextInputs:
    """Transactions (time-sorted) of ``path`` plus parties and accounts of a ``parties.ftm.jsonl`` beside it.

    ``timings`` receives seconds per step (``read_file_s``, ``sort_s``, ``sidecar_s``)."""
    from filiere.io import read_transactions

    tm = timings if timings is not None else {}
    ftm = find_beside(path, ("parties.ftm.jsonl",))
    listing = find_beside(path, ("accounts.csv", "*_accounts.csv")) if fmt == "amlworld" else None

    def sidecar() -> tuple[pa.Table | None, pa.Table | None]:
        t0 = time.perf_counter()
        side_accounts: pa.Table | None = None
        side_parties: pa.Table | None = None
        if ftm is not None:
            fast = read_ftm_sidecar(ftm)
            if fast is not None:
                side_accounts, side_parties = fast
            else:
                side = read_transactions(ftm, "ftm")
                side_accounts, side_parties = side.accounts, side.parties
        if listing is not None:
            # AMLworld's accounts file keys accounts as the transactions do (bank id:number) and names
            # each account's entity; a FollowTheMoney sidecar keys its BankAccounts by bank *name*, so
            # its accounts would join no transaction: its parties (same Entity IDs) enrich the listing
            side_accounts, side_parties = _accounts_from_listing(listing, side_accounts, side_parties)
        tm["sidecar_s"] = time.perf_counter() - t0
        return side_accounts, side_parties

    # the sidecar files are read beside the transactions (both mostly DuckDB, which releases the GIL)
    from concurrent.futures import ThreadPoolExecutor

    t_all = time.perf_counter()
    with ThreadPoolExecutor(max_workers=1) as pool:
        side_future = pool.submit(sidecar) if ftm is not None or listing is not None else None
        t0 = time.perf_counter()
        # with a sidecar, its accounts replace the ones derived from the transactions
        res = _read_without_accounts(path, fmt) if side_future is not None else read_transactions(path, fmt)
        tm["read_file_s"] = time.perf_counter() - t0
        side_accounts, side_parties = side_future.result() if side_future is not None else (None, None)
    tm["read_and_sidecar_s"] = time.perf_counter() - t_all
    if res.transactions.num_rows == 0:
        raise UserInputError(f"{path}: no transactions could be read ({res.quarantine.num_rows} quarantined)")
    no_side_accounts = side_accounts is None or not side_accounts.num_rows
    if (
        side_future is not None
        and no_side_accounts
        and not res.accounts.num_rows
        and fmt in ("amlworld", "csv", "parquet")
    ):
        from filiere.io.readers import derive_accounts  # no accounts in the sidecar after all

        res.accounts = derive_accounts(res.transactions, res.file_id)
    t0 = time.perf_counter()
    tx = sort_by_time(res.transactions)
    tm["sort_s"] = time.perf_counter() - t0
    accounts, parties = res.accounts, res.parties
    if side_parties is not None and side_parties.num_rows:
        parties = side_parties
    if side_accounts is not None and side_accounts.num_rows:
        accounts = side_accounts
    g = load_global_params()
    tagged = None
    if shared_data is not None and (shared_data / "crypto").exists():
        tagged = load_tagpacks(shared_data / "crypto")
    return ContextInputs(
        transactions=tx,
        accounts=accounts,
        parties=parties,
        tagged_addresses=tagged,
        high_risk_countries=list(g.get("high_risk_countries", [])),
    )


def _accounts_from_listing(
    listing: Path, ftm_accounts: pa.Table | None, ftm_parties: pa.Table | None
) -> tuple[pa.Table, pa.Table]:
    """Accounts of an AMLworld accounts file, with currency and properties taken from the
    FollowTheMoney sidecar's account of the same bank name and number where there is one; parties
    of the sidecar when it has them (richer: country, birth date, phone…), else the listing's."""
    from filiere.io.amlworld import read_accounts
    from filiere.io.result import file_sha256
    from filiere.model import ACCOUNT_SCHEMA

    accounts, parties, quarantine, _ = read_accounts(listing, file_sha256(listing))
    if quarantine.num_rows:
        log.warning("%s: %d account rows quarantined", listing, quarantine.num_rows)
    if ftm_accounts is not None and ftm_accounts.num_rows:
        con = duckdb.connect()
        try:
            con.register("__l", accounts)
            con.register("__f", ftm_accounts)
            accounts = (
                con.sql(
                    """
                    SELECT l.account_id, l.bank, l.account_number, l.bank_name,
                           coalesce(l.currency, f.currency) AS currency, l.kind,
                           coalesce(l.owner_party_id, f.owner_party_id) AS owner_party_id,
                           coalesce(l.properties, f.properties) AS properties, l.source_file_id
                    FROM __l l LEFT JOIN (
                        SELECT bank_name, account_number, any_value(currency) AS currency,
                               any_value(owner_party_id) AS owner_party_id, any_value(properties) AS properties
                        FROM __f GROUP BY ALL
                    ) f ON upper(f.bank_name) = upper(l.bank_name) AND f.account_number = l.account_number
                    """
                )
                .to_arrow_table()
                .cast(ACCOUNT_SCHEMA)
            )
        finally:
            con.close()
    if ftm_parties is not None and ftm_parties.num_rows:
        parties = ftm_parties
    return accounts, parties


def _read_without_accounts(path: Path, fmt: str) -> Any:
    """``read_transactions(path, fmt)`` without deriving the accounts from the transactions (a GROUP
    BY over both ends of every row), for when another file supplies them."""
    from filiere.io.readers import iter_batches, mapping_bytes
    from filiere.io.result import FORMATS, collect, file_sha256

    if fmt not in FORMATS or fmt not in ("amlworld", "csv", "parquet"):
        from filiere.io import read_transactions

        return read_transactions(path, fmt)
    file_id = file_sha256(path, mapping_bytes(None))
    return collect(iter_batches(path, fmt, file_id), file_id=file_id, path=str(path))


def _pr_curve_png(path: Path, curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    fig, ax = plt.subplots(figsize=(6, 5), dpi=110)
    for label, (y, p) in curves.items():
        if y.any():
            prec, rec, _ = precision_recall_curve(y, p)
            ax.plot(rec, prec, label=label)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def fit_and_score(
    fs: FeatureSet, names: list[str], y: np.ndarray, split: Split, config: TrainConfig, *, two_stage: bool
) -> tuple[Fitted, np.ndarray]:
    """Train on the train slice, pick the threshold on val; returns (fitted, test scores)."""
    n_train = split.train.stop
    n_val = split.val.stop - split.val.start
    fitted = fit(
        fs.table, names, [c for c in fs.categorical if c in names], y, n_train, n_val, config, two_stage=two_stage
    )
    return fitted, fitted.p_after[n_val:]


def evaluate_inputs(
    inputs: ContextInputs,
    *,
    pattern_types: pa.Array | None = None,
    config: TrainConfig | None = None,
    rules_overrides: dict[str, Any] | None = None,
    graph: bool = True,
    graph_config: Any = None,
    plot_path: Path | None = None,
    baseline: bool = True,
    features: FeatureSet | None = None,
) -> dict[str, Any]:
    """Temporal evaluation of filiere's model (and the raw baseline) on time-sorted ``inputs``.

    ``features``: the feature table of ``inputs`` computed earlier (:func:`save_features`), so that
    model settings can be compared without recomputing it."""
    t_start = time.perf_counter()
    cfg = config or TrainConfig()
    tx = inputs.transactions
    if "is_laundering" not in tx.column_names or tx.column("is_laundering").null_count == tx.num_rows:
        raise UserInputError("evaluation needs labelled transactions (is_laundering)")
    y = pc.fill_null(tx.column("is_laundering"), False).to_numpy(zero_copy_only=False).astype(np.int8)
    rules = load_rules(overrides=rules_overrides)
    t0 = time.perf_counter()
    if features is None:
        fs = build_features(
            inputs, rules=rules, global_params=load_global_params(), graph=graph, graph_config=graph_config
        )
    else:
        if features.table.num_rows != tx.num_rows:
            raise UserInputError(f"cached features have {features.table.num_rows} rows, the input {tx.num_rows}")
        fs = features
    t_features = time.perf_counter() - t0
    split = temporal_split(tx.num_rows)
    t0 = time.perf_counter()
    fitted, p_test = fit_and_score(fs, fs.names, y, split, cfg, two_stage=cfg.two_stage)
    thr = fitted.threshold
    t_train = time.perf_counter() - t0
    y_te = y[split.test]
    m = binary_metrics(y_te, p_test, thr)
    report: dict[str, Any] = {
        "f1": m["f1"],
        "precision": m["precision"],
        "recall": m["recall"],
        "pr_auc": m["pr_auc"],
        "threshold": thr,
        "alerts_per_10k": m["alerts_per_10k"],
    }
    pred = p_test >= thr
    if pattern_types is not None:
        typ = pattern_types.slice(split.test.start, split.test.stop - split.test.start)
        typed = typ.is_valid().to_numpy(zero_copy_only=False)
        pos = y_te.astype(bool)
        tpos, upos = pos & typed, pos & ~typed
        report["recall_typed"] = float(pred[tpos].mean()) if tpos.any() else None
        report["recall_untyped"] = float(pred[upos].mean()) if upos.any() else None
        report["positives_typed"] = int(tpos.sum())
        report["positives_untyped"] = int(upos.sum())
        by_type: dict[str, float] = {}
        types = np.asarray(typ.to_pylist(), dtype=object)
        for t in sorted({t for t in types[tpos] if t}):
            sel = tpos & (types == t)
            by_type[t] = float(pred[sel].mean())
        report["recall_by_pattern"] = by_type
        report.update(rules_by_pattern(fs, rules, split, y_te, pred, types, tpos))
    else:
        report.update({"recall_typed": None, "recall_untyped": None})
    report["account_f1"] = _account_f1(tx.slice(split.test.start, split.test.stop - split.test.start), p_test, thr)
    curves = {"filiere": (y_te, p_test)}
    if baseline:
        t0 = time.perf_counter()
        raw = [n for n in RAW_FEATURES if n in fs.names]
        bfit, bp_test = fit_and_score(fs, raw, y, split, cfg, two_stage=False)
        bthr = bfit.threshold
        bm = binary_metrics(y_te, bp_test, bthr)
        report.update({"baseline_f1": bm["f1"], "baseline_pr_auc": bm["pr_auc"], "baseline_threshold": bthr})
        curves["LightGBM raw columns"] = (y_te, bp_test)
        report["baseline_seconds"] = time.perf_counter() - t0
    else:
        report["baseline_f1"] = None
    report.update(
        {
            "rows_train": split.train.stop - split.train.start,
            "rows_val": split.val.stop - split.val.start,
            "rows_test": split.test.stop - split.test.start,
            "positives_test": int(y_te.sum()),
            "features": len(fitted.names),
            "two_stage": fitted.stage1 is not None,
            "trees": int(fitted.booster.num_trees()),
            "rules_ran": [c.rule.id for c in fs.rule_run.compiled] if fs.rule_run else [],
            "timings": {
                **fs.timings,
                "features_s": t_features,
                "train_s": t_train,
                **{f"fit_{k}": v for k, v in fitted.timings.items()},
            },
            "train_split_ts_max": str(tx.column("ts")[split.train.stop - 1]) if split.train.stop else None,
            "test_split_ts_min": str(tx.column("ts")[split.test.start]) if split.test.stop > split.test.start else None,
        }
    )
    if plot_path is not None:
        t0 = time.perf_counter()
        _pr_curve_png(plot_path, curves, f"precision-recall on the last 20% ({report['rows_test']:,} rows)")
        report["pr_curve"] = str(plot_path)
        report["timings"]["plot_s"] = time.perf_counter() - t0
    report["seconds"] = time.perf_counter() - t_start
    return report


#: the vectors of the terrorist-financing red flags: their rules' alerts are reported beside the
#: model's (``union_recall_by_pattern``), as an analyst's queue would hold both
TF_VECTORS = ("npo", "cell", "cyber", "crowdfunding")


def rules_by_pattern(
    fs: FeatureSet,
    rules: Sequence[Rule],
    split: Split,
    y_te: np.ndarray,
    pred: np.ndarray,
    types: np.ndarray,
    typed_pos: np.ndarray,
    vectors: tuple[str, ...] = TF_VECTORS,
) -> dict[str, Any]:
    """Test-slice recall per pattern type of the rules (the transactions a rule fired on) beside the
    model's, the recall of model ∪ rules, and the extra rows each rule puts in front of an analyst.

    Read from the rule flag columns of ``fs`` (no rule is rerun). ``rules_recall_by_pattern``: any
    rule of ``vectors``; ``union_recall_by_pattern``: model or any of them; ``rule_load``: per rule,
    flagged test rows per 10,000, their precision, and rows per 10,000 the model did not flag."""
    vec = {flag_name(r.id): r.vector for r in rules}
    flags = [c for c in fs.table.column_names if c.startswith("rule_") and c in vec]
    n_te = max(len(y_te), 1)
    pos = y_te.astype(bool)
    tf = np.zeros(len(y_te), np.bool_)
    load: dict[str, dict[str, Any]] = {}
    fired: dict[str, dict[str, int]] = {}
    patt = sorted({t for t in types[typed_pos] if t})
    for c in flags:
        col = fs.table.column(c).slice(split.test.start, len(y_te))
        f = np.asarray(col.to_numpy(), dtype=np.int8).astype(np.bool_)
        if vec[c] in vectors:
            tf |= f
        n = int(f.sum())
        load[c] = {
            "vector": vec[c],
            "per_10k": round(n * 10_000 / n_te, 2),
            "precision": round(float(pos[f].mean()), 4) if n else None,
            "extra_per_10k": round(int((f & ~pred).sum()) * 10_000 / n_te, 2),
        }
        for t in patt:
            k = int((f & typed_pos & (types == t)).sum())
            if k:
                fired.setdefault(t, {})[c] = k
    union = pred | tf
    out: dict[str, Any] = {
        "rules_recall_by_pattern": {},
        "union_recall_by_pattern": {},
        "positives_by_pattern": {},
        "rules_fired_by_pattern": fired,
        "rule_load": load,
        "tf_rule_vectors": list(vectors),
        "union_recall": float(union[pos].mean()) if pos.any() else None,
        "union_precision": float(pos[union].mean()) if union.any() else None,
        "tf_rules_extra_per_10k": round(int((tf & ~pred).sum()) * 10_000 / n_te, 2),
        "tf_rules_extra_precision": float(pos[tf & ~pred].mean()) if (tf & ~pred).any() else None,
    }
    for t in patt:
        sel = typed_pos & (types == t)
        out["positives_by_pattern"][t] = int(sel.sum())
        out["rules_recall_by_pattern"][t] = float(tf[sel].mean())
        out["union_recall_by_pattern"][t] = float(union[sel].mean())
    return out


def _account_f1(tx: pa.Table, p: np.ndarray, thr: float) -> float:
    """Account-level F1 on the test rows: an account's score is the max of its transactions' scores."""
    con = duckdb.connect()
    try:
        con.register(
            "__s",
            pa.table(
                {
                    "a": tx.column("from_account"),
                    "b": tx.column("to_account"),
                    "y": pc.fill_null(tx.column("is_laundering"), False),
                    "p": pa.array(p),
                }
            ),
        )
        tp, fp, fn = con.execute(
            f"""
            WITH e AS (SELECT a AS acc, y, p FROM __s UNION ALL SELECT b, y, p FROM __s),
            g AS (SELECT acc, bool_or(y) AS y, max(p) >= {float(thr)!r} AS flagged FROM e GROUP BY acc)
            SELECT count(*) FILTER (WHERE y AND flagged), count(*) FILTER (WHERE NOT y AND flagged),
                   count(*) FILTER (WHERE y AND NOT flagged) FROM g
            """
        ).fetchall()[0]
    finally:
        con.close()
    return float(2 * tp / (2 * tp + fp + fn)) if tp else 0.0


def evaluate_file(
    path: Path,
    fmt: str = "amlworld",
    *,
    out_dir: Path | None = None,
    shared_data: Path | None = None,
    config: TrainConfig | None = None,
    graph: bool = True,
    baseline: bool = True,
    feature_cache: Path | None = None,
) -> dict[str, Any]:
    """``filiere evaluate``: read ``path``, evaluate, write the PR-curve PNG (and report) to ``out_dir``.

    ``feature_cache``: a Parquet file of the feature table (written by :func:`save_features` on the
    first run, read instead of the file and the feature stages on later runs: for comparing model
    settings only; its timings then hold no read or feature stage)."""
    t0 = time.perf_counter()
    read_tm: dict[str, float] = {}
    patterns = find_beside(path, ("patterns.txt", "*_Patterns.txt"))
    cached: FeatureSet | None = None
    types = None
    if feature_cache is not None and feature_cache.exists():
        cached, inputs, types = load_features(feature_cache)
        t_read = time.perf_counter() - t0
        t_types = 0.0
    else:
        inputs = context_for_file(path, fmt, shared_data, timings=read_tm)
        t_read = time.perf_counter() - t0
        t1 = time.perf_counter()
        if patterns is not None and fmt == "amlworld":
            header = path.open(encoding="utf-8").readline().strip()
            types = pattern_types_for_positives(inputs.transactions, read_pattern_rows(patterns, header))
        t_types = time.perf_counter() - t1
        if feature_cache is not None:
            rules = load_rules()
            fs_t0 = time.perf_counter()
            cached = build_features(inputs, rules=rules, global_params=load_global_params(), graph=graph)
            read_tm["features_built_s"] = time.perf_counter() - fs_t0
            save_features(feature_cache, cached, inputs.transactions, types)
    out = out_dir or path.parent
    out.mkdir(parents=True, exist_ok=True)
    plot = out / f"{path.stem}.pr_curve.png"
    report = evaluate_inputs(
        inputs, pattern_types=types, config=config, graph=graph, plot_path=plot, baseline=baseline, features=cached
    )
    report["timings"]["read_s"] = t_read
    report["timings"].update(read_tm)
    report["timings"]["pattern_types_s"] = t_types
    report["seconds"] = time.perf_counter() - t0
    report["file"] = str(path)
    report["patterns_file"] = str(patterns) if patterns else None
    return report


#: columns of the transactions a cached feature table also keeps (labels, and what the report reads)
_CACHE_TX = ("is_laundering",)


def save_features(path: Path, fs: FeatureSet, tx: pa.Table, pattern_types: pa.Array | None) -> None:
    """Write ``fs`` (and the labels and pattern types of ``tx``) to one Parquet file, for
    :func:`load_features`."""
    import pyarrow.parquet as pq

    table = fs.table
    for c in _CACHE_TX:
        table = table.append_column(f"__{c}", tx.column(c))
    if pattern_types is not None:
        table = table.append_column("__pattern_type", pattern_types)
    meta = {"names": fs.names, "categorical": fs.categorical, "docs": fs.docs, "timings": fs.timings}
    table = table.replace_schema_metadata({b"filiere_features": json.dumps(meta).encode()})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")


def load_features(path: Path) -> tuple[FeatureSet, ContextInputs, pa.Array | None]:
    """The feature set, minimal inputs (ids, times, accounts, labels) and pattern types written by
    :func:`save_features`."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    raw = (table.schema.metadata or {}).get(b"filiere_features")
    if raw is None:
        raise UserInputError(f"{path}: not a feature cache (no filiere_features metadata)")
    meta = json.loads(raw)
    types = table.column("__pattern_type").combine_chunks() if "__pattern_type" in table.column_names else None
    tx = table.select(["tx_id", "ts", "from_account", "to_account"])
    for c in _CACHE_TX:
        tx = tx.append_column(c, table.column(f"__{c}"))
    keep = [c for c in table.column_names if not c.startswith("__")]
    fs = FeatureSet(
        table=table.select(keep).replace_schema_metadata(None),
        names=list(meta["names"]),
        categorical=list(meta["categorical"]),
        docs=dict(meta["docs"]),
        timings={},  # the stages were not run now: report none
    )
    return fs, ContextInputs(transactions=tx), types


#: the FtM schemata the columnar sidecar reader handles; a file with any other falls back to the
#: FtM reader (``filiere.io``), which validates every entity with the followthemoney model
_SIDECAR_PARTIES = ("Person", "Company", "Organization", "LegalEntity")
_PARTY_PROPS = {"name": ("name",), **PARTY_FIELDS}  # the FtM reader's columns, so both give the same tables
_ACCOUNT_USED = ACCOUNT_PROPS


def _known_props() -> pa.Table:
    """(schema, prop) pairs the followthemoney model knows for the sidecar schemata."""
    from followthemoney import model

    rows: list[tuple[str, str]] = []
    for name in (*_SIDECAR_PARTIES, "BankAccount", "Ownership"):
        schema = model.get(name)
        if schema is not None:
            rows.extend((name, p) for p in schema.properties)
    return pa.table({"schema": [r[0] for r in rows], "prop": [r[1] for r in rows]})


def read_ftm_sidecar(path: Path, file_id: str | None = None) -> tuple[pa.Table, pa.Table] | None:
    """Accounts and parties of a FollowTheMoney sidecar (``parties.ftm.jsonl``), read columnar.

    One DuckDB ``read_json`` scan instead of one followthemoney proxy per line (42 s for the 230,000
    entities of a 1M-row world; this: ~2 s). Handles the files filiere's scenario generator writes:
    Person/Company/Organization/LegalEntity, BankAccount and Ownership, one value per property, no
    duplicate ids. Returns ``None`` for anything else (the caller falls back to
    ``read_transactions(path, "ftm")``); the output equals that reader's (tested), properties
    compared as JSON objects.
    """
    import duckdb

    from filiere.io.result import file_sha256
    from filiere.model import ACCOUNT_SCHEMA, PARTY_SCHEMA

    fid = file_id or file_sha256(path)
    con = duckdb.connect()
    try:
        con.execute("SET threads TO 2")
        try:
            con.execute(
                "CREATE TEMP TABLE e AS SELECT row_number() OVER () AS n, id, schema, properties FROM read_json(?, "
                "format = 'newline_delimited', columns = {id: 'VARCHAR', schema: 'VARCHAR', "
                "properties: 'MAP(VARCHAR, VARCHAR[])'})",
                [str(path)],
            )
        except duckdb.Error:
            return None
        schemas = "(" + ", ".join(f"'{s}'" for s in (*_SIDECAR_PARTIES, "BankAccount", "Ownership")) + ")"
        ok = con.execute(
            f"""
            SELECT count(*) FILTER (WHERE schema IS NULL OR schema NOT IN {schemas}
                                    OR id IS NULL OR id = '' OR properties IS NULL) = 0
               AND count(*) = count(DISTINCT id)
               AND coalesce(max(list_max(list_transform(map_values(properties), lambda v: len(v)))), 0) <= 1
               AND count(*) FILTER (WHERE schema = 'Ownership' AND (coalesce(properties['owner'][1], '') = ''
                                    OR coalesce(properties['asset'][1], '') = '')) = 0
               AND count(DISTINCT properties['asset'][1]) FILTER (WHERE schema = 'Ownership')
                   = count(*) FILTER (WHERE schema = 'Ownership')
               AND count(*) FILTER (WHERE schema = 'BankAccount'
                                    AND NOT regexp_full_match(coalesce(properties['bic'][1], '')
                                        || coalesce(properties['bankName'][1], ''), '[\\x00-\\x7F]*')) = 0
            FROM e
            """
        ).fetchall()
        if not ok or not ok[0][0]:
            return None
        # one value per property: p['x'][1] is the value as written (what the FtM reader's _first
        # returns); the leftover properties are those the followthemoney model knows for the schema
        known = _known_props()
        con.register(
            "__known",
            pa.table(
                {
                    "schema": sorted(set(known.column("schema").to_pylist())),
                    "props": [
                        [
                            p
                            for s_, p in zip(
                                known.column("schema").to_pylist(), known.column("prop").to_pylist(), strict=True
                            )
                            if s_ == name
                        ]
                        for name in sorted(set(known.column("schema").to_pylist()))
                    ],
                }
            ),
        )

        def first(props: tuple[str, ...]) -> str:
            return "coalesce(" + ", ".join(f"nullif(properties['{p}'][1], '')" for p in props) + ")"

        def others(used: tuple[str, ...] | list[str]) -> str:
            return (
                "to_json(map_from_entries(list_sort(list_filter(map_entries(properties), lambda x: "
                f"list_contains(k.props, x.key) AND x.key NOT IN {_sql_list(used)} "
                "AND x.value[1] IS NOT NULL AND x.value[1] <> ''))))"
            )

        used_party = sorted({p for ps in _PARTY_PROPS.values() for p in ps})
        party_cols = ", ".join(f"{first(ps)} AS {col}" for col, ps in _PARTY_PROPS.items())
        parties = _fetch_arrow(
            con,
            f"""
            SELECT id AS party_id, schema, {party_cols}, NULL AS entity_type,
                   nullif({others(used_party)}::VARCHAR, '{{}}') AS properties, '{fid}' AS source_file_id
            FROM e JOIN __known k USING (schema)
            WHERE schema IN {_sql_list(_SIDECAR_PARTIES)}
            ORDER BY n
            """,
        )
        accounts = _fetch_arrow(
            con,
            f"""
            WITH a AS (
                SELECT n, id, {first(("iban", "accountNumber"))} AS number, {first(("bic",))} AS bic,
                       {first(("bankName",))} AS bank_name, {others(_ACCOUNT_USED)} AS others
                FROM e JOIN __known k USING (schema) WHERE schema = 'BankAccount'
            ), b AS (
                SELECT *, upper(coalesce(CASE WHEN length(bic) = 11 AND upper(bic) LIKE '%XXX' THEN upper(bic)[1:8]
                                              ELSE nullif(bic, '') END, bank_name, 'FTM')) AS bank,
                       replace(coalesce(number, 'ID/' || id), ' ', '') AS acct_number
                FROM a
            ), o AS (
                SELECT properties['asset'][1] AS asset, properties['owner'][1] AS owner
                FROM e WHERE schema = 'Ownership'
            )
            SELECT bank || ':' || acct_number AS account_id, bank, acct_number AS account_number, bank_name,
                   NULL AS currency, 'bank' AS kind, o.owner AS owner_party_id,
                   json_merge_patch(json_object('ftm_id', id), others)::VARCHAR AS properties,
                   '{fid}' AS source_file_id
            FROM b LEFT JOIN o ON o.asset = b.id ORDER BY b.n
            """,
        )
    finally:
        con.close()
    return accounts.cast(ACCOUNT_SCHEMA), parties.cast(PARTY_SCHEMA)


def _sql_list(items: tuple[str, ...] | list[str]) -> str:
    return "(" + ", ".join("'" + i.replace("'", "''") + "'" for i in items) + ")"


def _fetch_arrow(con: Any, sql: str) -> pa.Table:
    rel = con.sql(sql)
    fetch = getattr(rel, "to_arrow_table", None) or rel.arrow
    tbl = fetch()
    assert isinstance(tbl, pa.Table)
    return tbl
