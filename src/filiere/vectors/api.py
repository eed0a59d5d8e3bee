"""HTTP API of the crime vectors: art matching, trade scan results, crypto tracing and exposure.

Mounted by ``filiere.api.app.create_app`` under ``/v1`` (the app adds the prefix and authentication).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from filiere.api.deps import StoreDep, require_roles

router = APIRouter(tags=["vectors"])
ANALYST = Depends(require_roles("analyst", "supervisor"))


class ArtObjectIn(BaseModel):
    title: str = Field(default="", examples=["Two White Stars"])
    maker: str = Field(default="", examples=["Calder, Alexander"])
    object_type: str = Field(default="", examples=["Paintings"])
    materials: str = Field(default="", examples=["Gouache"])
    technique: str = ""
    measurements: str = Field(default="", examples=["29 x 42 1/2 in"])
    period: str = Field(default="", examples=["1974"])
    inscriptions: str = ""
    distinguishing_features: str = ""
    description: str = ""
    seller_party_id: str = ""
    buyer_party_id: str = ""
    account_id: str = ""
    tx_id: str = ""


class ArtMatchIn(BaseModel):
    objects: list[ArtObjectIn] = Field(min_length=1, max_length=1000)
    top: int = Field(default=5, ge=1, le=50)
    min_score: float = Field(default=0.3, ge=0, le=1)
    raise_alerts: bool = True
    alert_threshold: float = Field(default=0.75, ge=0, le=1)


class TraceIn(BaseModel):
    addresses: list[str] = Field(min_length=1, max_length=100, examples=[["bc1qransom00000"]])
    method: Literal["haircut", "poison"] = "haircut"
    max_hops: int = Field(default=32, ge=1, le=256)
    raise_alerts: bool = False


@router.post("/art/match", dependencies=[ANALYST], summary="Match offered objects against stolen-art registers")
def art_match(body: ArtMatchIn, store: StoreDep) -> dict[str, Any]:
    from filiere.cases.alerts import insert_alerts
    from filiere.vectors.art.records import ArtObject, finish
    from filiere.vectors.art.service import alerts_for, index_from_store

    queries = [finish(ArtObject(row=i + 1, **o.model_dump())) for i, o in enumerate(body.objects)]
    ix = index_from_store(store)
    results = ix.match_many(queries, top_n=body.top, min_score=body.min_score)
    n = (
        insert_alerts(store, alerts_for(results, threshold=body.alert_threshold, source_name="api"))
        if body.raise_alerts
        else 0
    )
    return {
        "alerts": n,
        "results": [
            {
                "query": i + 1,
                "candidates": [
                    {
                        "object_id": c.object_id,
                        "reference_number": c.reference_number,
                        "title": c.title,
                        "maker": c.maker,
                        "score": c.score,
                        "text_score": c.text_score,
                        "image_score": c.image_score,
                        "summary": c.summary(),
                        "explanation": c.explanation,
                    }
                    for c in r.candidates
                ],
            }
            for i, r in enumerate(results)
        ],
    }


@router.get("/trade/flags", dependencies=[ANALYST], summary="Flagged trade declarations, most suspicious first")
def trade_flags(
    store: StoreDep, limit: Annotated[int, Query(ge=1, le=10_000)] = 100, offset: Annotated[int, Query(ge=0)] = 0
) -> dict[str, Any]:
    from filiere.vectors.trade.price import ranked_flags

    rows = ranked_flags(store, limit=limit, offset=offset).to_pylist()
    for r in rows:
        r["date"] = str(r["date"])
    return {"items": rows}


@router.post("/crypto/trace", dependencies=[ANALYST], summary="Trace from tagged addresses to cash-out points")
def crypto_trace(body: TraceIn, store: StoreDep) -> dict[str, Any]:
    from filiere.vectors.crypto.service import trace_addresses

    res, n = trace_addresses(
        store, body.addresses, method=body.method, max_hops=body.max_hops, raise_alerts=body.raise_alerts
    )
    return {**res.to_dict(), "alerts": n}


@router.get(
    "/crypto/exposure", dependencies=[ANALYST], summary="Exposure of a party's or wallets' inflows to tagged sources"
)
def crypto_exposure(
    store: StoreDep,
    party_id: str | None = None,
    wallet: Annotated[list[str] | None, Query()] = None,
    max_hops: Annotated[int, Query(ge=1, le=32)] = 3,
    method: Literal["haircut", "poison"] = "haircut",
) -> dict[str, Any]:
    from filiere.vectors.crypto.service import exposure_for

    table, n = exposure_for(
        store, party_id=party_id, wallets=wallet, max_hops=max_hops, method=method, raise_alerts=False
    )
    return {"items": table.to_pylist(), "alerts": n}
