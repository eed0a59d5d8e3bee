"""Typed settings (``FILIERE_*`` environment variables and the workspace's ``filiere.yml``).

Settings are built once per command or app and passed down; nothing patches them globally.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from filiere.errors import UserInputError

CONFIG_FILE = "filiere.yml"
STORE_FILE = "filiere.duckdb"


class StoreSettings(BaseModel):
    backend: str = "duckdb"
    #: seconds a command waits for the workspace database when another process holds it
    lock_timeout_s: float = 30.0
    memory_limit: str = "4GB"
    threads: int = 2


class Settings(BaseSettings):
    """Process-level settings. ``workspace`` is the folder holding the store and its config."""

    model_config = SettingsConfigDict(env_prefix="FILIERE_", env_nested_delimiter="__", extra="ignore")

    workspace: Path = Field(default=Path("workspace"), description="workspace folder")
    store: StoreSettings = StoreSettings()
    #: path of the shared reference data (sanctions lists, tagpacks, goAML schema…)
    shared_data: Path = Field(default=Path("../shared/data"))
    #: free-form per-area settings read from the workspace's filiere.yml (e.g. ``screening:``)
    areas: dict[str, Any] = Field(default_factory=dict)

    def shared_data_dir(self) -> Path:
        """The shared reference data: the configured path when it exists, else ``../shared/data``
        beside the checkout the package runs from (an editable install from a clone)."""
        if self.shared_data.exists():
            return self.shared_data.resolve()
        beside_checkout = Path(__file__).resolve().parents[3] / "shared" / "data"
        return beside_checkout if beside_checkout.exists() else self.shared_data

    @property
    def store_path(self) -> Path:
        return self.workspace / STORE_FILE

    @property
    def config_path(self) -> Path:
        return self.workspace / CONFIG_FILE

    def area(self, name: str) -> dict[str, Any]:
        """The ``name:`` section of the workspace config (empty dict when absent)."""
        section = self.areas.get(name, {})
        return dict(section) if isinstance(section, dict) else {}


def load_settings(workspace: Path | str | None = None) -> Settings:
    """Settings for ``workspace`` (or ``FILIERE_WORKSPACE``), merged with its ``filiere.yml``."""
    base = Settings() if workspace is None else Settings(workspace=Path(workspace))
    base = base.model_copy(update={"shared_data": base.shared_data_dir()})
    cfg = base.config_path
    if not cfg.exists():
        return base
    try:
        data = yaml.safe_load(cfg.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise UserInputError(f"{cfg}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise UserInputError(f"{cfg}: expected a mapping at the top level")
    store = {**base.store.model_dump(), **(data.pop("store", None) or {})}
    return base.model_copy(update={"store": StoreSettings(**store), "areas": data})


def default_config_text() -> str:
    return (
        "# filiere workspace configuration. Environment variables FILIERE_* override the store section.\n"
        "store:\n"
        "  backend: duckdb\n"
        "  lock_timeout_s: 30\n"
        "  memory_limit: 4GB\n"
        "  threads: 2\n"
    )
