"""The investigation UI (server-rendered pages + static JS), served by the API process."""

from __future__ import annotations

from fastapi import FastAPI


def mount_web(app: FastAPI) -> None:
    """Mount the UI pages and static files on ``app``."""
