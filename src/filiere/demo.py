"""``filiere demo``: the end-to-end walk-through on the embedded default.

It runs the same commands a user would type (each printed before it runs), so the demo doubles as
a tutorial and exercises the real command line: generate a `sahel` world, ingest it, load the
sanctions lists and crypto tags, screen every party, train and detect; then the crime vectors of
the world: match its art offers against the FBI stolen-art register, scan its trade invoices, trace
its ransom address to the exchange cash-out; then serve the UI.
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


def _demo_users(cred_file: Path, env: dict[str, str]) -> dict[str, str]:
    """Password of each demo user: a new one for a user the workspace lacks; for one it holds already
    (the demo run again on its workspace), the one ``cred_file`` kept from the earlier run."""
    kept = dict(
        line.split(" ", 1) for line in cred_file.read_text(encoding="utf-8").splitlines() if " " in line
    ) if cred_file.exists() else {}  # fmt: skip
    listed = _run(["users", "list", "--json"], title="the workspace's users", env=env).strip().splitlines()
    existing = {u["username"] for u in json.loads(listed[-1])} if listed else set()
    creds: dict[str, str] = {}
    for role in ("analyst", "supervisor"):
        name = f"demo-{role}"
        if name in existing:
            if name not in kept:
                raise FiliereError(
                    f"{name} exists in this workspace but {cred_file} does not hold its password: "
                    "run the demo with another --workspace"
                )
            creds[role] = kept[name]
            console.print(f"  {name} exists already: its password is the one in {cred_file}")
            continue
        creds[role] = secrets.token_urlsafe(9)
        _run(
            ["users", "add", name, "--role", role, "--password", creds[role], "--json"],
            title=f"create the demo {role}",
            env=env,
        )
    return creds


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
    _vectors(workspace, world, shared_data, env)
    cred_file = workspace / "demo-credentials.txt"
    creds = _demo_users(cred_file, env)
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


def _vectors(workspace: Path, world: Path, shared_data: Path, env: dict[str, str]) -> None:
    """The crime vectors of the world: stolen art, trade invoices, ransomware tracing."""
    register_file = shared_data / "art" / "fbi_nsaf.csv"
    if not register_file.exists():  # the sample of the register that ships with filiere
        from importlib import resources

        register_file = Path(str(resources.files("filiere.scenario").joinpath("data/fbi_nsaf_sample.csv")))
    art = _last_json(
        _run(["art", "load", str(register_file), "--json"], title="load the FBI stolen-art register", env=env)
    )
    console.print(f"  {art.get('stored', 0):,} stolen objects in register {art.get('register')}")
    m = _last_json(
        _run(
            ["art", "match", str(world / "art_offers.csv"), "--out", str(workspace / "art_matches.csv"), "--json"],
            title="match the art dealers' offers against the register (PCAN alerts)",
            env=env,
        )
    )
    console.print(f"  {m.get('queries')} offers, {m.get('matched')} match a stolen object -> {m.get('alerts')} alerts")
    t = _last_json(
        _run(
            [
                "trade",
                "ingest",
                str(world / "trade.csv"),
                "--parties",
                str(world / "trade_parties.csv"),
                "--json",
            ],
            title="ingest the world's trade invoices and the traders' business roles",
            env=env,
        )
    )
    console.print(f"  {t.get('rows', 0):,} declarations, {t.get('parties', 0):,} traders")
    scan = _last_json(
        _run(["trade", "scan", "--json"], title="price filter, unlikely origins, goods vs business (TBML)", env=env)
    )
    console.print(
        f"  {scan.get('scanned', 0):,} scanned, {scan.get('flagged_trades', 0)} flagged {scan.get('flags')} "
        f"-> {scan.get('alerts', 0)} alerts"
    )
    packs = [*sorted(str(p) for p in (shared_data / "crypto").glob("tagpack_*.yaml")), str(world / "crypto_tags.yaml")]
    tags = _last_json(_run(["crypto", "tags", *packs, "--json"], title="load crypto tags for tracing", env=env))
    console.print(f"  {sum(int(str(v)) for v in tags.values()):,} tagged addresses from {len(tags)} tagpacks")
    tr = _last_json(
        _run(
            ["crypto", "trace", "--tagged", "--json"],
            title="trace from tagged addresses to exchange cash-outs (SPOVC alerts)",
            env=env,
        )
    )
    traces = tr.get("traces")
    for one in traces if isinstance(traces, list) else []:
        outs = one.get("cash_outs") or []
        console.print(
            f"  {one['sources'][0]}: {float(one['emitted']):.6g} BTC traced over {one['reached_addresses']} "
            f"addresses to {len(outs)} cash-out point(s) -> {one.get('alerts', 0)} alerts"
        )


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
