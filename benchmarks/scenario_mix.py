"""Typed / untyped laundering rows per fifth of time of generated worlds.

The temporal evaluation trains on the first three fifths and reports on the last: if the mix of
typed (in a pattern) and untyped (integration payment) laundering drifts over time, the test fifth
measures something else than the training fifths. AMLworld's mix is roughly stationary.

    .venv/bin/python benchmarks/scenario_mix.py --rows 1000000 --seeds 1,2 --templates amlworld-hi
    .venv/bin/python benchmarks/scenario_mix.py --world /tmp/det_bench/amlworld-hi-1000000-2

Rows are sorted as ``filiere evaluate`` sorts them (time, then file order) and cut into fifths by
row count.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv


def mix(world: Path) -> list[tuple[int, int, int]]:
    """(rows, typed laundering rows, untyped laundering rows) per fifth of time."""
    tbl = pacsv.read_csv(
        world / "transactions.csv",
        convert_options=pacsv.ConvertOptions(include_columns=["Timestamp"], column_types={"Timestamp": pa.string()}),
    )
    n = tbl.num_rows
    truth = json.loads((world / "truth.json").read_text(encoding="utf-8"))
    kind = np.zeros(n, np.int8)  # 0 clean, 1 typed, 2 untyped
    for s in truth["schemes"]:
        rows = np.asarray(s["rows"], np.int64) - 1  # 1-based data rows
        kind[rows] = 1 if s["typed"] else 2
    # the timestamps are zero-padded '%Y/%m/%d %H:%M': string order is time order; stable = file order
    order = np.asarray(pc.array_sort_indices(tbl.column("Timestamp").combine_chunks()))
    k = kind[order]
    out = []
    for i in range(5):
        part = k[i * n // 5 : (i + 1) * n // 5]
        out.append((len(part), int((part == 1).sum()), int((part == 2).sum())))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--templates", default="amlworld-hi")
    ap.add_argument("--world", type=Path, action="append", help="measure an existing world folder instead")
    a = ap.parse_args(argv)
    worlds: list[tuple[str, Path]] = []
    tmp = None
    if a.world:
        worlds = [(str(w), w) for w in a.world]
    else:
        from filiere.scenario.generator import generate

        tmp = tempfile.TemporaryDirectory(prefix="scenario_mix_")
        for t in a.templates.split(","):
            for seed in (int(s) for s in a.seeds.split(",")):
                d = Path(tmp.name) / f"{t}-{a.rows}-{seed}"
                generate(t, a.rows, seed, d)
                worlds.append((f"{t} seed {seed}, {a.rows:,} rows", d))
    print("| world | fifth 1 | fifth 2 | fifth 3 | fifth 4 | fifth 5 (test) | untyped share, test | all |")
    print("|---|---|---|---|---|---|---|---|")
    for name, d in worlds:
        m = mix(d)
        cells = [f"{ty}/{un}" for _, ty, un in m]
        ty5, un5 = m[4][1], m[4][2]
        tt = sum(x[1] for x in m)
        uu = sum(x[2] for x in m)
        share5 = un5 / max(1, ty5 + un5)
        print(f"| {name} | {' | '.join(cells)} | {share5:.2f} | {tt}/{uu} ({uu / max(1, tt + uu):.2f}) |")
        sys.stdout.flush()
    print("\ncells: typed/untyped laundering rows in each fifth of time-sorted rows")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
