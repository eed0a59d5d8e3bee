"""Workspace storage: the ``Store`` interface and its backends."""

from __future__ import annotations

from pathlib import Path

from filiere.config import Settings, default_config_text
from filiere.errors import UserInputError
from filiere.store.base import Store


def open_store(settings: Settings, *, read_only: bool = False, create: bool = False) -> Store:
    """Open the workspace's store (migrating it to the current schema unless read-only)."""
    if settings.store.backend != "duckdb":
        raise UserInputError(f"unknown store backend {settings.store.backend!r} (available: duckdb)")
    if not create and not settings.store_path.exists():
        raise UserInputError(
            f"no filiere workspace at {settings.workspace}: run `filiere init --workspace {settings.workspace}`"
        )
    from filiere.store.duckdb_store import DuckDBStore

    store = DuckDBStore(
        settings.store_path,
        read_only=read_only,
        lock_timeout_s=settings.store.lock_timeout_s,
        memory_limit=settings.store.memory_limit,
        threads=settings.store.threads,
    )
    if not read_only:
        store.migrate()
    return store


def init_workspace(workspace: Path) -> Settings:
    """Create the workspace folder, its config file and its migrated store. Idempotent."""
    workspace.mkdir(parents=True, exist_ok=True)
    settings = Settings(workspace=workspace)
    if not settings.config_path.exists():
        settings.config_path.write_text(default_config_text(), encoding="utf-8")
    from filiere.config import load_settings

    settings = load_settings(workspace)
    open_store(settings, create=True).close()
    return settings


__all__ = ["Store", "init_workspace", "open_store"]
