"""Ingest benchmark: an AMLworld-format file into a fresh workspace.

    python benchmarks/ingest.py --rows 5000000          # synthesise the file, then ingest it
    python benchmarks/ingest.py --file HI-Small_Trans.csv

The ingest runs in a child process so that its peak RSS (``resource.getrusage(RUSAGE_CHILDREN)``)
is the ingest's alone. Prints a markdown table of what it measured.
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

HEADER = (
    "Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,"
    "Amount Paid,Payment Currency,Payment Format,Is Laundering\n"
)
CURRENCIES = np.array(["US Dollar", "Euro", "Yuan", "UK Pound", "Bitcoin", "Rupee", "Swiss Franc", "Yen"])
FORMATS = np.array(["Reinvestment", "Cheque", "Credit Card", "ACH", "Cash", "Wire", "Bitcoin"])


def synthesise(path: Path, rows: int, seed: int = 7, chunk: int = 500_000) -> None:
    """An AMLworld-shaped file: unsorted minutes over 18 days, ~rows/10 accounts, 0.1% laundering."""
    rng = np.random.default_rng(seed)
    n_acc = max(rows // 10, 10)
    banks = np.char.zfill(rng.integers(1, 30_000, n_acc).astype(str), 3 if n_acc < 100 else 6)
    accts = np.char.add(np.char.upper(np.char.mod("%x", rng.integers(0x80000000, 0xFFFFFFFFF, n_acc))), "")
    t0 = np.datetime64("2022-09-01T00:00")
    with path.open("w", encoding="utf-8", newline="\n") as f:
        f.write(HEADER)
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            ts = (t0 + rng.integers(0, 18 * 24 * 60, n).astype("timedelta64[m]")).astype(str)
            ts = np.char.replace(np.char.replace(ts, "-", "/"), "T", " ")
            a = rng.integers(0, n_acc, n)
            b = rng.integers(0, n_acc, n)
            amt = np.round(rng.lognormal(7, 2, n), 2).astype(str)
            cur = CURRENCIES[rng.integers(0, len(CURRENCIES), n)]
            fmt = FORMATS[rng.integers(0, len(FORMATS), n)]
            lab = (rng.random(n) < 0.001).astype(np.int8).astype(str)
            cols = [ts, banks[a], accts[a], banks[b], accts[b], amt, cur, amt, cur, fmt, lab]
            line = cols[0]
            for c in cols[1:]:
                line = np.char.add(np.char.add(line, ","), c)
            f.write("\n".join(line.tolist()))
            f.write("\n")


CHILD = r"""
import json, sys, time
from pathlib import Path
from filiere.io import ingest_files
from filiere.store import init_workspace, open_store
ws, file = Path(sys.argv[1]), sys.argv[2]
settings = init_workspace(ws)
t = time.perf_counter()
with open_store(settings) as store:
    rep = ingest_files(store, [file], "amlworld")
    n = store.scalar("SELECT count(*) FROM transactions")
    a = store.scalar("SELECT count(*) FROM accounts")
print(json.dumps({"seconds": time.perf_counter() - t, "read": rep.read, "stored": rep.stored,
                  "quarantined": rep.quarantined, "duplicates": rep.duplicates, "in_store": n, "accounts": a}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--file", type=Path, default=None, help="an existing AMLworld transactions file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="filiere-bench-ingest-"))
    try:
        file = args.file
        gen_s = 0.0
        if file is None:
            file = tmp / "transactions.csv"
            t = time.perf_counter()
            synthesise(file, args.rows)
            gen_s = time.perf_counter() - t
        size_mb = file.stat().st_size / 1e6
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(tmp / "ws"), str(file)], capture_output=True, text=True, check=False
        )
        if out.returncode != 0:
            sys.stderr.write(out.stderr)
            raise SystemExit(out.returncode)
        res = json.loads(out.stdout.strip().splitlines()[-1])
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_kb = usage.ru_maxrss
        cpu_s = usage.ru_utime + usage.ru_stime  # the child's whole run (start-up and workspace included)
        rows = res["read"]
        print(
            "| file | size (MB) | rows | stored | quarantined | ingest (s) | rows/s | child CPU (s) "
            "| peak RSS (MB) | cores | load avg |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        name = "synthetic AMLworld" if args.file is None else args.file.name
        print(
            f"| {name} | {size_mb:,.0f} | {rows:,} | {res['stored']:,} | {res['quarantined']:,} | "
            f"{res['seconds']:.1f} | {rows / res['seconds']:,.0f} | {cpu_s:.1f} | {peak_kb / 1024:,.0f} | "
            f"{os.cpu_count()} | {os.getloadavg()[0]:.1f} |"
        )
        if gen_s:
            print(f"\n(synthesising the file took {gen_s:.1f} s, not counted; accounts in store: {res['accounts']:,})")
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
