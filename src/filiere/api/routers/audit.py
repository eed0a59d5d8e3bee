"""The audit log (read-only over HTTP) and its verification."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from filiere.api.deps import StoreDep
from filiere.api.routers.roles import AUDIT, AUDIT_VERIFY
from filiere.cases import audit

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", dependencies=[AUDIT], summary="Audit entries, newest first")
def list_audit(
    store: StoreDep,
    object_type: Annotated[str | None, Query(max_length=50)] = None,
    object_id: Annotated[str | None, Query(max_length=200)] = None,
    username: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=100, description="action prefix, e.g. 'case.'")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    items = audit.entries(
        store,
        object_type=object_type,
        object_id=object_id,
        username=username,
        action=action,
        limit=limit,
        offset=offset,
    )
    return {"items": items}


@router.get("/verify", dependencies=[AUDIT_VERIFY], summary="Recompute the hash chain")
def verify_audit(
    store: StoreDep, expect_head: Annotated[str | None, Query(max_length=64, min_length=64)] = None
) -> dict[str, Any]:
    return audit.verify(store, expect_head).as_dict()
