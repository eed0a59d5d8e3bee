"""Internal types of the screening area: list entities as loaded, and match results.

Fast internal types (slots dataclasses) are kept apart from the pydantic models of the HTTP API.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
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


class Match:
    """A candidate list entity for a query, with its score and the explanation of that score.

    ``features`` may be given as a callable (``explain``): the batch path scores every candidate in
    compiled code and spells out the alignment behind a score only when somebody reads it.
    """

    __slots__ = (
        "_explain",
        "_features",
        "caption",
        "entity_id",
        "list_id",
        "match",
        "matched_name",
        "programs",
        "schema",
        "score",
    )  # fmt: skip

    def __init__(
        self,
        entity_id: str,
        list_id: str,
        schema: str,
        caption: str,
        matched_name: str,
        score: float,
        match: bool,
        features: list[Feature] | None = None,
        programs: list[str] | None = None,
        explain: Callable[[], list[Feature]] | None = None,
    ) -> None:
        self.entity_id = entity_id
        self.list_id = list_id
        self.schema = schema
        self.caption = caption
        self.matched_name = matched_name
        self.score = score
        self.match = match
        self.programs = programs if programs is not None else []
        self._features = features if features is not None else []
        self._explain = explain

    @property
    def features(self) -> list[Feature]:
        if self._explain is not None:
            self._features = self._explain()
            self._explain = None
        return self._features

    def __repr__(self) -> str:
        return f"Match({self.entity_id!r}, {self.matched_name!r}, score={self.score:.4f}, match={self.match})"

    def __getstate__(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("entity_id", "list_id", "schema", "caption", "matched_name", "score",
                                              "match", "programs", "features")}  # fmt: skip

    def __setstate__(self, state: dict[str, Any]) -> None:
        feats = state.pop("features")
        for k, v in state.items():
            setattr(self, k, v)
        self._features = feats
        self._explain = None

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
