"""Users and API tokens (admin), and ``/me`` for anyone signed in."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from filiere.api import auth
from filiere.api.deps import CurrentUser, Role, StoreDep, User
from filiere.api.routers.roles import ADMIN
from filiere.cases import audit

router = APIRouter(tags=["admin"])


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=100, examples=["alice"])
    role: Role
    password: str | None = Field(default=None, min_length=8, max_length=1000)
    display_name: str | None = Field(default=None, max_length=200)


class TokenIn(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    role: Role | None = None
    label: str | None = Field(default=None, max_length=200)
    days: int | None = Field(default=None, ge=1, le=3650)


@router.get("/me", summary="Who am I")
def me(user: CurrentUser) -> User:
    return user


@router.get("/users", dependencies=[ADMIN], summary="Users")
def list_users(store: StoreDep) -> dict[str, Any]:
    return {"items": auth.list_users(store)}


@router.post("/users", dependencies=[ADMIN], status_code=201, summary="Create a user")
def add_user(body: UserIn, store: StoreDep, user: CurrentUser) -> dict[str, str]:
    with store.transaction():
        auth.add_user(store, body.username, body.role, body.password, body.display_name)
        audit.record(store, user, "user.add", "user", body.username, after={"role": body.role})
    return {"username": body.username, "role": body.role}


@router.get("/tokens", dependencies=[ADMIN], summary="API tokens (never their secrets)")
def list_tokens(store: StoreDep) -> dict[str, Any]:
    return {"items": auth.list_tokens(store)}


@router.post("/tokens", dependencies=[ADMIN], status_code=201, summary="Create an API token (shown once)")
def create_token(body: TokenIn, store: StoreDep, user: CurrentUser) -> dict[str, str]:
    with store.transaction():
        token = auth.create_token(store, body.username, body.role, body.label, body.days)
        token_id = token[len(auth.TOKEN_PREFIX) :].split("_", 1)[0]
        audit.record(
            store, user, "token.create", "token", token_id, after={"username": body.username, "role": body.role}
        )
    return {"token": token, "token_id": token_id}


@router.delete("/tokens/{token_id}", dependencies=[ADMIN], summary="Revoke an API token")
def revoke_token(token_id: str, store: StoreDep, user: CurrentUser) -> dict[str, str]:
    with store.transaction():
        auth.revoke_token(store, token_id)
        audit.record(store, user, "token.revoke", "token", token_id)
    return {"token_id": token_id, "status": "revoked"}
