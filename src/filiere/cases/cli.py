"""``filiere alerts list``, ``filiere cases list``, ``filiere cases create --from-alert``."""

from __future__ import annotations

from typing import Annotated

import typer

from filiere.cli_common import JsonOpt, WorkspaceOpt, console, print_json, settings_for

alerts_app = typer.Typer(help="The alert queue.", no_args_is_help=True)
cases_app = typer.Typer(help="Cases.", no_args_is_help=True)


@alerts_app.command("list")
def alerts_list(
    min_score: Annotated[float | None, typer.Option(help="lowest score")] = None,
    status: Annotated[str | None, typer.Option(help="new | assigned | closed")] = None,
    vector: Annotated[str | None, typer.Option(help="crime vector")] = None,
    indicator: Annotated[str | None, typer.Option(help="goAML indicator code")] = None,
    rule: Annotated[str | None, typer.Option(help="rule id")] = None,
    sort: Annotated[str, typer.Option(help="score | created_at | event_ts | severity | status | source")] = "score",
    limit: Annotated[int, typer.Option(help="rows")] = 50,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """The alert queue, highest score first."""
    from filiere.cases import service
    from filiere.store import open_store

    f = service.AlertFilter(
        min_score=min_score, status=status, vector=vector, indicator=indicator, rule=rule, sort=sort, limit=limit
    )
    with open_store(settings_for(workspace)) as store:
        rows, total = service.list_alerts(store, f)
    if json:
        print_json({"total": total, "items": rows})
        return
    from rich.table import Table

    table = Table(title=f"alerts ({total})")
    for col in ("alert_id", "score", "severity", "source", "vector", "title", "status", "assignee", "case_id"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["alert_id"],
            f"{r['score']:.2f}",
            r["severity"],
            r["source"],
            r["vector"] or "",
            r["title"],
            r["status"],
            r["assignee"] or "",
            r["case_id"] or "",
        )
    console.print(table)


@cases_app.command("list")
def cases_list(
    status: Annotated[str | None, typer.Option(help="open | under_review | reported | closed")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Cases, newest first."""
    from filiere.cases import service
    from filiere.store import open_store

    with open_store(settings_for(workspace)) as store:
        rows, total = service.list_cases(store, status)
    if json:
        print_json({"total": total, "items": rows})
        return
    for r in rows:
        console.print(f"{r['case_id']}\t{r['status']}\t{r['n_alerts']} alerts\t{r['title']}", highlight=False)


@cases_app.command("create")
def cases_create(
    from_alert: Annotated[list[str], typer.Option("--from-alert", help="alert id (repeat to merge several)")],
    title: Annotated[str | None, typer.Option(help="case title (default: the first alert's)")] = None,
    user: Annotated[str, typer.Option(help="recorded as the case's creator in the audit log")] = "cli",
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Open a case from one or more alerts and print its id."""
    from filiere.cases import service
    from filiere.cases.audit import SystemActor
    from filiere.store import open_store

    with open_store(settings_for(workspace)) as store:
        case_id = service.create_case(store, SystemActor(user, "analyst"), title, from_alert)
    if json:
        print_json({"case_id": case_id, "alerts": from_alert})
    else:
        typer.echo(case_id)


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
    app.add_typer(cases_app, name="cases")
