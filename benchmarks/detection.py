"""Detection quality and speed: filiere vs the peer baseline Snap ML GFP + LightGBM, same worlds, same split.

For each template (amlworld-hi, amlworld-li) and seed, a world is generated with filiere's scenario
generator; then, on the same time-sorted transactions and the same 60/20/20 temporal split:

* **filiere**: ``filiere.scoring.evaluate.evaluate_file`` end to end (read → features: account
  history, pattern engine, rule flags → two-stage LightGBM → threshold on validation → test);
* **GFP + LightGBM**: IBM Snap ML's GraphFeaturePreprocessor (AMLworld configuration, streaming
  ``transform`` in time order, from the benchmark-only venv ``.bench-envs/gfp``) over the raw columns,
  then the same LightGBM settings, threshold on validation, report on test;
* **raw LightGBM**: the raw columns only.

The first seed is the tuning seed (any settings were chosen looking at it), the second the
reporting seed: quote the second. Run with ``nice``; one world at a time.

    nice .venv/bin/python benchmarks/detection.py --rows 1000000 --seeds 1,2

End-to-end speed alone (no peer, one seed, the per-stage table)::

    nice .venv/bin/python benchmarks/detection.py --rows 5000000 --seeds 2 --templates amlworld-hi --no-gfp --stages
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
GFP_PY = ROOT / ".bench-envs" / "gfp" / "bin" / "python"

GFP_CHILD = r"""
import json, sys, time
import numpy as np
from snapml import GraphFeaturePreprocessor
X = np.load(sys.argv[1]); params = json.loads(sys.argv[2]); batch = int(sys.argv[3])
gfp = GraphFeaturePreprocessor(); gfp.set_params(params)
t0 = time.perf_counter(); out = []
for i in range(0, len(X), batch):
    out.append(gfp.transform(X[i:i + batch]))
