"""Real-time service, compute stage only: CPU per transaction of features + scoring, in process.

    python benchmarks/realtime_compute.py --workdir .bench-work/s4A            # a prepared realtime.py workdir
    python benchmarks/realtime_compute.py --workdir .bench-work/s4A --batches 200 --warm 5000   # CI size
    python benchmarks/realtime_compute.py --rows 5000 --warm 2000 --batches 50  # prepares its own small workdir

Reads the workdir that ``benchmarks/realtime.py`` prepared (its ``prep.json``, ``replay.csv`` and the
workspace's current model; a workdir without ``prep.json`` is prepared first by that benchmark's
``prepare``: a ``--rows`` world, its history ingested and a model trained, held-out payments for the
run), turns the world's held-out payments into normalised records exactly as
the service's fast path does (``filiere.realtime.schemas.fast_records``), on the benchmark's clock
(one payment every ``gap_us`` of event time), and runs what the service's compute thread runs per
micro-batch of 100 (``Scorer``, ``OnlineFeatures.step_many``, ``propagate_many``, the booster,
TreeSHAP for the rows over the threshold) — no HTTP, no log, no store. ``--warm`` records go through
first (the benchmark's warm-up and single phases), then ``--batches`` batches are timed.
Reports process CPU time per transaction, split by step, the part of it that holds the GIL (all
but the time inside the compiled kernels that release it), and a checksum of the features and scores
(equal checksums: same results). Run it with ``PYTHONPATH`` pointing at another checkout's ``src``
to compare code versions on the same data.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path
from typing import Any

import numpy as np


def _records(replay: list[dict[str, Any]], start_us: int, gap_us: int, n: int, offset: int) -> list[dict[str, Any]]:
    from filiere.realtime.schemas import fast_records

    items = []
    for k in range(n):
        ts = start_us + k * gap_us
        iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts / 1e6)) + f".{ts % 1_000_000:06d}"
        items.append({"id": f"C{offset + k}", "timestamp": iso, **replay[(offset + k) % len(replay)]})
    recs = fast_records(items)
    if recs is None:
        raise SystemExit("the replay rows are not plainly valid records (fast_records refused them)")
    return recs


def _time_nogil_kernels() -> dict[str, int]:
    """Wrap the compiled kernels that release the GIL (numba ``nogil=True``) the compute stage calls,
    adding each call's thread CPU time (ns) to the returned dict: the rest of the stage's CPU is
    what holds the GIL (the kernels' own call overhead, a few µs a call, is counted as no-GIL)."""
    import importlib

    spent: dict[str, int] = {}
    for mod_name, names in (
        ("filiere.graph.kernels", ("process_new",)),
        ("filiere.realtime.features", ("_history_kernel", "_propagate_kernel", "_int_slots", "_int_forget")),
        ("filiere.realtime.trees", ("_raw_scores", "_contribs")),
    ):
        mod = importlib.import_module(mod_name)
        for name in names:
            fn = getattr(mod, name, None)
            if fn is None or not getattr(fn, "targetoptions", {}).get("nogil"):
                continue

            def timed(*args: Any, _fn: Any = fn, _name: str = name) -> Any:
                t = time.thread_time_ns()
                try:
                    return _fn(*args)
                finally:
                    spent[_name] = spent.get(_name, 0) + time.thread_time_ns() - t

            setattr(mod, name, timed)
    return spent


def main() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from filiere.config import load_settings
    from filiere.realtime.features import OnlineFeatures
    from filiere.realtime.service import Scorer
    from filiere.scoring.model import load_current_model
    from realtime import prepare, read_replay  # type: ignore[import-not-found]

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path(".bench-work/realtime-compute"),
                    help="a workdir benchmarks/realtime.py prepared (prepared here when it has no prep.json)")  # fmt: skip
    ap.add_argument("--rows", type=int, default=20_000, help="history rows of the world, when preparing")
    ap.add_argument("--seed", type=int, default=7, help="world seed, when preparing")
    ap.add_argument("--warm", type=int, default=40_500, help="records before the timed batches")
    ap.add_argument("--batches", type=int, default=2_000, help="timed micro-batches")
    ap.add_argument("--per", type=int, default=100, help="records per micro-batch")
    ap.add_argument("--repeat", type=int, default=1, help="timed passes (fresh state each)")
    a = ap.parse_args()
    nogil = _time_nogil_kernels()

    if not (a.workdir / "prep.json").exists():
        prepare(a.workdir, a.rows, a.seed, a.warm + a.batches * a.per)
    prep = json.loads((a.workdir / "prep.json").read_text())
    replay = read_replay(a.workdir / "replay.csv")
    settings = load_settings(Path(prep["ws"]))
    model = load_current_model(settings)
    scorer = Scorer(model, OnlineFeatures.feature_index())
    thr = scorer.threshold
    gap = int(prep["gap_us"])
    start = int(prep["last_us"]) + 3_600_000_000
    recs = _records(replay, start, gap, a.warm + a.batches * a.per, 0)
    warm, timed = recs[: a.warm], recs[a.warm :]
    batches = [timed[i : i + a.per] for i in range(0, len(timed), a.per)]

    # the service's cyclic-GC settings (filiere.realtime.service: freeze after start, young threshold 50,000)
    gc.collect()
    gc.freeze()
    g0, g1, g2 = gc.get_threshold()
    gc.set_threshold(max(g0, 50_000), max(g1, 20), max(g2, 100))
    rows = []
    for rep in range(a.repeat):
        feats = OnlineFeatures()
        for i in range(0, len(warm), 100):  # the warm-up and single phases: small batches, not timed
            chunk = warm[i : i + 100]
            F = feats.step_many(chunk)[1]
            feats.propagate_many(chunk, scorer.first_stage(F))
        t_step = t_prop = t_score = t_explain = 0.0
        alerts = 0
        check = 0.0
        nogil.clear()
        c0 = time.process_time()
        for b in batches:
            t0 = time.process_time()
            _eff, F = feats.step_many(b)
            t1 = time.process_time()
            P = feats.propagate_many(b, scorer.first_stage(F))
            t2 = time.process_time()
            X, s = scorer.score(F, P)
            t3 = time.process_time()
            over = np.flatnonzero(s >= thr)
            if len(over):
                alerts += len(over)
                scorer.explain(X[over], top=5)
            t4 = time.process_time()
            t_step += t1 - t0
            t_prop += t2 - t1
            t_score += t3 - t2
            t_explain += t4 - t3
            check += float(np.nansum(F)) + float(s.sum())
        total = time.process_time() - c0
        n = len(timed)
        free = sum(nogil.values()) / 1e9
        rows.append((rep, n, total / n * 1e6, (total - free) / n * 1e6, t_step / n * 1e6, t_prop / n * 1e6,
                     t_score / n * 1e6, t_explain / n * 1e6, alerts, check))  # fmt: skip

    print(f"workdir {a.workdir}: {len(warm):,} warm-up records, then {len(batches):,} batches of {a.per}; "
          f"event time {gap / 1e6:.1f} s per payment; model {prep.get('model')}")  # fmt: skip
    print()
    print("| pass | tx | CPU µs/tx | GIL held µs/tx | step_many | propagate + stage 1 | stage 2 | TreeSHAP "
          "| alerts | checksum |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for rep, n, tot, gil, st, pr, sc, ex, al, ck in rows:
        print(f"| {rep} | {n:,} | {tot:.1f} | {gil:.1f} | {st:.1f} | {pr:.1f} | {sc:.1f} | {ex:.1f} | {al} "
              f"| {ck:.6e} |")  # fmt: skip
    print()
    print("GIL held: the CPU time outside the compiled kernels that release the GIL (numba nogil=True)")


if __name__ == "__main__":
    main()
