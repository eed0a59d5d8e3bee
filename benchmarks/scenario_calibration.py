"""AMLworld-style statistics of a generated world, to compare with AMLworld HI-Small.

    .venv/bin/python benchmarks/scenario_calibration.py --rows 1000000 --seeds 1 --templates amlworld-hi
    .venv/bin/python benchmarks/scenario_calibration.py --world /tmp/s3A/bench/amlworld-hi-1000000-1

Prints one markdown table (one column per world): size, laundering ratio, payment-format mix of all
rows and of laundering rows, the laundering rate inside the busiest laundering format, accounts that
touch laundering and how busy they are, how many laundering attempts share an account with another,
pattern spans, and the untyped share. Everything is computed with DuckDB over the CSV and the
world's ``truth.json`` (no per-row Python). The published / EDA figures of AMLworld HI-Small that
these are compared with are in docs/bench/scenario.md, with their sources.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

FORMATS = ("ACH", "Cheque", "Credit Card", "Cash", "Reinvestment", "Wire", "Bitcoin")


def stats(world: Path) -> dict[str, Any]:
    """The statistics of one world folder (transactions.csv + truth.json)."""
    con = duckdb.connect()
    con.execute("SET threads TO 1")
    csv = str(world / "transactions.csv").replace("'", "''")
    # columns by position: the AMLworld header repeats "Account"
    con.execute(
        f"""CREATE TABLE t AS SELECT row_number() OVER () AS rid, * FROM read_csv('{csv}', header=true,
        columns={{'ts':'VARCHAR','fb':'VARCHAR','fa':'VARCHAR','tb':'VARCHAR','ta':'VARCHAR',
        'recv':'DOUBLE','rcur':'VARCHAR','paid':'DOUBLE','pcur':'VARCHAR','fmt':'VARCHAR','y':'INTEGER'}})"""
    )
    con.execute("ALTER TABLE t ADD COLUMN src VARCHAR; UPDATE t SET src = fb || ':' || fa")
    con.execute("ALTER TABLE t ADD COLUMN dst VARCHAR; UPDATE t SET dst = tb || ':' || ta")
    out: dict[str, Any] = {}
    n, n_pos, t0, t1 = con.execute("SELECT count(*), sum(y), min(ts), max(ts) FROM t").fetchall()[0]  # type: ignore[misc]
    out["rows"] = int(n)
    out["laundering rows"] = int(n_pos)
    out["laundering ratio"] = n_pos / n
    out["time span"] = f"{t0[:10]} → {t1[:10]}"
    out["accounts"] = con.execute("SELECT count(*) FROM (SELECT src AS a FROM t UNION SELECT dst FROM t)").fetchall()[
        0
    ][0]  # type: ignore[index]
    rows = con.execute("SELECT fmt, count(*) AS n, sum(y) AS p FROM t GROUP BY fmt").fetchall()
    by_fmt = {f: (int(c), int(p)) for f, c, p in rows}
    for f in FORMATS:
        c, p = by_fmt.get(f, (0, 0))
        out[f"{f}: share of all rows"] = c / n
        out[f"{f}: share of laundering rows"] = p / max(n_pos, 1)
    top = max(by_fmt, key=lambda f: by_fmt[f][1])
    out["laundering rate inside the top laundering format"] = f"{top}: {by_fmt[top][1] / by_fmt[top][0]:.4f}"
    cross_all, cross_pos = con.execute(
        "SELECT avg((rcur <> pcur)::INT), avg(CASE WHEN y=1 THEN (rcur<>pcur)::INT END) FROM t"
    ).fetchall()[0]  # type: ignore[misc]
    out["cross-currency: all / laundering"] = f"{cross_all:.3f} / {cross_pos:.3f}"
    med_all, med_pos = con.execute(
        "SELECT median(paid), median(CASE WHEN y=1 THEN paid END) FROM t WHERE pcur = 'US Dollar'"
    ).fetchall()[0]  # type: ignore[misc]
    out["median amount (US Dollar rows): all / laundering"] = f"{med_all:,.0f} / {med_pos:,.0f}"
    q = con.execute(
        "SELECT quantile_cont(paid, [0.25, 0.5, 0.75]), median(CASE WHEN y=1 THEN paid END) FROM t"
    ).fetchall()[0]
    out["Amount Paid quartiles, all currencies"] = " / ".join(f"{v:,.0f}" for v in q[0])
    out["Amount Paid median of laundering rows, all currencies"] = f"{q[1]:,.0f}"
    # best F1 of any single raw column (values ranked by their laundering rate, in-sample: optimistic)
    for name, expr in (
        ("format", "fmt"),
        ("amount (log2 bin)", "floor(log2(paid + 1))::INT"),
        ("paying bank", "fb"),
        ("hour", "substr(ts, 12, 2)"),
    ):
        g = con.execute(f"SELECT count(*) AS n, sum(y) AS p FROM t GROUP BY {expr} ORDER BY p / n DESC").fetchall()
        tp = np.cumsum([r[1] for r in g], dtype=float)
        prec, rec = tp / np.cumsum([r[0] for r in g], dtype=float), tp / max(n_pos, 1)
        out[f"best single-column F1: {name}"] = float(np.max(2 * prec * rec / np.maximum(prec + rec, 1e-12)))
    # accounts touching laundering and their activity
    con.execute(
        """CREATE TABLE inc AS SELECT src AS a, y FROM t UNION ALL SELECT dst AS a, y FROM t WHERE dst <> src"""
    )
    la = con.execute(
        """SELECT count(*), median(n), avg(p::DOUBLE / n), median(n - p)
           FROM (SELECT a, count(*) AS n, sum(y) AS p FROM inc GROUP BY a HAVING sum(y) > 0)"""
    ).fetchall()[0]
    assert la is not None
    out["accounts touching laundering"] = int(la[0])
    out["share of accounts touching laundering"] = la[0] / out["accounts"]
    out["rows per laundering account (median)"] = float(la[1])
    out["non-laundering rows per laundering account (median)"] = float(la[3])
    out["laundering share of their rows (mean)"] = float(la[2])
    out["rows per account (all, median)"] = float(
        con.execute("SELECT median(n) FROM (SELECT a, count(*) AS n FROM inc GROUP BY a)").fetchall()[0][0]  # type: ignore[index]
    )
    # attempts (typed schemes) sharing an account with another attempt, spans, counts per pattern
    truth = json.loads((world / "truth.json").read_text(encoding="utf-8"))
    typed = [s for s in truth["schemes"] if s["typed"]]
    sid, rid = [], []
    for k, s in enumerate(typed):
        sid.extend([k] * len(s["rows"]))
        rid.extend(s["rows"])
    con.register("sr", pa.table({"sid": np.asarray(sid, np.int64), "rid": np.asarray(rid, np.int64)}))
    shared = con.execute(
        """WITH e AS (SELECT DISTINCT sr.sid, a FROM sr JOIN t ON t.rid = sr.rid,
                      LATERAL (SELECT unnest([t.src, t.dst]) AS a)),
           m AS (SELECT a FROM e GROUP BY a HAVING count(DISTINCT sid) > 1)
           SELECT count(DISTINCT sid) FROM e WHERE a IN (SELECT a FROM m)"""
    ).fetchall()[0][0]  # type: ignore[index]
    out["typed attempts"] = len(typed)
    out["attempts sharing an account with another"] = f"{shared} ({shared / max(len(typed), 1):.0%})"
    spans = []
    for s in typed:
        if s.get("start") and s.get("end"):
            a = np.datetime64(s["start"])
            b = np.datetime64(s["end"])
            spans.append(float((b - a) / np.timedelta64(1, "h")))
    out["attempt span, hours (median)"] = float(np.median(spans)) if spans else float("nan")
    counts: dict[str, int] = {}
    for s in typed:
        counts[s["pattern"]] = counts.get(s["pattern"], 0) + 1
    out["attempts per pattern"] = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    out["untyped share of laundering rows"] = truth["untyped_rows"] / max(truth["illicit_rows"], 1)
    con.close()
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 1 else f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--templates", default="amlworld-hi")
    ap.add_argument("--world", type=Path, action="append", help="measure an existing world folder instead")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    worlds: list[tuple[str, Path]] = []
    if a.world:
        worlds = [(w.name, w) for w in a.world]
    else:
        from filiere.scenario import generate

        tmp = Path(tempfile.mkdtemp(prefix="filiere-calib-"))
        for t in a.templates.split(","):
            for s in a.seeds.split(","):
                d = tmp / f"{t}-{a.rows}-{s}"
                generate(t, a.rows, int(s), d)
                worlds.append((f"{t} seed {s}", d))
    results = [(name, stats(w)) for name, w in worlds]
    if a.json:
        print(json.dumps({n: r for n, r in results}, default=str))
        return 0
    print("| statistic | " + " | ".join(n for n, _ in results) + " |")
    print("|---|" + "---|" * len(results))
    for key in results[0][1]:
        print(f"| {key} | " + " | ".join(_fmt(r[key]) for _, r in results) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
