"""filiere's causal pattern features vs IBM Snap ML's GraphFeaturePreprocessor (GFP), same world, same run.

    nice .venv/bin/python benchmarks/patterns_vs_gfp.py --rows 5000000

* World: ``filiere.scenario.generate("amlworld-hi", ...)`` when that exists, otherwise a synthetic graph at
  AMLworld HI-Small density (about 500k transactions a day among ~515k accounts, heavy-tailed activity,
  self-payments, injected fans, cycles and scatter-gathers). The report says which one ran.
* filiere: ``compute_features`` (all families, default windows) in its own process; then each family alone
  on the first ``--family-rows`` rows; then the streaming engine's per-transaction latency with a warm
  24 h window.
* GFP: ``snapml`` from the benchmark-only venv ``.bench-envs/gfp`` (proprietary licence: never a filiere
  dependency), AMLworld paper configuration, ``transform`` fed in time order in batches of ``--gfp-batch``.
* Each engine runs in a child process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GFP_PY = ROOT / ".bench-envs" / "gfp" / "bin" / "python"
DAY_S = 86_400

#: the AMLworld paper's GFP configuration (Altman et al. 2023; IBM Multi-GNN / snapml examples):
#: 24 h windows, scatter-gather 6 h, histogram bins [2, 3], simple cycles up to length 10
GFP_PARAMS = {
    "num_threads": 2,
    "time_window": DAY_S,
    "vertex_stats": True,
    "vertex_stats_tw": DAY_S,
    "vertex_stats_cols": [4],  # amount
    "vertex_stats_feats": [0, 1, 2, 3, 4, 8, 9, 10],
    "fan": True,
    "fan_tw": DAY_S,
    "fan_bins": [2, 3],
    "degree": True,
    "degree_tw": DAY_S,
    "degree_bins": [2, 3],
    "scatter-gather": True,
    "scatter-gather_tw": 6 * 3600,
    "scatter-gather_bins": [2, 3],
    "temp-cycle": True,
    "temp-cycle_tw": DAY_S,
    "temp-cycle_bins": [2, 3],
    "lc-cycle": True,
    "lc-cycle_tw": DAY_S,
    "lc-cycle_len": 10,
    "lc-cycle_bins": [2, 3],
}


def synth_world(rows: int, seed: int) -> dict[str, np.ndarray]:
    """A graph at AMLworld HI-Small density: ~500k tx/day, ~0.1 accounts per tx/day, heavy tails."""
    rng = np.random.default_rng(seed)
    n_acc = max(1_000, int(rows * 0.103))
    days = max(1.0, rows / 500_000)
    weight = rng.pareto(1.3, n_acc) + 1.0
    weight = np.minimum(weight, 2_000.0)
    p = weight / weight.sum()
    n_bg = int(rows * 0.97)
    src = rng.choice(n_acc, n_bg, p=p)
    dst = rng.choice(n_acc, n_bg, p=p)
    self_pay = rng.random(n_bg) < 0.12  # AMLworld's reinvestments are self-payments
    dst[self_pay] = src[self_pay]
    ts = np.sort(rng.uniform(0, days * DAY_S, n_bg)).astype(np.int64) // 60 * 60  # minute resolution
    parts_s, parts_d, parts_t = [src], [dst], [ts]
    n_left = rows - n_bg
    while n_left > 0:  # laundering patterns: fan-out, fan-in, cycle, scatter-gather
        kind = rng.integers(0, 4)
        k = int(rng.integers(3, 11))
        t0 = rng.uniform(0, days * DAY_S - DAY_S / 2 if days > 1 else days * DAY_S * 0.5)
        acc = rng.choice(n_acc, k + 2, replace=False)
        if kind == 0:
            s, d = np.full(k, acc[0]), acc[1 : k + 1]
        elif kind == 1:
            s, d = acc[1 : k + 1], np.full(k, acc[0])
        elif kind == 2:
            s, d = acc[:k], np.roll(acc[:k], -1)
        else:
            mids = acc[2 : 2 + k // 2 + 1]
            s = np.concatenate([np.full(len(mids), acc[0]), mids])
            d = np.concatenate([mids, np.full(len(mids), acc[1])])
        t = np.sort(t0 + rng.uniform(0, 6 * 3600, len(s))).astype(np.int64) // 60 * 60
        parts_s.append(s)
        parts_d.append(d)
        parts_t.append(t)
        n_left -= len(s)
    src = np.concatenate(parts_s)[:rows]
    dst = np.concatenate(parts_d)[:rows]
    ts = np.concatenate(parts_t)[:rows]
    amount = np.round(np.exp(rng.normal(7.5, 2.0, rows)), 2)
    fmt = rng.choice(7, rows, p=[0.12, 0.25, 0.2, 0.2, 0.1, 0.1, 0.03])
    return {"src": src, "dst": dst, "ts": ts, "amount": amount, "fmt": fmt}


def make_world(rows: int, seed: int, workdir: Path) -> tuple[str, Path]:
    """Write the world's transactions to parquet; returns (description, path)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        from filiere.scenario import generate
    except ImportError:
        has_generator = False
    else:
        has_generator = True
    if has_generator:
        out = workdir / "world"
        generate("amlworld-hi", rows, seed, out)
        from filiere.io import read_transactions

        csvs = sorted(out.glob("*ransactions*.csv")) or sorted(out.glob("*.csv"))
        table = read_transactions(csvs[0], "amlworld").transactions
        path = workdir / "tx.parquet"
        pq.write_table(table, path)
        return f"filiere.scenario amlworld-hi, {table.num_rows:,} rows", path
    w = synth_world(rows, seed)
    formats = np.array(["Reinvestment", "Cheque", "Credit Card", "ACH", "Cash", "Wire", "Bitcoin"])
    acc = np.char.add("b:", w["src"].astype(str))
    to = np.char.add("b:", w["dst"].astype(str))
    n = len(w["ts"])
    table = pa.table(
        {
            "tx_id": pa.array(np.arange(n).astype(str)),
            "ts": pa.array(w["ts"] * 1_000_000, pa.int64()).cast(pa.timestamp("us")),
            "from_bank": pa.array(np.char.add("b", (w["src"] % 300).astype(str))),
            "from_account": pa.array(acc),
            "to_bank": pa.array(np.char.add("b", (w["dst"] % 300).astype(str))),
            "to_account": pa.array(to),
            "amount_received": pa.array(w["amount"]),
            "receiving_currency": pa.array(np.full(n, "US Dollar")),
            "amount_paid": pa.array(w["amount"]),
            "payment_currency": pa.array(np.full(n, "US Dollar")),
            "payment_format": pa.array(formats[w["fmt"]]),
        }
    )
    path = workdir / "tx.parquet"
    pq.write_table(table, path)
    return f"synthetic at AMLworld HI-Small density ({n:,} rows, {len(np.unique(w['src'])):,} senders)", path


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_filiere(path: Path, family_rows: int, latency_n: int) -> dict[str, object]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from filiere.graph import ALL_FAMILIES, FeatureConfig, StreamingEngine, compute_features

    table = pq.read_table(path)
    n = table.num_rows
    small = table.slice(0, 2_000)
    t0 = time.perf_counter()
    compute_features(small, FeatureConfig())  # JIT: compiles, or loads from NUMBA_CACHE_DIR
    first_s = time.perf_counter() - t0
    rss_before = _rss_mb()
    t0 = time.perf_counter()
    c0 = time.process_time()
    feats = compute_features(table, FeatureConfig())
    total_s = time.perf_counter() - t0
    cpu_s = time.process_time() - c0
    res: dict[str, object] = {
        "rows": n,
        "features": feats.num_columns - 1,
        "seconds": total_s,
        "cpu_seconds": cpu_s,
        "first_call_s": first_s,
    }
    del feats
    res["peak_rss_mb"] = _rss_mb()
    res["rss_before_mb"] = rss_before
    sub = table.slice(0, min(n, family_rows))
    fam: dict[str, float] = {}
    for f in ALL_FAMILIES:
        cfg = FeatureConfig(families=(f,))
        t0 = time.perf_counter()
        compute_features(sub, cfg)
        fam[f] = time.perf_counter() - t0
    res["family_rows"] = sub.num_rows
    res["family_seconds"] = fam
    # streaming latency with a warm 24 h window
    cfg = FeatureConfig()
    eng = StreamingEngine(cfg)
    ts_all = table.column("ts").cast("int64").to_numpy()
    table = table.take(pa.array(np.argsort(ts_all, kind="stable")))  # the engine takes time order
    ts = table.column("ts").cast("int64").to_numpy()
    warm_end = int(np.searchsorted(ts, ts[0] + 86_400 * 1_000_000))
    stop = min(n, warm_end + latency_n)
    rows = table.slice(0, stop).to_pylist()
    t0 = time.perf_counter()
    for r in rows[:warm_end]:
        eng.update(r)
    warm_s = time.perf_counter() - t0
    lat = np.empty(stop - warm_end)
    pc = time.perf_counter_ns
    for k, r in enumerate(rows[warm_end:stop]):
        a = pc()
        eng.update(r)
        lat[k] = pc() - a
    res["stream"] = {
        "warm_rows": warm_end,
        "warm_s": warm_s,
        "measured": len(lat),
        "p50_us": float(np.percentile(lat, 50) / 1e3) if len(lat) else None,
        "p99_us": float(np.percentile(lat, 99) / 1e3) if len(lat) else None,
        "max_us": float(lat.max() / 1e3) if len(lat) else None,
        "ring_capacity": eng.capacity,
        "accounts_held": eng.accounts_held,
        "accounts_evicted": eng.accounts_evicted,
    }
    res["peak_rss_mb_after_stream"] = _rss_mb()
    return res


