"""Assemble docs/benchmarks.md from the per-area measured tables in docs/bench/*.md.

Each area keeps its measured table, the exact command and the machine load beside it in
docs/bench/<area>.md; this script concatenates them (headings demoted one level) under a summary
of targets. Run: python scripts/assemble_benchmarks.py
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["ingest", "scenario", "patterns", "detection", "screening", "realtime", "vectors"]

HEADER = """# Benchmarks

Every figure below was measured by the command printed beside it, on the project's 2-core, 24 GB
development machine. **Most were taken while several other jobs shared those two cores** (the load
average is recorded with each table): wall-clock times are pessimistic, CPU seconds are given where
they were recorded. Peers (IBM Snap ML's GraphFeaturePreprocessor, OpenSanctions' nomenklatura
logic-v2) were installed only in benchmark-private environments under `.bench-envs/` and run in the
same benchmark as filiere.

CI runs each benchmark at a small size (`tests/test_benchmarks_smoke.py`) so the scripts keep working.

## Where each target stands (latest measurement of each; details and commands in the sections below)

| area | target | latest measured | met |
|---|---|---|---|
| ingest | 5M AMLworld rows ≤ 60 s, ≤ 4 GB | 50.2 s, 2.5 GB (load 2.2) | yes |
| scenario | 5M-row world, byte-identical by seed | 25–35 s, ~1 GB | yes |
| patterns | streaming, causal, faster than Snap ML GFP | 16.5× GFP at 1M, 7.8× at 5M | yes |
| detection | F1 ≥ 0.80 on amlworld-hi (5M) | 0.796 (report seed); 0.796–0.803 over model seeds 7–9 | edge |
| detection | F1 ≥ GFP+LGBM + 5 points, hi and li | 5M: 0.796 vs 0.325 (hi), 0.759 vs 0.237 (li) | yes |
| detection | 5M end to end ≤ 5 min on 2 cores | 255–279 s (quiet), 420–437 CPU-s, 10–12 GB | yes |
| screening | variant recall ≥ 0.95 at ≤ 1 % false alerts | UN 0.726, OFAC 0.724 (±0.025) at 1 % FP | no |
| screening | top-1 ≥ 0.85 | 0.835 UN / 0.828 OFAC (logic-v2: 0.825 / 0.804) | **no** |
| screening | ≥ 2,000 queries/s, index ≤ 10 s | 2,857–3,109 q/s (1 process), 3,802–3,981 (2), index ≤ 3.5 s | yes |
| screening | (names from outside the lists) | 57 / 68 spellings matched, 2 / 34 namesakes (logic-v2 52, 5) | - |
| real-time | ≥ 2,000 single tx/s with p99 ≤ 35 ms | 2,253–2,693 tx/s, p99 12.2–16.6 ms (quiet) | yes |
| real-time | ≥ 20,000 tx/s in batches of 100 | 21,967–23,451 tx/s (75–97 µs server CPU/tx, quiet) | yes |
| real-time | nothing acknowledged lost after SIGKILL | 24,980 / 34,280 acked, 0 lost, restart 4.8–5.9 s | yes |

"""


def demote(text: str) -> str:
    """Headings one level down; lines inside fenced code blocks (shell comments) stay as they are."""
    out: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        out.append("#" + line if line.startswith("#") and not fenced else line)
    return "\n".join(out)


def main() -> None:
    parts = [HEADER]
    bench = ROOT / "docs" / "bench"
    names = [n for n in ORDER if (bench / f"{n}.md").exists()]
    names += sorted(p.stem for p in bench.glob("*.md") if p.stem not in ORDER)
    for name in names:
        parts.append(demote((bench / f"{name}.md").read_text(encoding="utf-8")).strip() + "\n")
    (ROOT / "docs" / "benchmarks.md").write_text("\n".join(parts), encoding="utf-8")
    print(f"docs/benchmarks.md: {len(names)} sections")


if __name__ == "__main__":
    main()
