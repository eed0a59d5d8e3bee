"""Alert queue and triage."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from filiere.api.deps import CurrentUser, StoreDep
from filiere.api.routers.roles import MACHINE, READ, WRITE
from filiere.cases import service
from filiere.cases.alerts import AlertRecord, insert_alerts

router = APIRouter(prefix="/alerts", tags=["alerts"])

SortField = Literal["score", "created_at", "event_ts", "severity", "status", "source"]


class AlertPage(BaseModel):
    total: int = Field(examples=[42])
    limit: int
    offset: int
    items: list[dict[str, Any]]


class Assign(BaseModel):
    assignee: str | None = Field(description="user name; null to unassign", examples=["alice"], max_length=100)


class Disposition(BaseModel):
    disposition: Literal["true_positive", "false_positive", "needs_information"] = Field(examples=["true_positive"])
    comment: str = Field(min_length=1, max_length=10_000, examples=["Pharmacies confirmed as fronts by the regulator"])


class AlertIn(BaseModel):
    source: str = Field(max_length=50, examples=["realtime"])
    title: str = Field(max_length=500)
    score: float = Field(ge=0, le=1)
    dedup_key: str = Field(max_length=500)
    typology: str | None = None
    vector: str | None = None
    indicator_codes: list[str] = []
    rule_ids: list[str] = []
    tx_ids: list[str] = []
    account_ids: list[str] = []
    party_ids: list[str] = []
    explanation: dict[str, Any] = {}
    event_ts: datetime | None = None


@router.get("", dependencies=[READ], summary="The alert queue, filtered and sorted")
def list_alerts(
    store: StoreDep,
    min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    rule: Annotated[str | None, Query(max_length=200, description="rule id the alert must carry")] = None,
    indicator: Annotated[str | None, Query(max_length=50, description="goAML indicator code")] = None,
    vector: Annotated[str | None, Query(max_length=50)] = None,
    typology: Annotated[str | None, Query(max_length=50)] = None,
    source: Annotated[str | None, Query(max_length=50)] = None,
    severity: Annotated[Literal["low", "medium", "high", "critical"] | None, Query()] = None,
    status: Annotated[Literal["new", "assigned", "closed"] | None, Query()] = None,
    assignee: Annotated[str | None, Query(max_length=100, description="user name, or '-' for unassigned")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    q: Annotated[str | None, Query(max_length=200, description="text in title or id")] = None,
    sort: SortField = "score",
    order: Literal["asc", "desc"] = "desc",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AlertPage:
    f = service.AlertFilter(
        min_score=min_score,
        max_score=max_score,
        rule=rule,
        indicator=indicator,
        vector=vector,
        typology=typology,
        source=source,
        severity=severity,
        status=status,
        assignee=assignee,
        since=since,
        until=until,
        q=q,
        sort=sort,
        descending=order == "desc",
        limit=limit,
        offset=offset,
    )
    rows, total = service.list_alerts(store, f)
    return AlertPage(total=total, limit=limit, offset=offset, items=rows)


@router.post("", dependencies=[MACHINE], summary="Push alerts from a feed (idempotent on source + dedup_key)")
def push_alerts(store: StoreDep, user: CurrentUser, alerts: list[AlertIn]) -> dict[str, int]:
    records = [AlertRecord(**a.model_dump()) for a in alerts]
    return {"received": len(records), "inserted": insert_alerts(store, records)}


@router.get("/{alert_id}", dependencies=[READ], summary="One alert: explanation, parties, member transactions")
def get_alert(alert_id: str, store: StoreDep, user: CurrentUser) -> dict[str, Any]:
    return service.get_alert(store, user, alert_id)


@router.get("/{alert_id}/network", dependencies=[READ], summary="The alert's pattern as Cytoscape elements")
def alert_network(alert_id: str, store: StoreDep) -> dict[str, Any]:
    return service.alert_network(store, alert_id)


@router.post("/{alert_id}/assign", dependencies=[WRITE], summary="Assign (or unassign) the alert")
def assign(alert_id: str, body: Assign, store: StoreDep, user: CurrentUser) -> dict[str, Any]:
    return service.assign_alert(store, user, alert_id, body.assignee)


@router.post("/{alert_id}/disposition", dependencies=[WRITE], summary="Record the analyst's decision")
def disposition(alert_id: str, body: Disposition, store: StoreDep, user: CurrentUser) -> dict[str, Any]:
    return service.disposition_alert(store, user, alert_id, body.disposition, body.comment)
