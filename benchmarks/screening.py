"""Screening benchmark: leave-one-alias-out retrieval on the UN and OFAC lists, false alerts on
generated non-listed names, throughput and index build time; nomenklatura logic-v2 as the peer.

    nice .venv/bin/python benchmarks/screening.py                 # full run
    .venv/bin/python benchmarks/screening.py --rows 300 --no-peer # CI-sized
    ... --hand-set                                                # the hand-set name score (no model)

Each alias of a list entity (every name but the primary one, weak aliases included) is a query
against that list's index with that one name left out; the entity must come back. "variant":
the alias shares a word with the entity's remaining names; "distinct": it shares none (noms de
guerre); "original script": UN names in Arabic script, matched against everything else. The
peer (logic-v2) scores the same queries against the same candidate entities (our blocking's top
10, since logic-v2 is a pairwise scorer without an index), in its own venv
(``.bench-envs/nk``) in a subprocess. A separate table "with qualifiers" queries the variant
aliases of persons with a listed birth date again with the entity's birth year and nationality,
and the generated names with a random year and nationality; the name-only rows stay the headline.
The learned scorer was trained on UN aliases and generated names of another seed: the UN rows are
in-sample for it, OFAC and the generated names (seed 7) are not.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from filiere.screening import normalize
from filiere.screening.evalset import BENCH_SEED, Case, alias_cases, benchmark_holdout, canon_key, generate_names
from filiere.screening.loaders import load_list
from filiere.screening.matcher import MatcherConfig, NameIndex, Query
from filiere.screening.models import ListEntity, Match
from filiere.screening.service import Screener

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT / ".." / "shared" / "data").resolve()
NK_PYTHON = ROOT / ".bench-envs" / "nk" / "bin" / "python"


def name_ids(idx: NameIndex) -> dict[tuple[int, str], int]:
    return {(e, t): i for i, (e, t) in enumerate(zip(idx.name_entity, idx.name_text, strict=True))}


#: miss categories of the variant aliases (see :func:`miss_category`)
MISS_CATEGORIES = {
    "d": "(d) shares only common words with the entity's other names",
    "a": "(a) blocking miss: the entity is not among the aligned candidates",
    "b": "(b) retrieved, but another entity ranks first",
    "c": "(c) ranked first, scored below the threshold",
}


def miss_category(c: Case, res: list[Match], target: str, threshold: float) -> str | None:
    """Why a variant alias is missed (``None``: found at the threshold). (d) goes first: an alias
    that shares only common words with its entity is in effect another name, however it ranks."""
    ts = max((m.score for m in res if m.entity_id == target), default=None)
    if ts is not None and ts >= threshold:
        return None
    if not c.rare:
        return "d"
    if ts is None:
        return "a"
    return "b" if res[0].entity_id != target else "c"


def evaluate(
    idx: NameIndex, cases: list[Case], threshold: float, queries: list[Query] | None = None,
    misses: list[dict[str, object]] | None = None,
) -> tuple[dict[str, dict[str, float]], list[list[str]], list[float]]:  # fmt: skip
    """Per kind: n, top-1, recall at the threshold, candidate recall (the entity among the aligned
    candidates at all). One batch call, each query with its own name left out of the index.
    ``queries``: the cases' queries when they carry more than the name (qualifiers)."""
    nid = name_ids(idx)
    excludes = [[nid[(c.entity, c.name)]] if (c.entity, c.name) in nid else [] for c in cases]
    k = idx.config.candidates
    queries = queries if queries is not None else [Query(c.name) for c in cases]
    results = idx.search_many(queries, limit=k, cutoff=0.0, excludes=excludes)
    stats: dict[str, dict[str, float]] = {}
    candidates: list[list[str]] = []
    target_scores: list[float] = []
    for c, res in zip(cases, results, strict=True):
        target = idx.entities[c.entity].entity_id
        target_scores.append(max((m.score for m in res if m.entity_id == target), default=0.0))
        kinds = [c.kind] + (["variant, rare word shared"] if c.kind == "variant" and c.rare else [])
        kinds += ["variant, common words only"] if c.kind == "variant" and not c.rare else []
        for kind in kinds:
            s = stats.setdefault(kind, {"n": 0, "top1": 0, "recall": 0, "cand": 0})
            s["n"] += 1
            s["top1"] += bool(res) and res[0].entity_id == target
            s["recall"] += any(m.entity_id == target and m.score >= threshold for m in res)
            s["cand"] += any(m.entity_id == target for m in res)
        candidates.append([m.entity_id for m in res[:10]])
        if misses is not None and c.kind == "variant":
            cat = miss_category(c, res, target, threshold)
            s = stats.setdefault(f"miss {cat}", {"n": 0, "top1": 0, "recall": 0, "cand": 0})
            s["n"] += 1
            if cat is not None:
                tm = next((m for m in res if m.entity_id == target), None)
                ent = idx.entities[c.entity]
                misses.append(
                    {
                        "category": cat, "query": c.name, "entity": target,
                        "entity_names": [n for n in ent.names + ent.weak_names if n != c.name],
                        "top": [res[0].entity_id, res[0].matched_name, round(res[0].score, 4)] if res else None,
                        "target_score": round(tm.score, 4) if tm else None,
                        "target_explanation": tm.explanation if tm else None,
                    }
                )  # fmt: skip
    return stats, candidates, target_scores


