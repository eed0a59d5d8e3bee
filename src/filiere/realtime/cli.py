"""``filiere realtime serve`` (the API without the web UI, service started at once) and
``filiere realtime status`` (what the store and the write-ahead log hold, without a server)."""

from __future__ import annotations

from typing import Annotated

import typer

from filiere.cli_common import JsonOpt, WorkspaceOpt, console, print_json, settings_for

realtime_app = typer.Typer(help="Real-time monitoring: streaming scoring service.", no_args_is_help=True)


@realtime_app.command("serve")
def serve(
    workspace: WorkspaceOpt = None,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
) -> None:
    """Run the HTTP API (no web UI) with the real-time service started before the first request
    (crash recovery from the write-ahead log included)."""
    import uvicorn

    from filiere.api.app import create_app
    from filiere.realtime.api import FastPath

    settings = settings_for(workspace)
    areas = dict(settings.areas)
    areas["realtime"] = {**settings.area("realtime"), "autostart": True}
    settings = settings.model_copy(update={"areas": areas})
    app = create_app(settings, web=False)
    console.print(f"filiere real-time service on http://{host}:{port}/v1/transactions")
    uvicorn.run(FastPath(app), host=host, port=port, log_level="warning", access_log=False)


@realtime_app.command("status")
def status(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """Transactions stored by the service, decisions, and log records not yet in the store."""
    from filiere.realtime.wal import read_segments
    from filiere.store import open_store

    settings = settings_for(workspace)
    with open_store(settings, read_only=True) as store:
        rows = store.query("SELECT decision, count(*), max(seq) FROM realtime_tx GROUP BY decision ORDER BY decision")
        versions = store.query("SELECT model_version, count(*) FROM realtime_tx GROUP BY 1 ORDER BY 2 DESC")
    stored = max((int(r[2]) for r in rows), default=0)
    folder = settings.workspace / "realtime" / "wal"
    pending = sum(1 for r in read_segments(folder) if int(r["seq"]) > stored) if folder.exists() else 0
    out = {
        "stored": sum(int(r[1]) for r in rows),
        "stored_seq": stored,
        "decisions": {str(r[0]): int(r[1]) for r in rows},
        "model_versions": {str(v[0]): int(v[1]) for v in versions},
        "log_records_not_stored": pending,
    }
    if json:
        print_json(out)
    else:
        for k, v in out.items():
            console.print(f"{k.replace('_', ' ')}: {v}")


def register(app: typer.Typer) -> None:
    app.add_typer(realtime_app, name="realtime")
