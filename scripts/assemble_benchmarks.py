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

"""


def demote(text: str) -> str:
    return "\n".join(("#" + line) if line.startswith("#") else line for line in text.splitlines())


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