def run_peer(
    entities: list[ListEntity], cases: list[Case], candidates: list[list[str]], fp_names: list[str],
    fp_cands: list[list[str]], threshold: float,
) -> dict[str, dict[str, float]] | None:  # fmt: skip
    if not NK_PYTHON.exists():
        return None
    by_id = {e.entity_id: e for e in entities}
    need = {eid for cs in candidates + fp_cands for eid in cs}
    ents = {
        eid: {"schema": "Person" if by_id[eid].schema == "Person" else "Organization", "names": by_id[eid].names + by_id[eid].weak_names}
        for eid in need
    }  # fmt: skip
    queries: list[dict[str, object]] = []
    for c, cs in zip(cases, candidates, strict=True):
        target = entities[c.entity]
        # leave-one-out for the peer too: the query's own name is removed from the target entity
        queries.append({"kind": c.kind, "name": c.name, "target": target.entity_id, "cands": cs})
    for n, cs in zip(fp_names, fp_cands, strict=True):
        queries.append({"kind": "false_alert", "name": n, "target": None, "cands": cs})
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.json"
        src.write_text(json.dumps({"entities": ents, "queries": queries, "threshold": threshold}), encoding="utf-8")
        out = subprocess.run([str(NK_PYTHON), "-c", PEER_SCRIPT, str(src)], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


PEER_SCRIPT = r"""
import json, sys, time
from followthemoney import model
from nomenklatura.matching import get_algorithm
data = json.load(open(sys.argv[1]))
algo = get_algorithm("logic-v2")
cfg = algo.default_config()
thr = data["threshold"]
def make(eid, schema, names):
    e = model.make_entity(schema); e.id = eid; e.add("name", names); return e
stats = {}
n_cmp = 0; t0 = None
# logic-v2 caches name analysis by entity id: every entity built here gets an id of its own
for qi, q in enumerate(data["queries"]):
    best, best_s, target_s = None, -1.0, 0.0
    for eid in q["cands"]:
        ent = data["entities"][eid]
        names = [n for n in ent["names"] if not (eid == q["target"] and n == q["name"])]
        if not names:
            continue
        qe2 = make(f"q{qi}", ent["schema"], [q["name"]])
        if t0 is None: t0 = time.time()
        s = algo.compare(qe2, make(f"{eid}#{qi}", ent["schema"], names), cfg).score
        n_cmp += 1
        if s > best_s: best, best_s = eid, s
        if eid == q["target"]: target_s = s
    st = stats.setdefault(q["kind"], {"n": 0, "top1": 0, "recall": 0, "alerts": 0})
    st["n"] += 1
    st["top1"] += best is not None and best == q["target"]
    st["recall"] += target_s >= thr
    st["alerts"] += best_s >= thr
stats["_timing"] = {"comparisons": n_cmp, "seconds": time.time() - (t0 or time.time())}
print(json.dumps(stats))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=0, help="max alias queries per list (0: all)")
    ap.add_argument("--fp-names", type=int, default=3000, help="generated non-listed names")
    ap.add_argument("--peer-sample", type=int, default=1500, help="queries per list sent to logic-v2")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--hand-set", action="store_true", help="the hand-set name score instead of the learned one")
    ap.add_argument("--misses", type=Path, default=None, help="write the variant misses (JSON lines) here")
    ap.add_argument(
        "--served-idf", action="store_true",
        help="token weights of UN + OFAC together (as served with both loaded), not of the queried list alone",
    )  # fmt: skip
    args = ap.parse_args()
    rng = random.Random(11)

    t = time.perf_counter()
    un = load_list(DATA / "sanctions" / "un_consolidated.xml", "un-xml").entities
    ofac = load_list(DATA / "sanctions" / "ofac_sdn.csv", "ofac-csv").entities
    load_s = time.perf_counter() - t

    cfg = MatcherConfig(learned=not args.hand_set)
    t = time.perf_counter()
    both = Screener(un + ofac, cfg)
    build_s = time.perf_counter() - t
    thr = args.threshold if args.threshold is not None else both.threshold

    # ---- false alerts on non-listed names
    # names on the lists in any spelling (same folded token set) are not "non-listed"
    listed = {canon_key(n) for e in un + ofac for n in e.names + e.weak_names}
    fp_names = [n for n in generate_names(args.fp_names * 3, BENCH_SEED) if canon_key(n) not in listed]
    fp_names = list(dict.fromkeys(fp_names))[: args.fp_names]
    # the scorer's training negatives leave out every name the benchmark can draw (evalset)
    held = benchmark_holdout()
    unseen = sum(canon_key(n) in held for n in fp_names)
    fp_res = both.index.search_many([Query(n) for n in fp_names], limit=10, cutoff=0.0)
    fp_rate = sum(any(m.score >= thr for m in r) for r in fp_res) / max(len(fp_names), 1)
    fp_cands = [[m.entity_id for m in r] for r in fp_res]
    # recall / false-alert curve: the threshold at which a given share of the non-listed names alerts
    fp_best = np.sort(np.asarray([max((m.score for m in r), default=0.0) for r in fp_res]))
    fp_thresholds = [_threshold_at(fp_best, rate) for rate in CURVE_RATES]
    curve: list[tuple[str, str, list[float]]] = []
    boot_sd: list[tuple[str, float]] = []

    rows: list[tuple[str, str, int, float, float, float, str, str]] = []
    peer_fp: float | None = None
    all_queries: list[Query] = [Query(n) for n in fp_names]
    # ---- with qualifiers: persons' aliases carry the entity's birth year and nationality; the
    # generated names carry a random year and nationality (name-only rows above stay the headline)
    qrng = random.Random(23)
    countries = sorted({c for e in un + ofac for c in e.countries})
    fpq = [Query(n, birth_date=str(qrng.randint(1940, 2000)), country=qrng.choice(countries)) for n in fp_names]
    fpq_res = both.index.search_many(fpq, limit=10, cutoff=0.0)
    fpq_rate = sum(any(m.score >= thr for m in r) for r in fpq_res) / max(len(fp_names), 1)
    qual_rows: list[tuple[str, int, float, float, float, float]] = []
    # ---- the scenario generator's own variants of UN-listed people (what the demo worlds plant), against
    # UN + OFAC as served: the UN entity must come back (an OFAC listing of the same person may too)
    from filiere.scenario import names as scen_names

    vrng = random.Random(31)
    scen_q: list[tuple[str, str, str]] = []  # (variant kind, name, UN entity id)
    for person in scen_names.listed_people():
        for _ in range(4):
            name, kind = scen_names.spelling_variant(person.name, vrng)
            scen_q.append((kind, name, f"un:{person.reference}"))
    scen_res = both.index.search_many([Query(n) for _k, n, _t in scen_q], limit=10, cutoff=0.0)
    scen_rows: dict[str, list[int]] = {}
    for (kind, _n, target), res in zip(scen_q, scen_res, strict=True):
        row = scen_rows.setdefault(kind, [0, 0, 0])
        row[0] += 1
        row[1] += next((m.entity_id for m in res if m.entity_id.startswith("un:")), None) == target
        row[2] += any(m.entity_id == target and m.score >= thr for m in res)
    miss_rows: list[tuple[str, int, dict[str, int]]] = []

    for label, ents in (("UN", un), ("OFAC", ofac)):
        idx = NameIndex(ents, both.config)
        if args.served_idf:
            # token weights as served (and as trained) when both lists are loaded: IDF over UN + OFAC
            idx.borrow_weights(both.index)
        cases = alias_cases(ents)
        if args.rows:
            rng.shuffle(cases)
            cases = cases[: args.rows]
        all_queries.extend(Query(c.name) for c in cases)
        list_misses: list[dict[str, object]] = []
        stats, cands, tscores = evaluate(idx, cases, thr, misses=list_misses)
        n_var = stats["variant"]["n"] if "variant" in stats else 0
        miss_rows.append((label, int(n_var), {k: int(stats.get(f"miss {k}", {"n": 0})["n"]) for k in MISS_CATEGORIES}))
        if args.misses is not None:
            with args.misses.open("a" if label != "UN" else "w", encoding="utf-8") as fh:
                for m in list_misses:
                    fh.write(json.dumps({"list": label, **m}, ensure_ascii=False) + "\n")
        # the same variant aliases of persons with a listed birth date, name only and with qualifiers
        qcases = [c for c in cases if c.kind == "variant" and ents[c.entity].schema == "Person"
                  and ents[c.entity].birth_dates]  # fmt: skip
        if qcases:
            qq = [
                Query(c.name, birth_date=ents[c.entity].birth_dates[0][:4],
                      country=ents[c.entity].countries[0] if ents[c.entity].countries else None)
                for c in qcases
            ]  # fmt: skip
            s0 = evaluate(idx, qcases, thr)[0]["variant"]
            s1 = evaluate(idx, qcases, thr, qq)[0]["variant"]
            n = s0["n"]
            qual_rows.append((label, int(n), s0["top1"] / n, s0["recall"] / n, s1["top1"] / n, s1["recall"] / n))
        for kind, sel in (
            ("variant", [c.kind == "variant" for c in cases]),
            ("variant, rare word shared", [c.kind == "variant" and c.rare for c in cases]),
        ):
            ts = np.asarray([s for s, keep in zip(tscores, sel, strict=True) if keep])
            curve.append((label, kind, [float((ts >= t).mean()) if len(ts) else 0.0 for t in fp_thresholds]))
            if kind == "variant" and len(ts):
                boot_sd.append((label, _bootstrap_sd(ts, fp_best, 0.01)))
        peer = None
        if not args.no_peer:
            sample = list(range(len(cases)))
            rng.shuffle(sample)
            sample = sample[: args.peer_sample]
            fp_sample = list(range(min(len(fp_names), args.peer_sample))) if label == "UN" else []
            # false alerts: the peer scores the same candidates from UN + OFAC as we do
            peer = run_peer(
                ents if label != "UN" else un + ofac, [cases[i] for i in sample], [cands[i] for i in sample],
                [fp_names[i] for i in fp_sample], [fp_cands[i] for i in fp_sample], thr,
            )  # fmt: skip
            if peer and "false_alert" in peer:
                fa = peer["false_alert"]
                peer_fp = fa["alerts"] / fa["n"]
        for kind in ("variant", "variant, rare word shared", "variant, common words only", "distinct", "original"):
            s = stats.get(kind)
            if not s:
                continue
            p = (peer or {}).get(kind)
            rows.append(
                (
                    label,
                    kind,
                    int(s["n"]),
                    s["top1"] / s["n"],
                    s["recall"] / s["n"],
                    s["cand"] / s["n"],
                    f"{p['top1'] / p['n']:.3f}" if p else "-",
                    f"{p['recall'] / p['n']:.3f} (n={p['n']})" if p else "-",
                )
            )

    # ---- throughput: every query against UN + OFAC, cold caches each time
    _clear_caches()
    both1 = Screener(un + ofac, cfg)
    t = time.perf_counter()
    both1.screen_many(all_queries, workers=1)
    qps1 = len(all_queries) / (time.perf_counter() - t)
    _clear_caches()
    both2 = Screener(un + ofac, cfg)
    t = time.perf_counter()
    both2.screen_many(all_queries, workers=args.workers)
    qps2 = len(all_queries) / (time.perf_counter() - t)

    load = os.getloadavg()
    print(f"\nname score: {'hand-set' if args.hand_set else 'learned (name_model.json)'}")
    print(f"threshold {thr} · lists: UN {len(un):,} + OFAC {len(ofac):,} entities · cores: {os.cpu_count()}"
          f" · load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}\n")  # fmt: skip
    print(
        f"| list | aliases | queries | top-1 | recall@{thr} | candidate recall | logic-v2 top-1 | logic-v2 recall@{thr} |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]:,} | {r[3]:.3f} | {r[4]:.3f} | {r[5]:.3f} | {r[6]} | {r[7]} |")
    print()
    print("| measure | value |")
    print("|---|---:|")
    print(f"| false-alert rate, {len(fp_names):,} generated non-listed names vs UN+OFAC | {fp_rate:.4f} |")
    print(f"| of which held out of the scorer's training negatives | {unseen:,} of {len(fp_names):,} |")
    print(
        f"| with qualifiers: false-alert rate, the same names with a random birth year and nationality | {fpq_rate:.4f} |"
    )
    if peer_fp is not None:
        print(f"| logic-v2 false-alert rate (sample of the same names, same UN+OFAC candidates) | {peer_fp:.4f} |")
    print(f"| list parsing (UN XML + OFAC CSV) | {load_s:.2f} s |")
    print(f"| index build, UN + OFAC ({len(both.index.name_text):,} names) | {build_s:.2f} s |")
    print(f"| batch queries/s, 1 process ({len(all_queries):,} queries) | {qps1:,.0f} |")
    print(f"| batch queries/s, {args.workers} processes | {qps2:,.0f} |")
    print()
    print("With qualifiers (separate from the name-only headline): variant aliases of persons with a listed birth")
    print("date, queried by name only and with the entity's birth year and first nationality.\n")
    print(
        f"| list | queries | top-1, name only | recall@{thr}, name only | top-1, with qualifiers | recall@{thr}, with qualifiers |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for label, n, t0, r0, t1, r1 in qual_rows:
        print(f"| {label} | {n:,} | {t0:.3f} | {r0:.3f} | {t1:.3f} | {r1:.3f} |")
    print()
    print(f"Variant misses at {thr} by category (share of all variant aliases):\n")
    print("| list | variants | found | " + " | ".join(MISS_CATEGORIES.values()) + " |")
    print("|---|---:|---:|" + "---:|" * len(MISS_CATEGORIES))
    for label, n, cats in miss_rows:
        found = n - sum(cats.values())
        cells = " | ".join(f"{cats[k]:,} ({cats[k] / max(n, 1):.3f})" for k in MISS_CATEGORIES)
        print(f"| {label} | {n:,} | {found:,} ({found / max(n, 1):.3f}) | {cells} |")
    for label, _n, _cats in miss_rows:
        rare = next((r for r in rows if r[0] == label and r[1] == "variant, rare word shared"), None)
        if rare:
            print(f"\n{label}: variant recall@{thr} excluding category (d), i.e. the aliases sharing a rare word "
                  f"(NOT the issue's definition, which counts every variant): {rare[4]:.3f} of {rare[2]:,}")  # fmt: skip
    print()
    print("The scenario generator's spelling variants of UN-listed people (`scenario.names.spelling_variant`, 4 per")
    print("person of its package extract), screened against UN + OFAC as served:\n")
    print(f"| variant | queries | UN entity first among UN entities | UN entity at {thr} |")
    print("|---|---:|---:|---:|")
    for kind in sorted(scen_rows):
        n, first, found = scen_rows[kind]
        print(f"| {kind} | {n:,} | {first / n:.3f} | {found / n:.3f} |")
    print()
    head = " | ".join(f"recall at {r:.1%} FP (≥ {t:.3f})" for r, t in zip(CURVE_RATES, fp_thresholds, strict=True))
    print(f"| list | aliases | {head} |")
    print("|---|---|" + "---:|" * len(CURVE_RATES))
    for label, kind, recalls in curve:
        print(f"| {label} | {kind} | " + " | ".join(f"{r:.3f}" for r in recalls) + " |")
    print()
    print(
        "Measurement noise of the variant recall at 1 % FP (bootstrap, 400 resamplings of the false-alert names "
        f"and of the queries; the threshold rests on the top {int(0.01 * len(fp_best))} of {len(fp_best):,} "
        "false-alert scores): " + ", ".join(f"{label} ± {sd:.3f} (sd)" for label, sd in boot_sd)
    )


#: false-alert rates of the recall curve
CURVE_RATES = (0.005, 0.01, 0.02, 0.05)


def _threshold_at(fp_best_sorted: np.ndarray, rate: float) -> float:
    """Lowest score threshold at which at most ``rate`` of the non-listed names alert."""
    n = len(fp_best_sorted)
    if not n:
        return 0.0
    allowed = int(rate * n)  # names allowed to score at or above the threshold
    # the threshold sits just above the (allowed+1)-th best false-alert score
    return float(np.nextafter(fp_best_sorted[n - allowed - 1], 2.0)) if allowed < n else 0.0


def _bootstrap_sd(target: np.ndarray, fp_best: np.ndarray, rate: float, n: int = 400) -> float:
    """Standard deviation of "recall at ``rate`` false alerts" over resamplings (with replacement) of
    the false-alert names and of the queries: how far two runs can differ by the draw alone."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        thr = _threshold_at(np.sort(rng.choice(fp_best, len(fp_best))), rate)
        out.append(float((rng.choice(target, len(target)) >= thr).mean()))
    return float(np.std(out))


def _clear_caches() -> None:
    for fn in (normalize.to_latin, normalize.canon_token, normalize.skeleton, normalize.phonetic):
        fn.cache_clear()


if __name__ == "__main__":
    main()
