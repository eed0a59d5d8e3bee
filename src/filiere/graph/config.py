"""Configuration of the pattern engine: windows, thresholds, and which feature families to compute.

Defaults follow the AMLworld paper (Altman et al., NeurIPS 2023) where it gives one: 24 h windows
for degrees and cycles, 6 h for scatter-gather, cycles up to 10 edges.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from filiere.errors import UserInputError

Family = Literal[
    "degree",
    "stats",
    "scatter_gather",
    "gather_scatter",
    "bipartite",
    "stack",
    "cycle",
    "peel",
    "pass_through",
    "structuring",
]

ALL_FAMILIES: tuple[Family, ...] = (
    "degree",
    "stats",
    "scatter_gather",
    "gather_scatter",
    "bipartite",
    "stack",
    "cycle",
    "peel",
    "pass_through",
    "structuring",
)

_US_PER_HOUR = 3_600_000_000


def hours_to_us(hours: float) -> int:
    return round(hours * _US_PER_HOUR)


class FeatureConfig(BaseModel):
    """Windows (hours), thresholds and feature families of the pattern engine.

    Load from YAML with :meth:`from_yaml`; every key is optional.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    families: tuple[Family, ...] = Field(default=ALL_FAMILIES, description="feature families to compute")
    window_h: float = Field(default=24.0, gt=0, description="degrees, fans and per-account statistics")
    sg_window_h: float = Field(default=6.0, gt=0, description="scatter-gather, gather-scatter, bipartite and stack")
    cycle_window_h: float = Field(default=24.0, gt=0, description="temporal cycles")
    cycle_max_len: int = Field(default=10, ge=2, le=32, description="longest cycle, in edges")
    cycle_count_cap: int = Field(default=10_000, ge=1, description="cycle counts saturate at this value")
    peel_gap_h: float = Field(default=24.0, gt=0, description="largest gap between two links of a peel chain")
    peel_min_ratio: float = Field(
        default=0.5, gt=0, lt=1, description="each peel keeps at least this share of the previous"
    )
    pass_through_window_h: float = Field(default=6.0, gt=0, description="inflow matched by outflow within this time")
    pass_through_tolerance: float = Field(
        default=0.1, ge=0, description="|out - in| <= tolerance * in flags pass-through"
    )
    structuring_window_h: float = Field(default=72.0, gt=0, description="window of near-threshold cash deposits")
    structuring_threshold: float = Field(
        default=10_000.0, gt=0, description="reporting threshold, in the amount column"
    )
    structuring_margin: float = Field(
        default=0.1, gt=0, lt=1, description="near = [threshold * (1 - margin), threshold)"
    )
    cash_formats: tuple[str, ...] = Field(default=("Cash",), description="payment formats that count as cash")
    amount_column: str | None = Field(
        default=None,
        description="column holding amounts already converted to one currency; default amount_paid",
    )
    instances_max: int = Field(default=50, ge=1, description="most instances of one pattern pattern_instances returns")

    @field_validator("families")
    @classmethod
    def _dedupe(cls, value: tuple[Family, ...]) -> tuple[Family, ...]:
        return tuple(f for f in ALL_FAMILIES if f in value)

    @classmethod
    def from_yaml(cls, path: str | Path) -> FeatureConfig:
        """Read a YAML mapping (``window_h: 24``, ``families: [degree, cycle]`` ...)."""
        p = Path(path)
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise UserInputError(f"{p}: cannot read feature config: {exc}") from exc
        if not isinstance(data, dict):
            raise UserInputError(f"{p}: feature config must be a mapping of keys to values")
        if "graph" in data and isinstance(data["graph"], dict):
            data = data["graph"]
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(x) for x in first["loc"])
            raise UserInputError(f"{p}: field '{loc}': {first['msg']}") from exc

    def has(self, family: Family) -> bool:
        return family in self.families

    def max_window_us(self) -> int:
        """The longest look-back any enabled family needs: edges older than this are evicted."""
        spans = [self.window_h]
        if self.has("scatter_gather") or self.has("gather_scatter") or self.has("bipartite") or self.has("stack"):
            spans.append(self.sg_window_h)
        if self.has("cycle"):
            spans.append(self.cycle_window_h)
        if self.has("peel"):
            spans.append(self.peel_gap_h)
        if self.has("pass_through"):
            spans.append(self.pass_through_window_h)
        if self.has("structuring"):
            spans.append(self.structuring_window_h)
        return hours_to_us(max(spans))
