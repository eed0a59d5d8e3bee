"""Crypto tracing benchmark: recall of scheme cash-out points in generated ransomware worlds, and
time to trace from a tagged address over a graph of --edges transfers (default 1,000,000).

    .venv/bin/python benchmarks/crypto_trace.py --edges 1000000 --schemes 20
"""

from __future__ import annotations

import argparse
import statistics
import time

from filiere.vectors.crypto.synth import generate
from filiere.vectors.crypto.trace import exposure, trace


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--edges", type=int, default=1_000_000)
    ap.add_argument("--schemes", type=int, default=20)
    ap.add_argument("--max-hops", type=int, default=64)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    t0 = time.perf_counter()
    w = generate(args.edges, n_schemes=args.schemes, seed=args.seed)
    gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    g = w.graph()
    build = time.perf_counter() - t0
    sv = w.services()
    t0 = time.perf_counter()
    trace(g, [w.schemes[0].ransom], services=sv, max_hops=2)
    jit = time.perf_counter() - t0
    print(
        f"{g.n_edges:,} transfers, {g.n_nodes:,} addresses, {len(sv):,} exchange addresses; generated in {gen:.1f} s; "
        f"CSR built in {build:.2f} s; first call (numba compile or cache load) {jit:.2f} s"
    )
    print()
    print(
        "| method | schemes | cash-out points | recall | precision | value recovered | trace ms (median) | trace ms (max) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for method in ("haircut", "poison"):
        found_true = total = reported = 0
        value = paid = 0.0
        times = []
        for s in w.schemes:
            t0 = time.perf_counter()
            r = trace(g, [s.ransom], services=sv, method=method, max_hops=args.max_hops)
            times.append(1000 * (time.perf_counter() - t0))
            got = {c.account_id for c in r.cash_outs}
            found_true += len(got & set(s.cash_outs))
            total += len(s.cash_outs)
            reported += len(got)
            value += sum(c.tainted_value for c in r.cash_outs if c.account_id in s.cash_outs)
            paid += s.paid
        print(
            f"| {method} | {len(w.schemes)} | {total} | {found_true / total:.1%} | {found_true / max(1, reported):.1%} | "
            f"{value / paid:.1%} | {statistics.median(times):.1f} | {max(times):.1f} |"
        )
    tagged = {s.ransom: ("ransomware", s.family) for s in w.schemes}
    wallets = [str(a) for a in g.nodes[:: max(1, g.n_nodes // 10_000)]]
    t0 = time.perf_counter()
    ex = exposure(g, wallets, tagged, max_hops=3, services=sv)
    dt = time.perf_counter() - t0
    print()
    print(
        f"exposure of {len(wallets):,} wallets to {len(tagged)} ransomware sources within 3 hops: {1000 * dt:.0f} ms "
        f"({ex.num_rows} exposed)"
    )


if __name__ == "__main__":
    main()
