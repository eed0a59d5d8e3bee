"""The README's two commands: the demo runs end to end, and CI runs the test command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_readme_first_lines_give_demo_and_test_commands() -> None:
    head = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:15]
    text = "\n".join(head)
    assert "make demo" in text
    assert "make test" in text
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci


def test_makefile_targets_call_the_package() -> None:
    mk = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "filiere demo" in mk
    assert "pytest --runslow" in mk


@pytest.mark.slow
def test_demo_runs_end_to_end(tmp_path: Path, shared_data: Path) -> None:
    ws = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FILIERE_")}
    env["FILIERE_SHARED_DATA"] = str(shared_data)
    _run_demo(ws, env)
    creds = (ws / "demo-credentials.txt").read_text(encoding="utf-8").split()
    assert creds[0] == "demo-analyst" and len(creds[1]) >= 10
    out = subprocess.run(
        [sys.executable, "-m", "filiere.cli", "summary", "--workspace", str(ws), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    counts = json.loads(out.stdout)
    assert counts["transactions"] == 20000
    assert counts["quarantine"] == 0
    alerts = subprocess.run(
        [sys.executable, "-m", "filiere.cli", "alerts", "list", "--workspace", str(ws), "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    listed = json.loads(alerts.stdout)
    items = listed.get("items", listed.get("alerts")) if isinstance(listed, dict) else listed
    assert len(items) > 0
    sources = {a["source"] for a in items}
    assert "screening" in sources
    # the crime vectors of the sahel world: a stolen object offered for sale (PCAN), the drug scheme's
    # trading company importing medicaments (SPLGI), ransom cashed out at an exchange (SPOVC)
    for code, source in (("PCAN", "art"), ("SPLGI", "tbml"), ("SPOVC", "crypto")):
        got = subprocess.run(
            [sys.executable, "-m", "filiere.cli", "alerts", "list", "-w", str(ws), "--json", "--indicator", code],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        by_code = json.loads(got.stdout)
        found = by_code.get("items", by_code.get("alerts")) if isinstance(by_code, dict) else by_code
        assert any(a["source"] == source for a in found), (code, found)
    assert (ws / "art_matches.csv").exists()
    # run again on the same workspace: it completes, the demo users keep their passwords
    _run_demo(ws, env)
    assert (ws / "demo-credentials.txt").read_text(encoding="utf-8").split() == creds


def _run_demo(ws: Path, env: dict[str, str]) -> None:
    """``filiere demo`` on a 20,000-row world without the server; it must finish and say so."""
    proc = subprocess.run(
        [sys.executable, "-m", "filiere.cli", "demo", "--workspace", str(ws), "--rows", "20000", "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "filiere demo ready" in proc.stdout
