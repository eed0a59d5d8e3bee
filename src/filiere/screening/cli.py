"""``filiere lists …`` and ``filiere screen …`` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from filiere.cli_common import JsonOpt, WorkspaceOpt, console, print_json, settings_for


class _DefaultToName(TyperGroup):
    """``filiere screen NAME`` runs the ``name`` subcommand unless NAME is a subcommand itself."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["name", *args]
        return super().parse_args(ctx, args)


def _print_matches(query: str, matches: list[Any]) -> None:
    from rich.table import Table

    table = Table(title=f"screening {query!r}")
    for col in ("score", "match", "entity", "list", "matched name", "explanation"):
        table.add_column(col, overflow="fold")
    for m in matches:
        table.add_row(f"{m.score:.3f}", "yes" if m.match else "", m.caption, m.entity_id, m.matched_name, m.explanation)
    console.print(table if matches else f"no candidate for {query!r}")


def register(app: typer.Typer) -> None:
    lists_app = typer.Typer(
        help="Sanctions and crypto lists: load versions, show what is loaded.", no_args_is_help=True
    )
    app.add_typer(lists_app, name="lists")
    screen_app = typer.Typer(
        cls=_DefaultToName,
        help="Screen names, CSV batches, name pairs or every stored party against the lists.",
        no_args_is_help=True,
    )
    app.add_typer(screen_app, name="screen")

    @lists_app.command("load")
    def lists_load(
        file: Annotated[Path, typer.Argument(help="list file", show_default=False)],
        fmt: Annotated[
            str, typer.Option("--format", "-f", help="un-xml | ofac-csv | ofac-xml | eu-xml | ftm | tagpack")
        ],
        version_date: Annotated[
            str | None, typer.Option("--version-date", help="publication date when the file has none")
        ] = None,
        workspace: WorkspaceOpt = None,
        json: JsonOpt = False,
    ) -> None:
        """Load a list version (all or nothing) and report what changed since the previous one."""
        from filiere.screening.loaders import load_list
        from filiere.screening.repository import save_list
        from filiere.store import open_store

        settings = settings_for(workspace)
        loaded = load_list(file, fmt)
        with open_store(settings) as store:
            report = save_list(store, loaded, version_date)
        if json:
            print_json(report.as_dict())
            return
        d = report.as_dict()
        if report.unchanged_file:
            console.print(f"{report.list_id}: this file is already the current version ({report.entities:,} entities)")
            return
        console.print(
            f"[bold]{report.list_id}[/] version {report.version_date or '(undated)'}: {report.entities:,} entities; "
            f"since previous version: {d['added']:,} added, {d['removed']:,} removed, {d['amended']:,} amended"
        )

    @lists_app.command("show")
    def lists_show(
        all_versions: Annotated[bool, typer.Option("--all", help="every version, not only the current ones")] = False,
        workspace: WorkspaceOpt = None,
        json: JsonOpt = False,
    ) -> None:
        """The lists loaded in the workspace."""
        from rich.table import Table

        from filiere.screening.repository import list_versions
        from filiere.store import open_store

        with open_store(settings_for(workspace), read_only=True) as store:
            rows = list_versions(store, current_only=not all_versions)
        if json:
            print_json({"lists": rows})
            return
        table = Table(title="screening lists")
        for col in ("list", "version date", "loaded", "entities", "added", "removed", "amended", "current"):
            table.add_column(col)
        for r in rows:
            table.add_row(
                r["list_id"], str(r["version_date"] or ""), str(r["loaded_at"])[:19], f"{r['entities']:,}",
                str(r["added"]), str(r["removed"]), str(r["amended"]), "yes" if r["is_current"] else "",
            )  # fmt: skip
        console.print(table)

    @screen_app.command("name")
    def screen_name(
        name: Annotated[str, typer.Argument(help="name (any script) or crypto address", show_default=False)],
        birth_date: Annotated[str | None, typer.Option("--birth-date", help="YYYY, YYYY-MM or YYYY-MM-DD")] = None,
        country: Annotated[str | None, typer.Option("--country", help="nationality, ISO 3166 alpha-2")] = None,
        schema: Annotated[str | None, typer.Option("--schema", help="Person | Organization")] = None,
        limit: Annotated[int, typer.Option("--limit", help="candidates shown")] = 10,
        workspace: WorkspaceOpt = None,
        json: JsonOpt = False,
    ) -> None:
        """Screen one name (or crypto address) against the current lists."""
        from filiere.screening.crypto import check_address
        from filiere.screening.service import get_screener

        screener = get_screener(settings_for(workspace))
        chk = check_address(name)
        if chk.kind != "unknown" and " " not in name.strip():
            matches = screener.screen_address(name)
            if json:
                check = {"valid": chk.valid, "kind": chk.kind, "reason": chk.reason}
                print_json({"query": name, "address_check": check, "results": [m.as_dict() for m in matches]})
                return
            console.print(f"address {chk.address}: {chk.reason}")
            _print_matches(name, matches)
            return
        from filiere.screening.service import _schema_of

        matches = screener.screen(
            name,
            schema=_schema_of(schema or "", Path("--schema"), 0),
            birth_date=birth_date,
            country=country,
            limit=limit,
        )
        if json:
            print_json({"query": name, "threshold": screener.threshold, "results": [m.as_dict() for m in matches]})
            return
        _print_matches(name, matches)

    @screen_app.command("batch")
    def screen_batch_cmd(
        file: Annotated[Path, typer.Argument(help="CSV with a name column (+ birth_date, country, schema)")],
        out: Annotated[Path, typer.Option("--out", "-o", help="output CSV: one row per candidate above threshold")],
        workers: Annotated[int, typer.Option("--workers", help="processes")] = 1,
        workspace: WorkspaceOpt = None,
        json: JsonOpt = False,
    ) -> None:
        """Screen every row of a CSV file."""
        from filiere.screening.service import get_screener, screen_batch

        stats = screen_batch(get_screener(settings_for(workspace)), file, out, workers=workers)
        if json:
            print_json({**stats, "out": str(out)})
        else:
            console.print(f"{stats['queries']:,} names screened, {stats['hits']:,} hits written to {out}")

    @screen_app.command("pairs")
    def screen_pairs_cmd(
        file: Annotated[Path, typer.Argument(help="CSV with name1,name2 (+ schema)")],
        out: Annotated[Path, typer.Option("--out", "-o", help="output CSV with score and match")],
        workspace: WorkspaceOpt = None,
        json: JsonOpt = False,
    ) -> None:
        """Score pairs of names (match = score at or above the configured threshold)."""
        from filiere.screening.service import get_screener, screen_pairs

        stats = screen_pairs(get_screener(settings_for(workspace)), file, out)
        if json:
            print_json({**stats, "out": str(out)})
        else:
            console.print(f"{stats['pairs']:,} pairs scored, {stats['matches']:,} matches, written to {out}")

    @screen_app.command("parties")
    def screen_parties_cmd(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
        """Screen every stored party and crypto wallet; hits become alerts (goAML SPOSI / SPOSL)."""
        from filiere.screening.service import get_screener, screen_parties
        from filiere.store import open_store

        settings = settings_for(workspace)
        screener = get_screener(settings)
        with open_store(settings) as store:
            stats = screen_parties(store, screener)
        if json:
            print_json(stats)
        else:
            console.print(
                f"{stats['parties']:,} parties and {stats['wallets']:,} wallets screened: "
                f"{stats['hits']:,} hits, {stats['alerts_inserted']:,} new alerts"
            )
