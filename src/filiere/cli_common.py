"""Shared pieces of the command line: the workspace option, JSON output, the console."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from filiere.config import Settings, load_settings

console = Console(stderr=False)
err_console = Console(stderr=True)

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="workspace folder (default: $FILIERE_WORKSPACE, else ./workspace)",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]


def settings_for(workspace: Path | None) -> Settings:
    return load_settings(workspace)


def print_json(obj: Any) -> None:
    """One JSON document on stdout (dates and paths as strings)."""
    sys.stdout.write(json.dumps(obj, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()
