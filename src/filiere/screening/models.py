"""Internal types of the screening area: list entities as loaded, and match results.

Fast internal types (slots dataclasses) are kept apart from the pydantic models of the HTTP API.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

#: list formats ``filiere lists load`` accepts
LIST_FORMATS = ("un-xml", "ofac-csv", "ofac-xml", "eu-xml", "ftm", "tagpack")


@dataclass(slots=True)
class ListEntity:
    """One designated person, organisation, vessel or crypto wallet of a list version."""

    entity_id: str
    schema: str
    caption: str
    names: list[str] = field(default_factory=list)
    weak_names: list[str] = field(default_factory=list)
    birth_dates: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    gender: str | None = None
    identifiers: list[str] = field(default_factory=list)
    crypto: list[str] = field(default_factory=list)
    programs: list[str] = field(default_factory=list)
    listed_on: str | None = None

    def content_hash(self) -> str:
        payload = [
            self.schema,
            self.caption,
            self.names,
            self.weak_names,
            sorted(self.birth_dates),
            sorted(self.countries),
            self.gender,
            sorted(self.identifiers),
            sorted(self.crypto),
            sorted(self.programs),
            self.listed_on,
        ]
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()[:24]

    def to_row(self) -> dict[str, Any]:
        return {
            "entity_id": self.entity_id,
            "schema": self.schema,
            "caption": self.caption,
            "names": self.names,
            "weak_names": self.weak_names,
            "birth_dates": self.birth_dates,
            "countries": self.countries,
            "gender": self.gender,
            "identifiers": self.identifiers,
            "crypto": self.crypto,
            "programs": self.programs,
            "listed_on": self.listed_on,
            "content_hash": self.content_hash(),
        }


@dataclass(slots=True)
class LoadedList:
    """What a loader returns: one version of one list."""

    list_id: str
    list_format: str
    version_date: str | None
    entities: list[ListEntity]
    source_path: str = ""
    sha256: str = ""


@dataclass(slots=True)
class Feature:
    """One named contribution to a score, with its human-readable detail."""

    name: str
    weight: float
    value: float
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"feature": self.name, "weight": self.weight, "value": round(self.value, 4), "detail": self.detail}


@dataclass(slots=True)
class Match:
    """A candidate list entity for a query, with its score and the explanation of that score."""

    entity_id: str
    list_id: str
    schema: str
    caption: str
    matched_name: str
    score: float
    match: bool
    features: list[Feature] = field(default_factory=list)
    programs: list[str] = field(default_factory=list)

    @property
    def explanation(self) -> str:
        parts = [f"{f.name}={f.value:.2f} ({f.detail})" for f in self.features if f.value]
        return f"score {self.score:.3f}: " + "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity_id": self.entity_id,
            "list": self.list_id,
            "schema": self.schema,
            "caption": self.caption,
            "matched_name": self.matched_name,
            "score": round(self.score, 4),
            "match": self.match,
            "programs": self.programs,
            "explanation": self.explanation,
            "features": [f.as_dict() for f in self.features],
        }
