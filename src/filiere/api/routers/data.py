"""Parties and transactions (personal data: every read is audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from filiere.api.deps import CurrentUser, StoreDep
from filiere.api.routers.roles import READ
from filiere.cases import service

router = APIRouter(tags=["parties & transactions"])


@router.get("/parties", dependencies=[READ], summary="Search parties by name or id")
def search_parties(
    store: StoreDep,
    user: CurrentUser,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    return {"items": service.search_parties(store, user, q, limit)}


@router.get("/parties/{party_id}", dependencies=[READ], summary="A party, its accounts and alerts")
def get_party(party_id: str, store: StoreDep, user: CurrentUser) -> dict[str, Any]:
    return service.get_party(store, user, party_id)


@router.get("/transactions", dependencies=[READ], summary="Transactions of an account or a period")
def list_transactions(
    store: StoreDep,
    user: CurrentUser,
    account: Annotated[str | None, Query(max_length=200)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    min_amount: Annotated[float | None, Query(ge=0, le=1e18)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    return {"items": service.list_transactions(store, user, account, since, until, min_amount, limit, offset)}
