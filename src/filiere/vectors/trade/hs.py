"""Harmonized System descriptions (the shared ``harmonized-system.csv``: chapters, headings, HS6)."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from filiere.errors import UserInputError


@lru_cache(maxsize=4)
def load_hs(path: Path) -> dict[str, str]:
    """``hscode`` → description for chapters (2 digits), headings (4) and subheadings (6)."""
    if not path.exists():
        raise UserInputError(f"{path}: HS description file not found")
    out: dict[str, str] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            code = (row.get("hscode") or "").strip()
            if code:
                out[code] = (row.get("description") or "").strip()
    return out


def describe(hs: dict[str, str], code: str) -> str:
    """The most specific description known for ``code`` (HS6, else heading, else chapter)."""
    for n in (6, 4, 2):
        d = hs.get(code[:n])
        if d:
            return d
    return ""


def hs_path(shared_data: Path) -> Path:
    return shared_data / "trade" / "harmonized-system.csv"
