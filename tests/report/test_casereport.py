from __future__ import annotations

import io
import os
import re
from datetime import datetime
from pathlib import Path

import pytest

from filiere.config import Settings
from filiere.report.bundle import CaseBundle, load_case_bundle
from filiere.report.casereport import render_html, render_pdf
from filiere.report.network import layout, network_svg
from filiere.store import open_store

SNAPSHOT = Path(__file__).resolve().parents[1] / "fixtures" / "report" / "case_report.html"
GENERATED = datetime(2024, 3, 6, 12, 0)


def _bundle(settings: Settings, case_id: str) -> CaseBundle:
    with open_store(settings) as store:
        return load_case_bundle(store, case_id)


def _normalise(html: str) -> str:
    """Drop what changes between runs and versions: the version string."""
    return re.sub(r"filiere \d+\.\d+\.\d+[\w.+-]*", "filiere X.Y.Z", html)


def test_html_report_matches_snapshot(settings: Settings, case_id: str) -> None:
    html = _normalise(render_html(_bundle(settings, case_id), generated_at=GENERATED))
    if os.environ.get("UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(html, encoding="utf-8")
        if not os.environ.get("UPDATE_SNAPSHOTS"):
            pytest.fail(f"snapshot {SNAPSHOT} was missing and has been written: check it and rerun")
    assert html == SNAPSHOT.read_text(encoding="utf-8")


def test_html_report_holds_every_section(settings: Settings, case_id: str) -> None:
    html = render_html(_bundle(settings, case_id), generated_at=GENERATED)
    for heading in (
        "1. Summary",
        "2. Network",
        "3. Timeline",
        "4. Transactions",
        "5. Screening hits",
        "6. Red flags and evidence",
        "7. Audit trail",
    ):
        assert heading in html
    assert "data:image/svg+xml;base64," in html
    assert html.count("<code>T-") == 5  # one row per transaction
    assert "un-QDi.999" in html and "R-PASS-THROUGH: 97% of inflow out within 48 h" in html
    assert "Sahel Négoce SARL" in html  # not escaped into entities


def test_audit_trail_appears_when_recorded(settings: Settings, case_id: str) -> None:
    from filiere.cases.audit import SystemActor, record

    with open_store(settings) as store:
        record(
            store,
            SystemActor("supervisor1", "supervisor"),
            "case.status",
            "case",
            case_id,
            before={"status": "open"},
            after={"status": "under_review"},
        )
        record(store, SystemActor("analyst2", "analyst"), "alert.view", "alert", "A-scr-0002")
        record(store, SystemActor("analyst2", "analyst"), "alert.view", "alert", "A-other")
        b = load_case_bundle(store, case_id)
    assert [(e.user, e.action, e.target) for e in b.audit] == [
        ("supervisor1", "case.status", case_id),
        ("analyst2", "alert.view", "A-scr-0002"),
    ]
    html = render_html(b, generated_at=GENERATED)
    assert "supervisor1" in html and "under_review" in html and "A-other" not in html


def test_network_picture_is_deterministic(settings: Settings, case_id: str) -> None:
    b = _bundle(settings, case_id)
    svg = network_svg(b)
    assert svg == network_svg(b)
    assert svg.count("<circle") == len(b.accounts) + 4  # nodes + legend
    assert svg.count('marker-end="url(#arrow)"') == 4  # distinct directed account pairs of the 5 transactions
    pos = layout(4, [(0, 1), (1, 2), (2, 3)])
    assert pos.shape == (4, 2) and pos.min() >= 0 and pos.max() <= 1


def test_pdf_renders_with_text(settings: Settings, case_id: str) -> None:
    pypdf = pytest.importorskip("pypdf")
    b = _bundle(settings, case_id)
    pdf = render_pdf(b, generated_at=GENERATED)
    assert pdf.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    text = " ".join(page.extract_text() for page in reader.pages)
    text = re.sub(r"\s+", " ", text)
    for expected in ("Case C-2024-0007", "Moussa Ag Ibrahim", "Audit trail", "page 1 of"):
        assert expected in text
    assert "un-QDi.999" in text.replace(" ", "")  # table cells wrap long ids
