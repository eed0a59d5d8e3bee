"""``filiere demo``: the end-to-end walk-through on the embedded default.

It runs the same commands a user would type (each printed before it runs), so the demo doubles as
a tutorial and exercises the real command line: generate a `sahel` world, ingest it, load the
sanctions lists and crypto tags, screen every party, train and detect, then serve the UI.
Credentials for the demo users are generated at run time (never stored in the repository) and
written to ``<workspace>/demo-credentials.txt``.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from filiere.cli_common import WorkspaceOpt, console, settings_for
from filiere.errors import FiliereError, UserInputError


def _filiere_argv() -> list[str]:
    return [sys.executable, "-m", "filiere.cli"]


def _run(args: list[str], *, title: str, env: dict[str, str]) -> str:
    shown = "filiere " + " ".join(args)
    console.print(f"[bold cyan]▶ {title}[/]  [dim]{shown}[/]")
    t0 = time.perf_counter()
    proc = subprocess.run([*_filiere_argv(), *args], env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:])
        sys.stderr.write(proc.stderr[-4000:])
        raise FiliereError(f"demo step failed ({title}): {shown} exited {proc.returncode}")
    console.print(f"  [green]done[/] in {time.perf_counter() - t0:.1f} s")
    return proc.stdout


def _last_json(text: str) -> dict[str, object]:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                return obj
    return {}


def run_demo(workspace: Path, *, rows: int, seed: int, shared_data: Path, serve: bool, host: str, port: int) -> None:
    env = {**os.environ, "FILIERE_WORKSPACE": str(workspace)}
    env.pop("FILIERE_PASSWORD", None)
    sanctions = shared_data / "sanctions"
    crypto = shared_data / "crypto"
    if not sanctions.exists():
        raise UserInputError(f"shared reference data not found at {shared_data} (expected ../shared/data)")
    world = workspace / "world"
    _run(["init"], title="create the workspace", env=env)
    out = _run(
        ["scenario", "generate", "--template", "sahel", "--rows", str(rows), "--seed", str(seed), "--out", str(world)],
        title="generate a synthetic Sahel world with hidden schemes",
        env=env,
    )
    console.print("  " + out.strip().splitlines()[-1] if out.strip() else "")
    rep = _last_json(
        _run(
            [
                "ingest",
                "transactions",
                str(world / "transactions.csv"),
                "--format",
                "amlworld",
                "--accounts",
                str(world / "accounts.csv"),
                "--json",
            ],
            title="ingest transactions and accounts",
            env=env,
        )
    )
    console.print(f"  read {rep.get('read')}, stored {rep.get('stored')}, quarantined {rep.get('quarantined')}")
    _run(
        ["ingest", "parties", str(world / "parties.ftm.jsonl"), "--format", "ftm", "--json"],
        title="ingest parties (FollowTheMoney)",
        env=env,
    )
    _run(
        ["lists", "load", str(sanctions / "un_consolidated.xml"), "--format", "un-xml", "--json"],
        title="load the UN consolidated list",
        env=env,
    )
    _run(
        ["lists", "load", str(sanctions / "ofac_sdn.csv"), "--format", "ofac-csv", "--json"],
        title="load the OFAC SDN list",
        env=env,
    )
    for tagpack in sorted(crypto.glob("tagpack_*.yaml")):
        _run(
            ["lists", "load", str(tagpack), "--format", "tagpack", "--json"],
            title=f"load crypto tags {tagpack.stem}",
            env=env,
        )
    hits = _last_json(_run(["screen", "parties", "--json"], title="screen every party and wallet", env=env))
    console.print(f"  {hits.get('hits', 0)} list hits -> {hits.get('alerts_inserted', 0)} alerts")
    _run(["train", "--json"], title="train the detection model on the labelled world", env=env)
    det = _last_json(_run(["detect", "--json"], title="score transactions and raise explained alerts", env=env))
    console.print(f"  {det}")
    creds = {"analyst": secrets.token_urlsafe(9), "supervisor": secrets.token_urlsafe(9)}
    for role, pw in creds.items():
        _run(
            ["users", "add", f"demo-{role}", "--role", role, "--password", pw, "--json"],
            title=f"create the demo {role}",
            env=env,
        )
    cred_file = workspace / "demo-credentials.txt"
    cred_file.write_text("".join(f"demo-{r} {p}\n" for r, p in creds.items()), encoding="utf-8")
    cred_file.chmod(0o600)
    console.print(_run(["summary"], title="what the workspace holds", env=env))
    console.print(_run(["alerts", "list", "--limit", "10"], title="the alert queue (top 10)", env=env))
    url = f"http://{host}:{port}/"
    console.rule("[bold]filiere demo ready")
    console.print(f"UI: [bold]{url}[/]   user [bold]demo-analyst[/] password [bold]{creds['analyst']}[/]")
    console.print(f"    (supervisor: demo-supervisor / {creds['supervisor']}; also in {cred_file})")
    if serve:
        console.print(f"serving on {url} — Ctrl-C to stop")
        os.execve(sys.executable, [*_filiere_argv(), "serve", "--host", host, "--port", str(port)], env)  # noqa: S606


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        workspace: WorkspaceOpt = None,
        rows: Annotated[int, typer.Option(help="transactions in the generated world")] = 200_000,
        seed: Annotated[int, typer.Option(help="world seed")] = 42,
        serve: Annotated[bool, typer.Option("--serve/--no-serve", help="end by serving the UI")] = True,
        host: Annotated[str, typer.Option(help="interface for the UI")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="port for the UI")] = 8000,
    ) -> None:
        """End-to-end demo on a synthetic Sahel world: generate, ingest, screen, detect, serve."""
        settings = settings_for(workspace)
        run_demo(
            settings.workspace.resolve(),
            rows=rows,
            seed=seed,
            shared_data=settings.shared_data_dir(),
            serve=serve,
            host=host,
            port=port,
        )
