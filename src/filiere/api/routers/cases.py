"""Cases: creation from alerts, items, status workflow, notes and attachments."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from filiere.api.deps import CurrentUser, StoreDep
from filiere.api.routers.roles import READ, WRITE
from filiere.cases import service

router = APIRouter(prefix="/cases", tags=["cases"])


class CaseIn(BaseModel):
    title: str | None = Field(default=None, max_length=500, examples=["Tramadol proceeds through an NPO"])
    alert_ids: list[str] = Field(default=[], max_length=1000, examples=[["A-1a2b3c4d5e6f"]])
    summary: str | None = Field(default=None, max_length=10_000)


class AlertIds(BaseModel):
    alert_ids: list[str] = Field(min_length=1, max_length=1000)


class Items(BaseModel):
    item_type: Literal["party", "account", "transaction"]
    ids: list[str] = Field(min_length=1, max_length=10_000)


class StatusChange(BaseModel):
    status: Literal["open", "under_review", "reported", "closed"]
    comment: str | None = Field(default=None, max_length=10_000)


class Note(BaseModel):
    body: str = Field(min_length=1, max_length=100_000)


@router.get("", dependencies=[READ], summary="Cases, newest first")
def list_cases(
    store: StoreDep,
    status: Literal["open", "under_review", "reported", "closed"] | None = None,
    assignee: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    rows, total = service.list_cases(store, status, assignee, limit, offset)
    return {"total": total, "items": rows}


@router.post("", dependencies=[WRITE], status_code=201, summary="Open a case (from alerts)")
def create_case(body: CaseIn, store: StoreDep, user: CurrentUser) -> dict[str, str]:
    return {"case_id": service.create_case(store, user, body.title, body.alert_ids, body.summary)}


@router.get("/{case_id}", dependencies=[READ], summary="The case: alerts, parties, accounts, timeline, notes")
def get_case(case_id: str, store: StoreDep, user: CurrentUser) -> dict[str, Any]:
    return service.get_case(store, user, case_id)


@router.get("/{case_id}/network", dependencies=[READ], summary="The case's network as Cytoscape elements")
def case_network(case_id: str, store: StoreDep) -> dict[str, Any]:
    return service.case_network(store, case_id)


@router.post("/{case_id}/alerts", dependencies=[WRITE], summary="Merge alerts into the case")
def merge_alerts(case_id: str, body: AlertIds, store: StoreDep, user: CurrentUser) -> dict[str, int]:
    return {"added": service.merge_alerts(store, user, case_id, body.alert_ids)}


@router.post("/{case_id}/items", dependencies=[WRITE], summary="Add parties, accounts or transactions")
def add_items(case_id: str, body: Items, store: StoreDep, user: CurrentUser) -> dict[str, int]:
    return {"added": service.add_items(store, user, case_id, body.item_type, body.ids)}


@router.post(
    "/{case_id}/status",
    dependencies=[WRITE],
    summary="Move the case: open → under_review (analyst) → reported / closed (supervisor)",
)
def change_status(case_id: str, body: StatusChange, store: StoreDep, user: CurrentUser) -> dict[str, Any]:
    return service.transition_case(store, user, case_id, body.status, body.comment)


@router.post("/{case_id}/notes", dependencies=[WRITE], status_code=201, summary="Add a note")
def add_note(case_id: str, body: Note, store: StoreDep, user: CurrentUser) -> dict[str, str]:
    return {"note_id": service.add_note(store, user, case_id, body.body)}


@router.post("/{case_id}/attachments", dependencies=[WRITE], status_code=201, summary="Attach a file")
def add_attachment(
    case_id: str, store: StoreDep, user: CurrentUser, file: Annotated[UploadFile, File()]
) -> dict[str, str]:
    content = file.file.read(service.MAX_ATTACHMENT + 1)
    att = service.add_attachment(store, user, case_id, file.filename or "attachment", file.content_type, content)
    return {"attachment_id": att}


@router.get("/{case_id}/attachments/{attachment_id}", dependencies=[READ], summary="Download an attachment")
def get_attachment(case_id: str, attachment_id: str, store: StoreDep, user: CurrentUser) -> Response:
    name, media, content = service.get_attachment(store, user, case_id, attachment_id)
    safe = "".join(c for c in name if c.isalnum() or c in "._-") or "attachment"
    return Response(
        content,
        media_type=media or "application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{safe}"', "X-Content-Type-Options": "nosniff"},
    )
