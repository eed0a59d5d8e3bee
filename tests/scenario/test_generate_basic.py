from __future__ import annotations

import hashlib
import json
from pathlib import Path

from filiere.scenario import generate
from filiere.scenario.generator import HEADER

FILES = ("transactions.csv", "accounts.csv", "patterns.txt", "parties.ftm.jsonl", "truth.json")


def _digest(folder: Path) -> dict[str, str]:
    return {f: hashlib.sha256((folder / f).read_bytes()).hexdigest() for f in FILES}


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate("sahel", 20_000, 5, a)
    generate("sahel", 20_000, 5, b)
    generate("sahel", 20_000, 6, c)
    assert _digest(a) == _digest(b)
    assert _digest(a)["transactions.csv"] != _digest(c)["transactions.csv"]


def test_header_and_row_count(hi_world: Path) -> None:
    with (hi_world / "transactions.csv").open() as f:
        assert f.readline().rstrip("\n") == HEADER
        n = sum(1 for _ in f)
    truth = json.loads((hi_world / "truth.json").read_text())
    assert n == truth["rows"] == 300_000
