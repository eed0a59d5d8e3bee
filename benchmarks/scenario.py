"""Benchmark the scenario generator, and check that its labels do not leak through raw columns.

    python benchmarks/scenario.py --rows 5000000 --template amlworld-hi
    python benchmarks/scenario.py --rows 200000 --template all --leak-check

Generation runs in a child process (``filiere scenario generate --json``) so that its wall time,
CPU time and peak memory (max RSS) are measured alone. ``--leak-check`` generates two worlds with
different seeds, trains LightGBM on the raw columns of one (amounts, currencies, format, hour,
weekday, same bank/account/currency flags: no graph features) and reports the minority-class F1
on the other, at the best threshold on the test world (an optimistic upper bound). A low number
means the illicit rows cannot be found from single-row attributes alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
FILIERE = [sys.executable, "-m", "filiere.cli"]


def run_generate(template: str, rows: int, seed: int, out: Path) -> dict[str, float | int | str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            *FILIERE,
            "scenario",
            "generate",
            "--template",
            template,
            "--rows",
            str(rows),
            "--seed",
            str(seed),
            "--out",
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    size = sum(p.stat().st_size for p in out.iterdir())
    return {
        "template": template,
        "rows": res["rows"],
        "illicit": res["illicit_rows"],
        "schemes": res["schemes"],
        "wall_s": wall,
        "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
        "max_rss_mb": after.ru_maxrss / 1024,  # peak of any child so far (the generator is the largest)
        "mb_written": size / 1e6,
    }


def raw_features(path: Path):  # type: ignore[no-untyped-def]
    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.csv as pv

    names = ["ts", "fb", "fa", "tb", "ta", "recv", "rcur", "paid", "pcur", "fmt", "label"]
    t = pv.read_csv(
        path,
        read_options=pv.ReadOptions(column_names=names, skip_rows=1),
        convert_options=pv.ConvertOptions(column_types={"fb": "string", "tb": "string"}),
    )
    ts = pc.strptime(t["ts"], format="%Y/%m/%d %H:%M", unit="s")
    cols = {
        "log_paid": np.log1p(t["paid"].to_numpy()),
        "log_recv": np.log1p(t["recv"].to_numpy()),
        "hour": pc.hour(ts).to_numpy(),
        "weekday": pc.day_of_week(ts).to_numpy(),
        "same_bank": pc.equal(t["fb"], t["tb"]).to_numpy(zero_copy_only=False).astype(float),
        "self": pc.and_(pc.equal(t["fb"], t["tb"]), pc.equal(t["fa"], t["ta"]))
        .to_numpy(zero_copy_only=False)
        .astype(float),
        "same_cur": pc.equal(t["rcur"], t["pcur"]).to_numpy(zero_copy_only=False).astype(float),
        "cents": (np.round(t["paid"].to_numpy() * 100) % 100 == 0).astype(float),
    }
    cats = {}
    for c in ("rcur", "pcur", "fmt"):
        cats[c] = t[c].to_pylist()
    return cols, cats, t["label"].to_numpy()


def leak_check(template: str, rows: int, tmp: Path) -> dict[str, float]:
    import lightgbm as lgb
    import numpy as np

    worlds = []
    for seed in (101, 202):
        out = tmp / f"leak-{template}-{seed}"
        run_generate(template, rows, seed, out)
        worlds.append(raw_features(out / "transactions.csv"))
        for p in out.iterdir():
            p.unlink()
    cat_names = ("rcur", "pcur", "fmt")
    vocab = {c: sorted(set(worlds[0][1][c]) | set(worlds[1][1][c])) for c in cat_names}

    def matrix(cols: dict, cats: dict) -> np.ndarray:  # type: ignore[type-arg]
        enc = [np.searchsorted(np.array(vocab[c]), np.array(cats[c])).astype(float) for c in cat_names]
        return np.column_stack([*cols.values(), *enc])

    xa, ya = matrix(worlds[0][0], worlds[0][1]), worlds[0][2]
    xb, yb = matrix(worlds[1][0], worlds[1][1]), worlds[1][2]
    n_num = len(worlds[0][0])
    model = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.05, num_leaves=63, verbose=-1, scale_pos_weight=20)
    model.fit(xa, ya, categorical_feature=list(range(n_num, n_num + len(cat_names))))
    proba = np.asarray(model.predict_proba(xb))[:, 1]
    order = np.argsort(-proba)
    tp = np.cumsum(yb[order])
    k = np.arange(1, len(proba) + 1)
    prec, rec = tp / k, tp / max(1, yb.sum())
    f1 = np.where(prec + rec > 0, 2 * prec * rec / np.maximum(prec + rec, 1e-12), 0)
    i = int(np.argmax(f1))
    from sklearn.metrics import average_precision_score

    return {
        "f1": float(f1[i]),
        "precision": float(prec[i]),
        "recall": float(rec[i]),
        "auprc": float(average_precision_score(yb, proba)),
        "positives": int(yb.sum()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--template", default="amlworld-hi", help="amlworld-hi, amlworld-li, sahel or all")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--leak-check", action="store_true", help="raw-column LightGBM across two seeds")
    ap.add_argument("--leak-rows", type=int, default=500_000)
    args = ap.parse_args()
    templates = ["amlworld-hi", "amlworld-li", "sahel"] if args.template == "all" else [args.template]
    console = Console(width=160)
    table = Table(title=f"scenario generate ({args.rows:,} rows requested)")
    for c in (
        "template",
        "rows",
        "illicit",
        "schemes",
        "wall s",
        "CPU s",
        "rows/s (wall)",
        "peak RSS MB",
        "MB written",
    ):
        table.add_column(c, justify="right")
    leak = Table(title=f"raw-column LightGBM, train seed 101 -> test seed 202 ({args.leak_rows:,} rows)")
    for c in ("template", "positives", "best F1", "precision", "recall", "AUPRC"):
        leak.add_column(c, justify="right")
    with tempfile.TemporaryDirectory(prefix="bench_scenario_") as d:
        tmp = Path(d)
        for tpl in templates:
            m = run_generate(tpl, args.rows, args.seed, tmp / tpl)
            table.add_row(
                tpl,
                f"{m['rows']:,}",
                f"{m['illicit']:,}",
                str(m["schemes"]),
                f"{m['wall_s']:.1f}",
                f"{m['cpu_s']:.1f}",
                f"{int(m['rows']) / float(m['wall_s']):,.0f}",
                f"{m['max_rss_mb']:.0f}",
                f"{m['mb_written']:.0f}",
            )
            for p in (tmp / tpl).iterdir():
                p.unlink()
            if args.leak_check:
                r = leak_check(tpl, args.leak_rows, tmp)
                leak.add_row(
                    tpl,
                    str(r["positives"]),
                    f"{r['f1']:.3f}",
                    f"{r['precision']:.3f}",
                    f"{r['recall']:.3f}",
                    f"{r['auprc']:.3f}",
                )
    console.print(table)
    if args.leak_check:
        console.print(leak)


if __name__ == "__main__":
    main()
