"""``POST /v1/screen``: batch name screening shaped like yente's ``/match``.

The service mounts :data:`router` under ``/v1`` with its authentication dependencies
(``app.include_router(router, prefix="/v1", dependencies=[...])``); this module adds none.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from filiere.config import Settings, load_settings
from filiere.screening.service import Screener, get_screener

router = APIRouter(tags=["screening"])


class EntityQuery(BaseModel):
    schema_: str = Field("LegalEntity", alias="schema", examples=["Person"])
    properties: dict[str, list[str]] = Field(
        default_factory=dict,
        examples=[{"name": ["Ayman al-Zawahiri"], "birthDate": ["1951"], "nationality": ["eg"]}],
        description="FtM properties: name (required), birthDate, nationality/country, gender, idNumber, "
        "publicKey (crypto address)",
    )

    model_config = {"populate_by_name": True}


class MatchRequest(BaseModel):
    queries: dict[str, EntityQuery] = Field(
        examples=[{"q1": {"schema": "Person", "properties": {"name": ["أيمن محمد ربيع الظواهري"]}}}]
    )


class Feature(BaseModel):
    feature: str
    weight: float
    value: float
    detail: str


class MatchResult(BaseModel):
    id: str
    caption: str
    schema_: str = Field(alias="schema")
    datasets: list[str]
    matched_name: str
    programs: list[str]
    score: float
    match: bool
    explanation: str
    features: list[Feature]

    model_config = {"populate_by_name": True}


class QueryResponse(BaseModel):
    status: int = 200
    results: list[MatchResult]
    total: int
    query: EntityQuery


class MatchResponse(BaseModel):
    responses: dict[str, QueryResponse]
    threshold: float
    lists: str = Field(description="the list versions screened against")


def screener_for_request(request: Request) -> Screener:
    """The workspace's cached screener (rebuilt when a list version changes)."""
    settings: Settings = getattr(request.app.state, "settings", None) or load_settings()
    gate: Any = getattr(request.app.state, "store_gate", None)
    if gate is not None:
        with gate.unit_of_work() as store:
            return get_screener(settings, store)
    return get_screener(settings)


ScreenerDep = Annotated[Screener, Depends(screener_for_request)]


def _first(props: dict[str, list[str]], *keys: str) -> str | None:
    for k in keys:
        vals = [v for v in props.get(k, []) if v]
        if vals:
            return vals[0]
    return None


@router.post("/screen", response_model=MatchResponse, response_model_by_alias=True)
def screen(
    body: MatchRequest,
    screener: ScreenerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 5,
    threshold: Annotated[float | None, Query(ge=0, le=1)] = None,
) -> MatchResponse:
    """Screen each query entity (names in any script, qualifiers, crypto addresses) against the lists."""
    thr = screener.threshold if threshold is None else threshold
    out: dict[str, QueryResponse] = {}
    for key, q in body.queries.items():
        props = q.properties
        schema = q.schema_ if q.schema_ in ("Person", "Organization", "Company", "Vessel", "Airplane") else None
        schema = "Organization" if schema == "Company" else schema
        matches = []
        for addr in props.get("publicKey", []):
            matches.extend(screener.screen_address(addr))
        best: dict[str, Any] = {}
        for name in props.get("name", []) + props.get("alias", []):
            for m in screener.screen(
                name,
                schema=schema,
                birth_date=_first(props, "birthDate"),
                country=_first(props, "nationality", "citizenship", "country"),
                gender=_first(props, "gender"),
                identifiers=props.get("idNumber", []) + props.get("passportNumber", []),
                limit=limit,
            ):
                if m.entity_id not in best or m.score > best[m.entity_id].score:
                    best[m.entity_id] = m
        matches.extend(best.values())
        matches.sort(key=lambda m: -m.score)
        results = [
            MatchResult(
                id=m.entity_id,
                caption=m.caption,
                schema=m.schema,
                datasets=[m.list_id],
                matched_name=m.matched_name,
                programs=m.programs,
                score=round(m.score, 4),
                match=m.score >= thr,
                explanation=m.explanation,
                features=[Feature(**f.as_dict()) for f in m.features],
            )
            for m in matches[:limit]
        ]
        out[key] = QueryResponse(results=results, total=len(results), query=q)
    return MatchResponse(responses=out, threshold=thr, lists=screener.fingerprint)
