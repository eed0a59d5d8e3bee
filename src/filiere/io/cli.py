"""``filiere ingest …`` commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from filiere.io.result import IngestReport

from filiere.cli_common import JsonOpt, WorkspaceOpt, console, err_console, print_json, settings_for

FormatOpt = Annotated[
    str,
    typer.Option("--format", "-f", help="amlworld | csv | parquet | pacs008 | camt053 | ftm"),
]


def register(app: typer.Typer) -> None:
    ingest_app = typer.Typer(help="Read files into the workspace (bad rows go to quarantine).", no_args_is_help=True)
    app.add_typer(ingest_app, name="ingest")

    @ingest_app.command("transactions")
    def transactions(
        files: Annotated[list[Path], typer.Argument(help="files to ingest", show_default=False)],
        fmt: FormatOpt = "amlworld",
        mapping: Annotated[
            Path | None, typer.Option("--mapping", help="YAML column mapping (csv, parquet)", show_default=False)
        ] = None,
        accounts: Annotated[
            Path | None, typer.Option("--accounts", help="AMLworld accounts file", show_default=False)
        ] = None,
        workspace: WorkspaceOpt = None,
        json: JsonOpt = False,
    ) -> None:
        """Ingest transaction files; prints read, stored, quarantined and duplicate counts."""
        from filiere.io.ingest import ingest_files
        from filiere.io.result import IngestError
        from filiere.store import open_store

        settings = settings_for(workspace)
        report: IngestReport
        error: IngestError | None = None
        with open_store(settings) as store:
            try:
                if json or not err_console.is_terminal:
                    report = ingest_files(store, files, fmt, mapping=mapping, accounts=accounts)
                else:
                    report = _with_progress(store, files, fmt, mapping, accounts)
            except IngestError as exc:
                report, error = exc.report, exc
        if json:
            print_json(report.as_dict())
        else:
            _print_report(report)
        if error is not None:
            raise error

    @ingest_app.command("parties")
    def parties(
        file: Annotated[Path, typer.Argument(help="file to ingest", show_default=False)],
        fmt: Annotated[str, typer.Option("--format", "-f", help="ftm | amlworld-accounts")] = "ftm",
        workspace: WorkspaceOpt = None,
        json: JsonOpt = False,
    ) -> None:
        """Ingest parties and accounts (FollowTheMoney entities or an AMLworld accounts file)."""
        from filiere.errors import UserInputError
        from filiere.io.ingest import ingest_accounts, ingest_files
        from filiere.io.result import IngestReport
        from filiere.store import open_store

        with open_store(settings_for(workspace)) as store:
            if fmt == "amlworld-accounts":
                rep, n_acc, n_par = ingest_accounts(store, file)
                report = IngestReport(accounts=n_acc, parties=n_par)
                report.add(rep)
            elif fmt == "ftm":
                report = ingest_files(store, [file], "ftm")
            else:
                raise UserInputError(f"unknown parties format {fmt!r} (available: ftm, amlworld-accounts)")
        if json:
            print_json(report.as_dict())
        else:
            _print_report(report)


def _with_progress(
    store: object, files: list[Path], fmt: str, mapping: Path | None, accounts: Path | None
) -> IngestReport:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from filiere.io.ingest import ingest_files
    from filiere.store.base import Store

    assert isinstance(store, Store)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(), console=err_console
    ) as bar:
        tasks: dict[str, int] = {}

        def cb(path: str, done: int, total: int) -> None:
            if path not in tasks:
                tasks[path] = bar.add_task(Path(path).name, total=total or None)
            bar.update(tasks[path], completed=done)  # type: ignore[arg-type]

        return ingest_files(store, files, fmt, mapping=mapping, accounts=accounts, progress=cb)


def _print_report(report: object) -> None:
    from rich.table import Table

    from filiere.io.result import IngestReport

    assert isinstance(report, IngestReport)
    table = Table(title="ingest")
    for col in ("file", "status", "read", "stored", "quarantined", "duplicates"):
        table.add_column(col, justify="left" if col in ("file", "status") else "right")
    for f in report.files:
        table.add_row(f.path, f.status, f"{f.read:,}", f"{f.stored:,}", f"{f.quarantined:,}", f"{f.duplicates:,}")
    table.add_row(
        "[bold]total", "", f"{report.read:,}", f"{report.stored:,}", f"{report.quarantined:,}", f"{report.duplicates:,}"
    )
    console.print(table)
    if report.accounts or report.parties:
        console.print(f"accounts merged: {report.accounts:,} · parties merged: {report.parties:,}")
