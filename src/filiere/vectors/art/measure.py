"""Measurements as written by registers and dealers, parsed to centimetres.

Handles ``72" x 60"``, ``31.5 in x 47.25 in``, ``12 1/2 x 9-3/4 in``, ``9' x 6'``, ``5' 6"``,
``50.00 x 60.00 cm``, ``230 mm``, ``Approx. 28" x 15"``; a unit written once at the end applies to
every dimension. Dimensions are returned largest first, so that ``H x W`` and ``W x H`` compare equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CM_PER: dict[str, float] = {"in": 2.54, "ft": 30.48, "cm": 1.0, "mm": 0.1, "m": 100.0}

_UNIT_ALIASES: dict[str, str] = {
    '"': "in",
    "''": "in",
    "in": "in",
    "in.": "in",
    "inch": "in",
    "inches": "in",
    "'": "ft",
    "ft": "ft",
    "ft.": "ft",
    "feet": "ft",
    "foot": "ft",
    "cm": "cm",
    "cms": "cm",
    "mm": "mm",
    "m": "m",
}

# a number: "12", "12.5", "12 1/2", "12-1/2", "1/2", also "12,5" (decimal comma)
_NUM = r"(?:\d+(?:[.,]\d+)?(?:[\s-]+\d+/\d+)?|\d+/\d+)"
_UNIT = r"(?:inches|inch|in\.?|feet|foot|ft\.?|cms|cm|mm|m(?![a-z])|''|\"|')"
_QTY = re.compile(rf"({_NUM})\s*({_UNIT})?", re.IGNORECASE)
_SEP = re.compile(r"\s*(?:\bx\b|×|\bby\b)\s*", re.IGNORECASE)
_TRAILING_UNIT = re.compile(rf"{_NUM}\s*({_UNIT})", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Measurement:
    dims_cm: tuple[float, ...]
    unit: str | None  # the unit read (None: none written, inches assumed)

    @property
    def assumed_unit(self) -> bool:
        return self.unit is None


def parse_number(text: str) -> float:
    """``"12 1/2"`` → 12.5, ``"3/4"`` → 0.75, ``"12,5"`` → 12.5."""
    text = text.strip()
    m = re.fullmatch(r"(\d+(?:[.,]\d+)?)(?:[\s-]+(\d+)/(\d+))?", text)
    if m:
        whole = float(m.group(1).replace(",", "."))
        if m.group(2):
            den = int(m.group(3))
            whole += int(m.group(2)) / den if den else 0.0
        return whole
    m = re.fullmatch(r"(\d+)/(\d+)", text)
    if m and int(m.group(2)):
        return int(m.group(1)) / int(m.group(2))
    raise ValueError(f"not a number: {text!r}")


def _segment_value(seg: str, default_unit: str | None) -> tuple[float, str | None] | None:
    """One dimension: ``5' 6"`` sums feet and inches; a bare number takes ``default_unit``."""
    total = 0.0
    unit_seen: str | None = None
    found = False
    for m in _QTY.finditer(seg):
        try:
            value = parse_number(m.group(1))
        except ValueError:
            continue
        raw_unit = (m.group(2) or "").lower()
        unit = _UNIT_ALIASES.get(raw_unit) if raw_unit else None
        if unit is None:
            unit = default_unit
        if unit is None:
            unit = "in"
        else:
            unit_seen = unit_seen or unit
        total += value * CM_PER[unit]
        found = True
    return (total, unit_seen) if found else None


def parse_measurements(text: str | None) -> Measurement | None:
    """Parse the first group of measurements in ``text``; ``None`` when it holds no number."""
    if not text:
        return None
    s = text.replace("”", '"').replace("“", '"').replace("″", '"').replace("′", "'").replace("’", "'")
    # the first ';'-separated group that carries a number (later groups are often the frame or cm twin)
    groups = [g for g in re.split(r";|\(|\bframed?\b", s) if re.search(r"\d", g)]
    if not groups:
        return None
    group = groups[0]
    units = [_UNIT_ALIASES.get(m.group(1).lower()) for m in _TRAILING_UNIT.finditer(group)]
    units_known = [u for u in units if u]
    default_unit = units_known[-1] if units_known else None
    dims: list[float] = []
    for seg in _SEP.split(group):
        got = _segment_value(seg, default_unit)
        if got is not None and got[0] > 0:
            dims.append(got[0])
    if not dims:
        return None
    dims.sort(reverse=True)
    return Measurement(tuple(round(d, 3) for d in dims), default_unit)


def compare_dims(a: tuple[float, ...] | list[float], b: tuple[float, ...] | list[float]) -> tuple[float, float]:
    """Similarity of two sorted dimension lists in [0, 1] and the largest relative difference.

    Up to 2% apart (rounding in a unit conversion) counts as equal; 17% apart or more counts as
    different. When one side lists fewer dimensions, the largest ones are compared, at a 10% discount.
    """
    k = min(len(a), len(b))
    if k == 0:
        return 0.0, 1.0
    rels = [abs(a[i] - b[i]) / max(a[i], b[i]) for i in range(k)]
    sims = [min(1.0, max(0.0, 1.0 - (r - 0.02) / 0.15)) for r in rels]
    sim = sum(sims) / k
    if len(a) != len(b):
        sim *= 0.9
    return sim, max(rels)
