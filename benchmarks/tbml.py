"""TBML benchmark: precision and recall of mis-invoiced declarations in a generated trade world at
fixed alert budgets (the top-B declarations by combined flag score), and scan time.

    .venv/bin/python benchmarks/tbml.py --rows 200000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

from filiere.store import init_workspace, open_store
from filiere.vectors.trade.ingest import normalise_table, store_trade
from filiere.vectors.trade.price import ranked_flags, scan
from filiere.vectors.trade.synth import generate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scheme-rate", type=float, default=0.01)
    args = ap.parse_args()
    t0 = time.perf_counter()
    w = generate(args.rows, seed=args.seed, scheme_rate=args.scheme_rate)
    gen = time.perf_counter() - t0
    truth = int(w.truth.sum())
    schemes = Counter(s for s in w.trades.column("scheme").to_pylist() if s)
    ws = Path(tempfile.mkdtemp(prefix="tbml-")) / "ws"
    settings = init_workspace(ws)
    with open_store(settings) as store:
        t0 = time.perf_counter()
        store_trade(store, normalise_table(w.trades, Path("synthetic")))
        store.insert_arrow("parties", w.parties)
        load = time.perf_counter() - t0
        t0 = time.perf_counter()
        rep = scan(store, raise_alerts=False)
        dt = time.perf_counter() - t0
        ranked = ranked_flags(store).to_pylist()
    print(
        f"{args.rows:,} declarations ({truth:,} mis-invoiced: {dict(schemes)}); generated in {gen:.1f} s, "
        f"loaded in {load:.1f} s, scanned in {dt:.2f} s ({args.rows / dt:,.0f} declarations/s); flags {rep.flags}"
    )
    print()
    print("| alert budget | precision | recall | " + " | ".join(f"recall {s}" for s in sorted(schemes)) + " |")
    print("|---|---:|---:|" + "---:|" * len(schemes))
    for mult in (0.5, 1.0, 2.0):
        b = int(truth * mult)
        top = ranked[:b]
        tp = sum(1 for r in top if r["is_misinvoiced"])
        per = Counter(r["scheme"] for r in top if r["scheme"])
        cells = " | ".join(f"{per[s] / schemes[s]:.1%}" for s in sorted(schemes))
        print(
            f"| {b:,} ({b / args.rows:.1%} of declarations) | {tp / max(1, len(top)):.1%} | {tp / truth:.1%} | {cells} |"
        )


if __name__ == "__main__":
    main()
