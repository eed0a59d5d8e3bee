"""``filiere serve``, ``filiere users add``, ``filiere tokens create``, ``filiere audit verify``."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from filiere.cli_common import JsonOpt, WorkspaceOpt, console, print_json, settings_for
from filiere.errors import FiliereError, UserInputError

users_app = typer.Typer(help="Users of the API and the web UI.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens (sent as 'Authorization: Bearer TOKEN').", no_args_is_help=True)
audit_app = typer.Typer(help="The append-only audit log.", no_args_is_help=True)


def serve(
    workspace: WorkspaceOpt = None,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
) -> None:
    """Run the HTTP API and the investigation UI (http://HOST:PORT/)."""
    import uvicorn

    from filiere.api.app import create_app
    from filiere.realtime.api import FastPath

    settings = settings_for(workspace)
    if not settings.store_path.exists():
        raise UserInputError(f"no filiere workspace at {settings.workspace}: run `filiere init` first")
    app = create_app(settings)
    console.print(f"filiere serving {settings.workspace} on [bold]http://{host}:{port}/[/] (API docs at /docs)")
    # POST /v1/transactions skips the middleware stack and route matching (see FastPath)
    uvicorn.run(FastPath(app), host=host, port=port, log_level="warning")


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="user name")],
    role: Annotated[str, typer.Option(help="analyst | supervisor | auditor | admin | machine")] = "analyst",
    password: Annotated[
        str | None, typer.Option(help="password (default: $FILIERE_PASSWORD, else prompted; none for machine)")
    ] = None,
    display_name: Annotated[str | None, typer.Option(help="full name")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Create a user with an argon2-hashed password."""
    from filiere.api import auth
    from filiere.cases import audit
    from filiere.store import open_store

    auth.check_role(role)
    if password is None:
        password = os.environ.get("FILIERE_PASSWORD")
    if password is None and role != "machine":
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with open_store(settings_for(workspace)) as store, store.transaction():
        auth.add_user(store, username, role, password, display_name)
        audit.record(store, audit.SystemActor(), "user.add", "user", username, after={"role": role})
    if json:
        print_json({"username": username, "role": role})
    else:
        console.print(f"user [bold]{username}[/] ({role}) created")


@users_app.command("list")
def users_list(workspace: WorkspaceOpt = None, json: JsonOpt = False) -> None:
    """List users."""
    from filiere.api import auth
    from filiere.store import open_store

    with open_store(settings_for(workspace)) as store:
        rows = auth.list_users(store)
    if json:
        print_json(rows)
        return
    for r in rows:
        console.print(f"{r['username']}\t{r['role']}\t{'disabled' if r['disabled'] else ''}")


@tokens_app.command("create")
def tokens_create(
    user: Annotated[str, typer.Option("--user", help="user the token acts as")],
    role: Annotated[str | None, typer.Option(help="role of the token (default: the user's)")] = None,
    label: Annotated[str | None, typer.Option(help="what the token is for")] = None,
    days: Annotated[int | None, typer.Option(help="expires after this many days")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Create an API token and print it (it is shown only once)."""
    from filiere.api import auth
    from filiere.cases import audit
    from filiere.store import open_store

    with open_store(settings_for(workspace)) as store, store.transaction():
        token = auth.create_token(store, user, role, label, days)
        token_id = token[len(auth.TOKEN_PREFIX) :].split("_", 1)[0]
        audit.record(
            store, audit.SystemActor(), "token.create", "token", token_id, after={"username": user, "role": role}
        )
    if json:
        print_json({"token": token, "token_id": token_id, "user": user})
    else:
        typer.echo(token)


@tokens_app.command("revoke")
def tokens_revoke(token_id: str, workspace: WorkspaceOpt = None) -> None:
    """Revoke a token by its id (the part after 'fil_')."""
    from filiere.api import auth
    from filiere.cases import audit
    from filiere.store import open_store

    with open_store(settings_for(workspace)) as store, store.transaction():
        auth.revoke_token(store, token_id)
        audit.record(store, audit.SystemActor(), "token.revoke", "token", token_id)
    console.print(f"token {token_id} revoked")


@audit_app.command("verify")
def audit_verify(
    expect_head: Annotated[str | None, typer.Option(help="head hash recorded earlier (detects truncation)")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Recompute the audit log's hash chain; exit 1 when a row was edited, deleted or inserted."""
    from filiere.cases import audit
    from filiere.store import open_store

    with open_store(settings_for(workspace), read_only=False) as store:
        result = audit.verify(store, expect_head)
    if json:
        print_json(result.as_dict())
    elif result.ok:
        console.print(f"audit log intact: {result.rows} entries, head {result.head}")
    else:
        for p in result.problems:
            console.print(f"[red]TAMPERED[/] {p}", highlight=False)
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("list")
def audit_list(
    limit: Annotated[int, typer.Option(help="entries")] = 50,
    object_id: Annotated[str | None, typer.Option(help="only this object")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """The newest audit entries."""
    from filiere.cases import audit
    from filiere.store import open_store

    with open_store(settings_for(workspace)) as store:
        rows = audit.entries(store, object_id=object_id, limit=limit)
    if json:
        print_json(rows)
        return
    for r in rows:
        console.print(f"{r['seq']:>6} {r['ts']} {r['username']:<12} {r['action']:<20} {r['object_id'] or ''}")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
    app.add_typer(audit_app, name="audit")


__all__ = ["FiliereError", "register"]
