"""``filiere trace ACCOUNT [--hops N] [--since D] [--until D] [--json]``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from filiere.cli_common import JsonOpt, WorkspaceOpt, console, print_json, settings_for


def trace_cmd(
    subject: Annotated[str, typer.Argument(help="account id (bank:number) or party id")],
    hops: Annotated[int, typer.Option(help="largest number of hops")] = 3,
    since: Annotated[datetime | None, typer.Option(help="first instant (YYYY-MM-DD[THH:MM])")] = None,
    until: Annotated[datetime | None, typer.Option(help="last instant")] = None,
    direction: Annotated[str, typer.Option(help="forward | backward | both")] = "forward",
    max_edges: Annotated[int, typer.Option(help="stop expanding beyond this many payments")] = 5000,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Follow the money from an account or party, attributing amounts pro rata through mixed accounts."""
    from filiere.cases import audit
    from filiere.store import open_store
    from filiere.trace.engine import TraceQuery, trace

    q = TraceQuery(subject, direction, hops, since, until, max_edges)
    with open_store(settings_for(workspace)) as store:
        result = trace(store, q)
        audit.record(
            store,
            audit.SystemActor(),
            "trace.run",
            result["subject_kind"],
            subject,
            detail={"direction": direction, "hops": hops, "since": since, "until": until},
        )
    if json:
        print_json({k: v for k, v in result.items()})
        return
    console.print(
        f"{result['subject_kind']} {subject}: {result['accounts']} accounts, {result['transactions']} payments "
        f"({result['traced_transactions']} carrying traced money){' — truncated' if result['truncated'] else ''}",
        highlight=False,
    )
    from rich.table import Table

    table = Table(title="timeline")
    for col in ("ts", "hop", "dir", "from", "to", "amount", "traced"):
        table.add_column(col)
    for e in result["timeline"][:200]:
        table.add_row(
            str(e["ts"]),
            str(e["hop"]),
            e["direction"][0],
            e["from_account"],
            e["to_account"],
            f"{e['amount_paid']:,.2f} {e['payment_currency']}",
            f"{e['traced_amount']:,.2f}",
        )
    console.print(table)
    for label, key in (("money rests at", "endpoints"), ("money came from", "origins")):
        for r in result[key][:10]:
            console.print(f"{label} {r['account']}: {r['amount']:,.2f}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("trace")(trace_cmd)
