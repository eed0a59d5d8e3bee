"""Follow the money."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from filiere.api.deps import CurrentUser, StoreDep
from filiere.api.routers.roles import READ
from filiere.cases import audit
from filiere.trace.engine import TraceQuery, trace

router = APIRouter(prefix="/trace", tags=["trace"])


@router.get(
    "/{subject}",
    dependencies=[READ],
    summary="Trace money forward/backward from an account (bank:number) or a party, up to N hops",
)
def trace_subject(
    subject: str,
    store: StoreDep,
    user: CurrentUser,
    direction: Literal["forward", "backward", "both"] = "forward",
    hops: Annotated[int, Query(ge=1, le=10)] = 3,
    since: datetime | None = None,
    until: datetime | None = None,
    max_edges: Annotated[int, Query(ge=1, le=50_000)] = 5000,
) -> dict[str, Any]:
    q = TraceQuery(subject, direction, hops, since, until, max_edges)
    result = trace(store, q)
    audit.record(
        store,
        user,
        "trace.run",
        "account" if result["subject_kind"] == "account" else "party",
        subject,
        detail={"direction": direction, "hops": hops, "since": since, "until": until, "edges": result["transactions"]},
    )
    return result