WARM_START = r"""
import time
import pyarrow as pa
from filiere.graph import compute_features
t = pa.table({"tx_id": ["0", "1"], "ts": pa.array([0, 60_000_000], pa.timestamp("us")), "from_account": ["a", "b"],
              "to_account": ["b", "a"], "from_bank": ["x", "y"], "payment_format": ["Wire", "Cash"],
              "amount_paid": [1.0, 2.0]})
t0 = time.perf_counter(); compute_features(t); print(time.perf_counter() - t0)
"""

GFP_CHILD = r"""
import json, resource, sys, time
import numpy as np
from snapml import GraphFeaturePreprocessor
X = np.load(sys.argv[1])
params = json.loads(sys.argv[2]); batch = int(sys.argv[3])
gfp = GraphFeaturePreprocessor(); gfp.set_params(params)
w = gfp.transform(X[:2000].copy())  # warm-up on a throw-away instance
gfp = GraphFeaturePreprocessor(); gfp.set_params(params)
t0 = time.perf_counter(); nf = 0
for i in range(0, len(X), batch):
    out = gfp.transform(X[i:i + batch]); nf = out.shape[1] - X.shape[1]
dt = time.perf_counter() - t0
print(json.dumps({"rows": len(X), "seconds": dt, "features": nf,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_gfp(path: Path, workdir: Path, batch: int) -> dict[str, object] | str:
    if not GFP_PY.exists():
        return f"not run: {GFP_PY} missing (python -m venv .bench-envs/gfp && .bench-envs/gfp/bin/pip install snapml)"
    import pyarrow.parquet as pq

    t = pq.read_table(path, columns=["ts", "from_account", "to_account", "amount_paid"])
    import pyarrow as pa

    both = pa.chunked_array(t.column("from_account").chunks + t.column("to_account").chunks).combine_chunks()
    idx = both.dictionary_encode().indices.to_numpy(zero_copy_only=False).astype(np.float64)
    n = t.num_rows
    ts = t.column("ts").cast(pa.timestamp("s")).cast(pa.int64()).to_numpy()
    order = np.argsort(ts, kind="stable")
    X = np.column_stack(
        [np.arange(n, dtype=np.float64), idx[:n], idx[n:], ts.astype(np.float64), t.column("amount_paid").to_numpy()]
    )[order]
    npy = workdir / "gfp.npy"
    np.save(npy, np.ascontiguousarray(X))
    del X, t
    proc = subprocess.run(
        [str(GFP_PY), "-c", GFP_CHILD, str(npy), json.dumps(GFP_PARAMS), str(batch)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return f"failed: {proc.stderr.strip()[-500:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--family-rows", type=int, default=1_000_000)
    ap.add_argument("--latency-n", type=int, default=100_000, help="timed streaming updates after the warm day")
    ap.add_argument("--gfp-batch", type=int, default=10_000)
    ap.add_argument("--no-gfp", action="store_true")
    ap.add_argument("--world", type=Path, help="reuse a transactions parquet (filiere schema) instead of generating")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child_filiere(Path(args.child), args.family_rows, args.latency_n)))
        return

    from rich.console import Console
    from rich.table import Table

    console = Console(width=150)
    with tempfile.TemporaryDirectory(prefix="bench_gfp_") as tmp:
        workdir = Path(tmp)
        t0 = time.perf_counter()
        if args.world is not None:
            desc, path = f"{args.world} (reused)", args.world
        else:
            desc, path = make_world(args.rows, args.seed, workdir)
        console.print(f"world: {desc} (built in {time.perf_counter() - t0:.1f}s)")
        load0 = os.getloadavg()
        # a fresh numba cache: the child's first call measures the full compile
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "NUMBA_CACHE_DIR": str(workdir / "numba")}
        cmd = [sys.executable, __file__, "--child", str(path), "--family-rows", str(args.family_rows)]
        cmd += ["--latency-n", str(args.latency_n)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if proc.returncode != 0:
            console.print(proc.stderr)
            raise SystemExit(1)
        fil = json.loads(proc.stdout.strip().splitlines()[-1])
        warm = subprocess.run(
            [sys.executable, "-c", WARM_START], capture_output=True, text=True, env=env, check=True
        ).stdout.split()[-1]  # a later process: kernels loaded from the on-disk cache
        load1 = os.getloadavg()
        gfp = "skipped (--no-gfp)" if args.no_gfp else run_gfp(path, workdir, args.gfp_batch)
        load2 = os.getloadavg()

    console.print(
        f"cores: {os.cpu_count()}; load average (1 min) before filiere {load0[0]:.1f}, "
        f"after filiere {load1[0]:.1f}, after GFP {load2[0]:.1f}"
    )
    console.print(
        f"filiere numba: first call with an empty cache (compile) {fil['first_call_s']:.1f}s; "
        f"first call in a later process (cache load) {float(warm):.1f}s; neither is in the table below"
    )
    tab = Table(title=f"causal pattern features, {fil['rows']:,} edges, 2 threads max")
    for c in ("engine", "features", "seconds", "CPU s", "edges/s", "peak RSS MB"):
        tab.add_column(c, justify="right" if c != "engine" else "left")
    f_eps = fil["rows"] / fil["seconds"]
    tab.add_row(
        "filiere compute_features",
        str(fil["features"]),
        f"{fil['seconds']:.2f}",
        f"{fil['cpu_seconds']:.2f}",
        f"{f_eps:,.0f}",
        f"{fil['peak_rss_mb']:,.0f}",
    )
    if isinstance(gfp, dict):
        g_eps = float(gfp["rows"]) / float(gfp["seconds"])  # type: ignore[arg-type]
        tab.add_row(
            f"snapml GFP transform (batches of {args.gfp_batch:,})",
            str(gfp["features"]),
            f"{gfp['seconds']:.2f}",
            "-",
            f"{g_eps:,.0f}",
            f"{gfp['peak_rss_mb']:,.0f}",
        )
        tab.caption = f"filiere / GFP edges/s = {f_eps / g_eps:.2f}x"
    else:
        tab.add_row("snapml GFP", "-", "-", "-", "-", "-")
        tab.caption = f"GFP {gfp}"
    console.print(tab)

    ft = Table(title=f"filiere cost per feature family (each alone, {fil['family_rows']:,} edges)")
    ft.add_column("family")
    ft.add_column("seconds", justify="right")
    ft.add_column("edges/s", justify="right")
    for fam, s in fil["family_seconds"].items():
        ft.add_row(fam, f"{s:.2f}", f"{fil['family_rows'] / s:,.0f}")
    console.print(ft)
    st = fil["stream"]
    lt = Table(title="StreamingEngine.update latency, warm 24 h window")
    cols = ("warm-up rows", "timed updates", "p50 µs", "p99 µs", "max µs", "ring capacity", "accounts held/evicted")
    for c in (*cols, "peak RSS MB"):
        lt.add_column(c, justify="right")
    lt.add_row(
        f"{st['warm_rows']:,}",
        f"{st['measured']:,}",
        f"{st['p50_us']:.1f}" if st["p50_us"] is not None else "-",
        f"{st['p99_us']:.1f}" if st["p99_us"] is not None else "-",
        f"{st['max_us']:.0f}" if st["max_us"] is not None else "-",
        f"{st['ring_capacity']:,}",
        f"{st['accounts_held']:,} / {st['accounts_evicted']:,}",
        f"{fil['peak_rss_mb_after_stream']:,.0f}",
    )
    console.print(lt)


if __name__ == "__main__":
    main()
