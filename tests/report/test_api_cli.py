from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from filiere.config import Settings
from filiere.report.goaml import GoamlValidationError, count_goaml, schema_for, validate_goaml
from filiere.report.profile import load_profile
from filiere.store import open_store


@pytest.fixture()
def client_tokens(settings: Settings, case_id: str):  # type: ignore[no-untyped-def]
    fastapi_testclient = pytest.importorskip("fastapi.testclient")
    from filiere.api.app import create_app
    from filiere.api.auth import add_user, create_token

    tokens = {}
    with open_store(settings) as store:
        for role in ("analyst", "supervisor", "auditor"):
            add_user(store, f"u-{role}", role)
            tokens[role] = create_token(store, f"u-{role}")
    app = create_app(settings, web=False)
    with fastapi_testclient.TestClient(app) as client:
        yield client, tokens


def _h(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_api_exports_a_case(client_tokens, settings: Settings, case_id: str) -> None:  # type: ignore[no-untyped-def]
    client, tokens = client_tokens
    base = f"/v1/cases/{case_id}"
    r = client.get(f"{base}/report.xml?profile=demo", headers=_h(tokens["analyst"]))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/xml")
    prof = load_profile("demo")
    assert validate_goaml(r.content, schema_for(prof, settings.shared_data)) == []
    assert count_goaml(r.content)["transactions"] == 5

    r = client.get(f"{base}/report.html", headers=_h(tokens["supervisor"]))
    assert r.status_code == 200 and "7. Audit trail" in r.text
    r = client.get(f"{base}/report.pdf", headers=_h(tokens["analyst"]))
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    r = client.get(f"{base}/export.ftm.jsonl", headers=_h(tokens["analyst"]))
    assert r.status_code == 200 and len(r.text.splitlines()) == 18

    # the exports are in the audit log, and so in the next report's audit trail
    r = client.get(f"{base}/report.html", headers=_h(tokens["analyst"]))
    assert "case.export" in r.text


def test_api_access_rules(client_tokens, case_id: str) -> None:  # type: ignore[no-untyped-def]
    client, tokens = client_tokens
    base = f"/v1/cases/{case_id}"
    for suffix in ("report.xml", "report.html", "report.pdf", "export.ftm.jsonl"):
        assert client.get(f"{base}/{suffix}").status_code == 401
        assert client.get(f"{base}/{suffix}", headers=_h(tokens["auditor"])).status_code == 403
    assert client.get("/v1/cases/NOPE/report.html", headers=_h(tokens["analyst"])).status_code == 404
    r = client.get(f"{base}/report.xml?profile=/etc/passwd", headers=_h(tokens["analyst"]))
    assert r.status_code == 400


def test_cli_writes_the_three_exports(
    settings: Settings, case_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from filiere.cli import app

    monkeypatch.setenv("FILIERE_SHARED_DATA", str(settings.shared_data))
    runner = CliRunner()
    ws = ["--workspace", str(settings.workspace)]
    xml = tmp_path / "out" / "str.xml"
    r = runner.invoke(app, ["report", "goaml", case_id, "--profile", "demo", "--out", str(xml), "--json", *ws])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["valid"] and summary["transactions"] == 5 and summary["indicators"] == ["SPTSA", "SPOEQ", "SPOSI"]
    assert count_goaml(xml.read_bytes())["transactions"] == 5

    pdf = tmp_path / "case.pdf"
    r = runner.invoke(app, ["report", "case", case_id, "--out", str(pdf), *ws])
    assert r.exit_code == 0, r.output
    assert pdf.read_bytes().startswith(b"%PDF")
    html = tmp_path / "case.html"
    assert runner.invoke(app, ["report", "case", case_id, "--out", str(html), *ws]).exit_code == 0
    assert "Case C-2024-0007" in html.read_text(encoding="utf-8")

    ftm = tmp_path / "case.ftm.jsonl"
    r = runner.invoke(app, ["report", "ftm", case_id, "--out", str(ftm), *ws])
    assert r.exit_code == 0, r.output
    assert len(ftm.read_text(encoding="utf-8").splitlines()) == 18


def test_cli_invalid_case_writes_nothing(
    settings: Settings, case_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from filiere.cli import app

    monkeypatch.setenv("FILIERE_SHARED_DATA", str(settings.shared_data))
    profile = tmp_path / "bank.yml"
    text = (Path(__file__).resolve().parents[2] / "src/filiere/report/profiles/demo.yml").read_text(encoding="utf-8")
    text = text.replace("my_banks: []", "my_banks: ['020']")
    text = text.replace(
        "fallback_indicator:",
        "schema: " + str(settings.shared_data / "goaml/goAMLSchema.xsd") + "\nfallback_indicator:",
    )
    profile.write_text(text, encoding="utf-8")
    out = tmp_path / "str.xml"
    r = CliRunner().invoke(
        app,
        [
            "report",
            "goaml",
            case_id,
            "--profile",
            str(profile),
            "--out",
            str(out),
            "--workspace",
            str(settings.workspace),
        ],
    )
    assert isinstance(r.exception, GoamlValidationError)
    assert "party P-3 (Moussa Ag Ibrahim), a client of the institution: birth date" in str(r.exception)
    assert not out.exists()
