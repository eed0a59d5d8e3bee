"""Name pairs: known spellings of one name and look-alike names of different people, scored by
``filiere screen pairs`` (token weights of the UN + OFAC lists, the default threshold) and by
nomenklatura's logic-v2 (the peer, in ``.bench-envs/nk``) on the same pairs.

    .venv/bin/python benchmarks/screening_pairs.py [--pairs benchmarks/data/name_pairs.csv] [--no-peer]

The pairs (``benchmarks/data/name_pairs.csv``) were written by the team from published spellings of
listed people and groups (romanisations of Arabic, Persian, Russian, Korean and Chinese names, and
the same names in their own script) and from relatives or namesakes who are other people. They are
not the benchmark's lists' aliases: a check of how the matcher carries to names it was not tuned on.
It is small (about 100 pairs): read the rates with their counts.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import tempfile
from pathlib import Path

from filiere.screening.loaders import load_list
from filiere.screening.matcher import MatcherConfig
from filiere.screening.normalize import script_of
from filiere.screening.service import Screener

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT / ".." / "shared" / "data").resolve()
NK_PYTHON = ROOT / ".bench-envs" / "nk" / "bin" / "python"

PEER = r"""
import json, sys
from followthemoney import model
from nomenklatura.matching import get_algorithm
algo = get_algorithm("logic-v2"); cfg = algo.default_config()
out = []
for i, (a, b, schema) in enumerate(json.load(open(sys.argv[1]))):
    ea = model.make_entity(schema); ea.id = f"a{i}"; ea.add("name", a)
    eb = model.make_entity(schema); eb.id = f"b{i}"; eb.add("name", b)
    out.append(algo.compare(ea, eb, cfg).score)
print(json.dumps(out))
"""


def _script(a: str, b: str) -> str:
    for s in (a, b):
        if not s.isascii():
            return "other script" if script_of(s) == "latin" else f"{script_of(s)} script"
    return "Latin"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=Path, default=ROOT / "benchmarks" / "data" / "name_pairs.csv")
    ap.add_argument("--no-peer", action="store_true")
    args = ap.parse_args()
    with args.pairs.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    un = load_list(DATA / "sanctions" / "un_consolidated.xml", "un-xml").entities
    ofac = load_list(DATA / "sanctions" / "ofac_sdn.csv", "ofac-csv").entities
    screener = Screener(un + ofac, MatcherConfig())
    thr = screener.threshold
    ours = [screener.index.compare(r["name1"], r["name2"], r["schema"] or None).score for r in rows]
    peer: list[float] | None = None
    if not args.no_peer and NK_PYTHON.exists():
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "pairs.json"
            src.write_text(json.dumps([[r["name1"], r["name2"], r["schema"] or "LegalEntity"] for r in rows]))
            res = subprocess.run([str(NK_PYTHON), "-c", PEER, str(src)], capture_output=True, text=True, check=True)
            peer = [float(x) for x in json.loads(res.stdout)]
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        truth = r["match"].strip().lower() == "true"
        kind = "same name" if truth else "different people"
        groups.setdefault(kind, []).append(i)
        if truth:
            groups.setdefault(f"same name, {_script(r['name1'], r['name2'])}", []).append(i)
    print(f"name pairs: {args.pairs.name} · threshold {thr} (ours and logic-v2)\n")
    print("| pairs | n | filiere: scored a match | logic-v2: scored a match |")
    print("|---|---:|---:|---:|")
    for kind in sorted(groups, key=lambda k: (not k.startswith("same"), k != "same name", k)):
        idx = groups[kind]
        o = sum(ours[i] >= thr for i in idx)
        p = f"{sum(peer[i] >= thr for i in idx)} ({sum(peer[i] >= thr for i in idx) / len(idx):.2f})" if peer else "-"
        print(f"| {kind} | {len(idx)} | {o} ({o / len(idx):.2f}) | {p} |")
    print("\nWrong calls (filiere):\n")
    print("| name 1 | name 2 | truth | filiere | logic-v2 |")
    print("|---|---|---|---:|---:|")
    for i, r in enumerate(rows):
        truth = r["match"].strip().lower() == "true"
        if (ours[i] >= thr) != truth:
            ps = f"{peer[i]:.2f}" if peer else "-"
            print(f"| {r['name1']} | {r['name2']} | {'same' if truth else 'different'} | {ours[i]:.2f} | {ps} |")


if __name__ == "__main__":
    main()
