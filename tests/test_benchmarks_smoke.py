"""Every benchmark script runs at a small size and prints its table (CI keeps them working).

Peers that live only in benchmark-private environments (Snap ML, nomenklatura) are switched off
here; the full-size runs with peers are documented in docs/benchmarks.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CASES = {
    "ingest": ["--rows", "20000"],
    "scenario": ["--rows", "20000", "--template", "sahel"],
    "patterns_vs_gfp": ["--rows", "20000", "--family-rows", "5000", "--latency-n", "500", "--no-gfp"],
    "detection": ["--rows", "30000", "--seeds", "1,2", "--templates", "amlworld-hi", "--no-gfp"],
    "screening": ["--rows", "60", "--fp-names", "100", "--no-peer"],
    "screening_pairs": ["--no-peer"],
    "realtime": ["--rows", "3000", "--single", "300", "--batches", "5", "--seconds", "5", "--no-fault"],
    "realtime_compute": ["--rows", "3000", "--warm", "1000", "--batches", "20"],
    "art": ["--rows", "10", "--no-images"],
    "tbml": ["--rows", "5000"],
    "crypto_trace": ["--edges", "20000", "--schemes", "3"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_benchmark_runs_small(name: str, tmp_path: Path, shared_data: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FILIERE_")}
    env["FILIERE_SHARED_DATA"] = str(shared_data)
    env["TMPDIR"] = str(tmp_path)
    args = [*CASES[name], *(["--workdir", str(tmp_path / "work")] if name == "realtime_compute" else [])]
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "|" in out or "┃" in out or "│" in out, f"no table printed:\n{out[-2000:]}"