Y = np.vstack(out)
np.save(sys.argv[4], np.ascontiguousarray(Y[:, X.shape[1]:]))
print(json.dumps({"rows": len(X), "seconds": time.perf_counter() - t0, "features": Y.shape[1] - X.shape[1]}))
"""


def gfp_features(tx: pa.Table, workdir: Path, batch: int) -> tuple[np.ndarray | None, dict[str, Any] | str]:
    """GFP features of time-sorted ``tx`` (streaming transform in time order), rows in ``tx`` order."""
    if not GFP_PY.exists():
        return None, f"not run: {GFP_PY} missing"
    from patterns_vs_gfp import GFP_PARAMS  # the AMLworld configuration, shared with the pattern benchmark

    both = pa.chunked_array(tx.column("from_account").chunks + tx.column("to_account").chunks).combine_chunks()
    idx = both.dictionary_encode().indices.to_numpy(zero_copy_only=False).astype(np.float64)
    n = tx.num_rows
    ts = tx.column("ts").cast(pa.timestamp("s")).cast(pa.int64()).to_numpy()
    X = np.column_stack(
        [np.arange(n, dtype=np.float64), idx[:n], idx[n:], ts.astype(np.float64), tx.column("amount_paid").to_numpy()]
    )
    npy, out = workdir / "gfp_in.npy", workdir / "gfp_out.npy"
    np.save(npy, np.ascontiguousarray(X))
    proc = subprocess.run(
        [str(GFP_PY), "-c", GFP_CHILD, str(npy), json.dumps(GFP_PARAMS), str(batch), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return None, f"failed: {proc.stderr.strip()[-400:]}"
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    return np.load(out), info


def peer_baseline(path: Path, workdir: Path, batch: int) -> dict[str, Any]:
    """GFP + LightGBM and raw LightGBM on the same split as filiere."""
    from filiere.rules.context import ContextInputs
    from filiere.scoring.evaluate import context_for_file, temporal_split
    from filiere.scoring.features import RAW_FEATURES, build_features
    from filiere.scoring.model import TrainConfig, binary_metrics, fit

    inputs = context_for_file(path, "amlworld")
    tx = inputs.transactions
    y = pc.fill_null(tx.column("is_laundering"), False).to_numpy(zero_copy_only=False).astype(np.int8)
    fs = build_features(ContextInputs(tx), graph=False, history=False)
    sp = temporal_split(tx.num_rows)
    n_train, n_val = sp.train.stop, sp.val.stop - sp.val.start
    cfg = TrainConfig()
    out: dict[str, Any] = {}
    raw = [n for n in RAW_FEATURES if n in fs.names]
    f = fit(fs.table, raw, fs.categorical, y, n_train, n_val, cfg, two_stage=False)
    out["raw_f1"] = binary_metrics(y[sp.test], f.p_after[n_val:], f.threshold)["f1"]
    t0 = time.perf_counter()
    G, info = gfp_features(tx, workdir, batch)
    if G is None:
        out["gfp_f1"] = None
        out["gfp_note"] = info
        return out
    table = fs.table
    names = list(raw)
    for j in range(G.shape[1]):
        table = table.append_column(f"gfp_{j}", pa.array(G[:, j]))
        names.append(f"gfp_{j}")
    f = fit(table, names, fs.categorical, y, n_train, n_val, cfg, two_stage=False)
    m = binary_metrics(y[sp.test], f.p_after[n_val:], f.threshold)
    out.update({"gfp_f1": m["f1"], "gfp_pr_auc": m["pr_auc"], "gfp_seconds": time.perf_counter() - t0, "gfp": info})
    return out


#: (label, timing keys summed) of the end-to-end table, in pipeline order
STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("read CSV (columnar)", ("read_file_s",)),
    ("sort by time", ("sort_s",)),
    ("FtM sidecar (parties, accounts)", ("sidecar_s",)),
    ("pattern types (patterns.txt)", ("pattern_types_s",)),
    ("account history (side by side with the next two)", ("history_s",)),
    ("pattern engine (side by side)", ("patterns_s",)),
    ("rules (library, shared scans) + flags (side by side)", ("rules_s",)),
    ("features: history, patterns, rules together, wall", ("features_wall_s",)),
    ("train: first stage, out-of-fold and full boosters side by side", ("fit_stage1_oof_s", "fit_stage1_s")),
    ("train: scoring", ("fit_predict_s",)),
    ("train: propagation", ("fit_propagate_s",)),
    ("train: second stage", ("fit_stage2_s",)),
    ("PR-curve plot", ("plot_s",)),
]


def _cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _peak_rss_gb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def print_stages(results: list[dict[str, Any]]) -> None:
    """Seconds per stage of each run (wall-clock), then the total, CPU seconds, peak memory, load."""
    heads = [f"{r['template']} s{r['seed']} {r['rows']:,}" for r in results]
    print("| stage | " + " | ".join(heads) + " |")
    print("|---|" + "---:|" * len(results))
    for label, keys in STAGES:
        cells = []
        for r in results:
            tm = r["timings"]
            v = [tm[k] for k in keys if k in tm]
            cells.append(f"{sum(v):.1f}" if v else "—")
        print(f"| {label} | " + " | ".join(cells) + " |")
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("**end to end (wall s)**", lambda r: f"**{r['e2e_seconds']:.1f}**"),
        ("CPU seconds (user + sys)", lambda r: f"{r['cpu_seconds']:.1f}"),
        ("peak memory (GB, RSS)", lambda r: f"{r['peak_rss_gb']:.2f}"),
        ("load average (start → end)", lambda r: f"{r['load_avg_start']:.1f} → {r['load_avg_end']:.1f}"),
        ("F1 / PR-AUC", lambda r: f"{r['f1']:.3f} / {r['pr_auc']:.3f}"),
    ]
    for label, fn in rows:
        print(f"| {label} | " + " | ".join(fn(r) for r in results) + " |")


def rules_whole_world(path: Path, shared_data: Path | None, vectors: tuple[str, ...]) -> None:
    """The rule library alone on the whole world (rules need no training): per pattern type, its rows
    and accounts, the share of its rows a rule of ``vectors`` fired on (*trigger*) and the share listed
    in one of their alerts (*in an alert*: the events the rule looked at, which the analyst reads); then
    per rule, its alerts, the alerts holding a laundering row, and the flagged clean rows."""
    import duckdb

    from filiere.rules import load_global_params, load_rules
    from filiere.rules.engine import run_rules
    from filiere.scoring.evaluate import (
        context_for_file,
        find_beside,
        pattern_types_for_positives,
        read_pattern_rows,
    )

    inputs = context_for_file(path, "amlworld", shared_data)
    tx = inputs.transactions
    patterns = find_beside(path, ("patterns.txt", "*_Patterns.txt"))
    if patterns is None:
        print(f"{path}: no patterns.txt beside it")
        return
    header = path.open(encoding="utf-8").readline().strip()
    types = pattern_types_for_positives(tx, read_pattern_rows(patterns, header))
    rules = load_rules()
    run = run_rules(rules, inputs, global_params=load_global_params())
    chosen = [r.id for r in rules if r.vector in vectors and r.id not in run.skipped]
    con = duckdb.connect()
    try:
        y = pc.fill_null(tx.column("is_laundering"), False)
        con.register("t", pa.table({"tx_id": tx.column("tx_id"), "y": y, "typ": types}))
        con.register(
            "acc", pa.table({"tx_id": tx.column("tx_id"), "a": tx.column("from_account"), "b": tx.column("to_account")})
        )
        hits = run.hits.select(["rule_id", "tx_id"])
        con.register("h", hits.filter(pc.is_in(hits.column("rule_id"), pa.array(chosen))))
        al = run.alerts.select(["rule_id", "group_key", "first_ts", "tx_ids"])
        con.register("al", al.filter(pc.is_in(al.column("rule_id"), pa.array(chosen))))
        rows = con.execute(
            """
            WITH trig AS (SELECT DISTINCT tx_id FROM h),
            mem AS (SELECT DISTINCT unnest(tx_ids) AS tx_id FROM al),
            accs AS (SELECT typ, count(DISTINCT x) AS n FROM (
                SELECT typ, a AS x FROM t JOIN acc USING (tx_id) WHERE typ IS NOT NULL
                UNION ALL SELECT typ, b FROM t JOIN acc USING (tx_id) WHERE typ IS NOT NULL) GROUP BY typ)
            SELECT typ, count(*) AS n, any_value(accs.n) AS accounts, count(trig.tx_id) AS trig, count(mem.tx_id) AS mem
            FROM t LEFT JOIN trig USING (tx_id) LEFT JOIN mem USING (tx_id) JOIN accs USING (typ)
            WHERE typ IS NOT NULL GROUP BY typ ORDER BY typ
            """
        ).fetchall()
        per_rule = con.execute(
            """
            WITH u AS (SELECT rule_id, group_key, first_ts, unnest(tx_ids) AS tx_id FROM al),
            a AS (SELECT rule_id, count(DISTINCT (group_key, first_ts)) AS alerts,
                         count(DISTINCT (group_key, first_ts)) FILTER (WHERE t.y) AS alerts_true
                  FROM u LEFT JOIN t USING (tx_id) GROUP BY rule_id),
            f AS (SELECT rule_id, count(*) FILTER (WHERE NOT t.y) AS clean_rows, count(*) FILTER (WHERE t.y) AS true_rows
                  FROM (SELECT DISTINCT rule_id, tx_id FROM h) JOIN t USING (tx_id) GROUP BY rule_id)
            SELECT rule_id, coalesce(alerts, 0), coalesce(alerts_true, 0), coalesce(true_rows, 0), coalesce(clean_rows, 0)
            FROM f FULL JOIN a USING (rule_id) ORDER BY rule_id
            """
        ).fetchall()
    finally:
        con.close()
    n = tx.num_rows
    print(
        f"**{path.parent.name}** ({n:,} rows; rules of vectors {', '.join(vectors)}; skipped: {run.skipped or 'none'})"
    )
    print()
    print("| pattern | rows | accounts | rule fired on the row | row in a rule's alert |")
    print("|---|---:|---:|---:|---:|")
    for typ, k, accounts, trig, mem in rows:
        print(f"| {typ} | {k} | {accounts} | {trig} ({trig / k:.2f}) | {mem} ({mem / k:.2f}) |")
    print()
    print("| rule | alerts | alerts holding laundering | laundering rows flagged | clean rows flagged (per 10k) |")
    print("|---|---:|---:|---:|---:|")
    for rid, alerts, alerts_true, true_rows, clean_rows in per_rule:
        print(f"| {rid} | {alerts} | {alerts_true} | {true_rows} | {clean_rows} ({clean_rows * 10_000 / n:.2f}) |")
    print()


def print_by_pattern(results: list[dict[str, Any]]) -> None:
    """Per pattern type (test fifth): positives, model recall, rules recall, model ∪ rules; then the
    rules' load (flagged rows per 10,000, precision, rows the model did not flag)."""

    def f(v: Any) -> str:
        return "—" if v is None else f"{v:.3g}"

    print("| world | pattern | test + | model | TF rules | model ∪ TF rules | rules that fired (rows) |")
    print("|---|---|---:|---:|---:|---:|---|")
    for r in results:
        w = f"{r['template']} s{r['seed']}"
        for t, n in sorted((r.get("positives_by_pattern") or {}).items()):
            fired = r.get("rules_fired_by_pattern", {}).get(t, {})
            who = ", ".join(f"{k.removeprefix('rule_')} {v}" for k, v in sorted(fired.items(), key=lambda kv: -kv[1]))
            print(
                f"| {w} | {t} | {n} | {f(r['recall_by_pattern'].get(t))} | "
                f"{f(r['rules_recall_by_pattern'].get(t))} | {f(r['union_recall_by_pattern'].get(t))} | {who} |"
            )
        print(
            f"| {w} | **all test positives** | {r['positives_test']} | {f(r['recall'])} | | "
            f"{f(r.get('union_recall'))} | TF rules add {r.get('tf_rules_extra_per_10k')} rows per 10k "
            f"(precision {f(r.get('tf_rules_extra_precision'))}); union precision {f(r.get('union_precision'))} |"
        )
    print()
    print("| world | rule | vector | flagged / 10k test rows | precision | not flagged by the model / 10k |")
    print("|---|---|---|---:|---:|---:|")
    for r in results:
        for k, v in sorted((r.get("rule_load") or {}).items()):
            print(
                f"| {r['template']} s{r['seed']} | {k.removeprefix('rule_')} | {v['vector']} | {v['per_10k']} | "
                f"{f(v['precision'])} | {v['extra_per_10k']} |"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--seeds", default="1,2", help="tuning seed, reporting seed")
    ap.add_argument("--templates", default="amlworld-hi,amlworld-li")
    ap.add_argument("--work-dir", type=Path, default=None, help="where worlds are written (default: a temp dir)")
    ap.add_argument("--gfp-batch", type=int, default=2048)
    ap.add_argument("--no-gfp", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--stages",
        action="store_true",
        help="also print the end-to-end seconds per stage (read, history, patterns, rules, training…)",
    )
    ap.add_argument(
        "--predict-threads",
        type=int,
        default=None,
        help="LightGBM scoring threads (TrainConfig.predict_threads; 0 = every core, for a dedicated machine)",
    )
    ap.add_argument(
        "--model-config",
        default=None,
        help="JSON object of TrainConfig fields to set (e.g. the settings of an earlier run, to compare speed)",
    )
    ap.add_argument(
        "--propagate-extra",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="filiere's second stage also gets sums/mean/age of earlier suspicion "
        "(TrainConfig.propagate_extra; default: TrainConfig's default)",
    )
    ap.add_argument(
        "--feature-cache",
        action="store_true",
        help="keep each world's feature table in <world>/features.parquet and reuse it (compare model "
        "settings without recomputing features; the stage table then shows training only)",
    )
    ap.add_argument(
        "--shared-data",
        type=Path,
        default=ROOT.parent / "shared" / "data",
        help="shared data folder (its crypto/ tag packs feed the crypto-tagged-address rule; ignored if missing)",
    )
    ap.add_argument(
        "--by-pattern",
        action="store_true",
        help="also print, per pattern type, the model's recall, the terrorist-financing rules' recall "
        "(vectors npo, cell, cyber, crowdfunding), model ∪ rules, and each rule's load on the test fifth",
    )
    ap.add_argument(
        "--rules-only",
        action="store_true",
        help="no model: run the rule library on each whole world and print, per pattern type, the share "
        "of its rows the terrorist-financing rules fire on or list in an alert, and each rule's alerts",
    )
    args = ap.parse_args()

    from filiere.scenario import generate
    from filiere.scoring.evaluate import evaluate_file
    from filiere.scoring.model import TrainConfig

    seeds = [int(s) for s in args.seeds.split(",")]
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="filiere-bench-detection-"))
    results: list[dict[str, Any]] = []
    overrides: dict[str, Any] = json.loads(args.model_config) if args.model_config else {}
    if args.propagate_extra is not None:
        overrides["propagate_extra"] = args.propagate_extra
    if args.predict_threads is not None:
        overrides["predict_threads"] = args.predict_threads
    cfg = TrainConfig(**overrides)
    for template in args.templates.split(","):
        for k, seed in enumerate(seeds):
            d = work / f"{template}-{args.rows}-{seed}"
            if not (d / "transactions.csv").exists():
                generate(template, args.rows, seed, d)
            if args.rules_only:
                from filiere.scoring.evaluate import TF_VECTORS

                shared = args.shared_data if args.shared_data.exists() else None
                rules_whole_world(d / "transactions.csv", shared, TF_VECTORS)
                continue
            load_start = os.getloadavg()[0]
            cpu0 = _cpu_seconds()
            t0 = time.perf_counter()
            cache = d / "features.parquet" if args.feature_cache else None
            r = evaluate_file(
                d / "transactions.csv",
                "amlworld",
                out_dir=d,
                baseline=False,
                config=cfg,
                feature_cache=cache,
                shared_data=args.shared_data if args.shared_data.exists() else None,
            )
            e2e = time.perf_counter() - t0
            cpu = _cpu_seconds() - cpu0
            row: dict[str, Any] = {
                "template": template,
                "seed": seed,
                "role": "tune" if k == 0 and len(seeds) > 1 else "report",
                "rows": r["rows_train"] + r["rows_val"] + r["rows_test"],
                "positives_test": r["positives_test"],
                "f1": r["f1"],
                "precision": r["precision"],
                "recall": r["recall"],
                "pr_auc": r["pr_auc"],
                "recall_typed": r["recall_typed"],
                "recall_untyped": r["recall_untyped"],
                "alerts_per_10k": r["alerts_per_10k"],
                "e2e_seconds": e2e,
                "cpu_seconds": cpu,
                "peak_rss_gb": _peak_rss_gb(),
                "load_avg_start": load_start,
                "load_avg_end": os.getloadavg()[0],
                "recall_by_pattern": r.get("recall_by_pattern"),
                **{
                    k: r.get(k)
                    for k in (
                        "rules_recall_by_pattern",
                        "union_recall_by_pattern",
                        "positives_by_pattern",
                        "rules_fired_by_pattern",
                        "rule_load",
                        "union_recall",
                        "union_precision",
                        "tf_rules_extra_per_10k",
                        "tf_rules_extra_precision",
                    )
                },
                "positives_typed": r.get("positives_typed"),
                "positives_untyped": r.get("positives_untyped"),
                "timings": r["timings"],
                "propagate_extra": cfg.propagate_extra,
                "model_config": overrides,
            }
            if not args.no_gfp:
                row.update(peer_baseline(d / "transactions.csv", d, args.gfp_batch))
            results.append(row)
            print(json.dumps(row, default=str), file=sys.stderr)
    if args.rules_only:
        return
    if args.json:
        print(json.dumps(results, default=str))
        return
    if args.stages:
        print_stages(results)
        print()
    if args.by_pattern:
        print_by_pattern(results)
        print()
    cols = ["template", "seed", "role", "rows", "test +", "filiere F1", "PR-AUC", "untyped rec.", "typed rec."]
    cols += ["GFP+LGBM F1", "raw LGBM F1", "e2e s"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))

    def f(v: Any) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    for r in results:
        cells = [r["template"], str(r["seed"]), r["role"], f"{r['rows']:,}", str(r["positives_test"])]
        cells += [f(r["f1"]), f(r["pr_auc"]), f(r["recall_untyped"]), f(r["recall_typed"])]
        cells += [f(r.get("gfp_f1")), f(r.get("raw_f1")), f"{r['e2e_seconds']:.0f}"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
