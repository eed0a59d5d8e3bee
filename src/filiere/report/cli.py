"""``filiere report``: goAML reports, case reports (HTML/PDF) and FollowTheMoney exports of a case."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from filiere.cli_common import JsonOpt, WorkspaceOpt, console, print_json, settings_for
from filiere.errors import UserInputError

if TYPE_CHECKING:
    from filiere.config import Settings
    from filiere.report.bundle import CaseBundle

report_app = typer.Typer(help="Reports of a case: goAML XML, HTML/PDF case file, FtM export.", no_args_is_help=True)

OutOpt = Annotated[Path, typer.Option("--out", "-o", help="file to write ('-' for stdout where text)")]


def _bundle(workspace: Path | None, case_id: str) -> tuple[Settings, CaseBundle]:
    from filiere.report.bundle import load_case_bundle
    from filiere.store import open_store

    settings = settings_for(workspace)
    with open_store(settings) as store:
        return settings, load_case_bundle(store, case_id)


@report_app.command("goaml")
def goaml_cmd(
    case_id: str,
    out: OutOpt,
    profile: Annotated[str, typer.Option("--profile", "-p", help="profile YAML file or built-in name")] = "demo",
    report_code: Annotated[str | None, typer.Option(help="override the profile's report code (STR, SAR, CTR…)")] = None,
    action: Annotated[str | None, typer.Option(help="action taken, written in the report")] = None,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Write case CASE_ID as a goAML report, validated against the FIU's schema before writing."""
    from filiere.report.goaml import build_goaml, schema_for, write_goaml
    from filiere.report.profile import load_profile

    prof = load_profile(profile)
    settings, bundle = _bundle(workspace, case_id)
    schema = schema_for(prof, settings.shared_data)
    report = build_goaml(bundle, prof, schema, report_code=report_code, action=action)
    if str(out) == "-":
        sys.stdout.buffer.write(report.xml)
        return
    write_goaml(report, out)
    summary = {
        "case_id": case_id,
        "out": str(out),
        "report_code": report.report_code,
        "transactions": report.transactions,
        "parties": report.parties,
        "indicators": report.indicators,
        "profile": prof.name,
        "valid": True,
    }
    if json:
        print_json(summary)
    else:
        console.print(
            f"[green]valid[/] goAML {report.report_code} for case {case_id}: {report.transactions} transactions, "
            f"{report.parties} parties, indicators {', '.join(report.indicators)} → {out}"
        )


@report_app.command("case")
def case_cmd(
    case_id: str,
    out: OutOpt,
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Write the case report of CASE_ID as HTML or PDF (by the extension of --out)."""
    from filiere.report.casereport import render_html, render_pdf

    suffix = out.suffix.lower()
    if suffix not in (".html", ".htm", ".pdf"):
        raise UserInputError(f"--out {out}: give a .html or .pdf file")
    _, bundle = _bundle(workspace, case_id)
    html = render_html(bundle)
    out.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".pdf":
        out.write_bytes(render_pdf(bundle, html=html))
    else:
        out.write_text(html, encoding="utf-8")
    if json:
        print_json({"case_id": case_id, "out": str(out), "format": suffix.lstrip("."), "bytes": out.stat().st_size})
    else:
        console.print(f"case report of {case_id} → {out} ({out.stat().st_size:,} bytes)")


@report_app.command("ftm")
def ftm_cmd(
    case_id: str,
    out: OutOpt,
    dataset: Annotated[str, typer.Option(help="publisher name written on the entities")] = "filiere",
    workspace: WorkspaceOpt = None,
    json: JsonOpt = False,
) -> None:
    """Export case CASE_ID as FollowTheMoney entities (JSON lines)."""
    from filiere.report.ftm import export_ftm

    _, bundle = _bundle(workspace, case_id)
    text = export_ftm(bundle, dataset)
    if str(out) == "-":
        sys.stdout.write(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    n = text.count("\n")
    if json:
        print_json({"case_id": case_id, "out": str(out), "entities": n})
    else:
        console.print(f"{n} FtM entities of case {case_id} → {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
