"""The ``filiere`` command: a thin typer app over the library.

Each area registers its own commands from ``filiere.<area>.cli:register`` so that areas stay
independent and heavy dependencies are imported only by the commands that need them.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import typer

from filiere import __version__
from filiere.cli_common import JsonOpt, WorkspaceOpt, console, err_console, print_json, settings_for
from filiere.errors import FiliereError

app = typer.Typer(
    name="filiere",
    help="Detect, trace and report the financing of terrorism.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

#: modules that contribute commands, in help order
AREAS = (
    "filiere.io.cli",
    "filiere.scenario.cli",
    "filiere.graph.cli",
    "filiere.rules.cli",
    "filiere.scoring.cli",
    "filiere.screening.cli",
    "filiere.cases.cli",
    "filiere.trace.cli",
    "filiere.api.cli",
    "filiere.report.cli",
    "filiere.realtime.cli",
    "filiere.vectors.cli",
    "filiere.demo",
)


@app.command()
def version() -> None:
    """Print the version."""
    console.print(__version__)


@app.command()
def init(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Create a workspace: a folder with filiere.yml and an embedded DuckDB store."""
    from filiere.store import init_workspace, open_store

    settings = settings_for(workspace)
    init_workspace(settings.workspace)
    with open_store(settings) as store:
        version = store.schema_version()
    if json:
        print_json({"workspace": str(settings.workspace), "schema_version": version})
    else:
        console.print(f"workspace [bold]{settings.workspace}[/] ready (schema version {version})")


@app.command()
def summary(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Counts of what the workspace holds."""
    from rich.table import Table

    from filiere.store import open_store

    with open_store(settings_for(workspace)) as store:
        counts = store.counts()
        version = store.schema_version()
    if json:
        print_json({"schema_version": version, **counts})
        return
    table = Table(title=f"workspace (schema v{version})")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    console.print(table)


def _register_areas() -> None:
    for mod_name in AREAS:
        if importlib.util.find_spec(mod_name) is None:
            continue
        mod = importlib.import_module(mod_name)
        register = getattr(mod, "register", None)
        if register is not None:
            register(app)


_register_areas()


def main() -> None:
    try:
        app()
    except FiliereError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
