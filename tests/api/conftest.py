from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROLES = ("analyst", "supervisor", "auditor", "admin", "machine")


@pytest.fixture(scope="session")
def _seeded_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Built once: the sample world, one user and one API token per role (argon2 is slow on purpose)."""
    from filiere.api import auth
    from filiere.cases.sample import seed_sample
    from filiere.config import load_settings
    from filiere.store import init_workspace, open_store

    ws = tmp_path_factory.mktemp("seeded") / "ws"
    settings = init_workspace(ws)
    settings = load_settings(ws)
    with open_store(settings) as store:
        ids = seed_sample(store)
        tokens = {}
        for role in ROLES:
            password = "password-" + role if role in ("analyst", "supervisor") else None
            auth.add_user(store, f"u_{role}", role, password)
            tokens[role] = auth.create_token(store, f"u_{role}")
    return {"workspace": ws, "ids": ids, "tokens": tokens}


@pytest.fixture()
def seeded(_seeded_template: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """A private copy of the seeded workspace for one test."""
    from filiere.config import load_settings

    ws = tmp_path / "seeded"
    shutil.copytree(_seeded_template["workspace"], ws)
    return {**_seeded_template, "workspace": ws, "settings": load_settings(ws)}


@pytest.fixture()
def client(seeded: dict[str, Any]) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from filiere.api.app import create_app

    with TestClient(create_app(seeded["settings"])) as c:
        yield c
