"""HTTP routes of the reports: goAML XML, case report (HTML, PDF) and FtM export of a case.

Mounted by ``filiere.api.app.create_app`` under ``/v1`` (so the paths below are
``/v1/cases/{case_id}/report.xml`` …). Analysts and supervisors may export; each export is written
to the audit log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from filiere.api.deps import CurrentUser, SettingsDep, StoreDep, require_roles
from filiere.report.bundle import CaseBundle, load_case_bundle
from filiere.store.base import Store

router = APIRouter(tags=["reports"], dependencies=[Depends(require_roles("analyst", "supervisor"))])


def _audit(store: Store, user: CurrentUser, case_id: str, fmt: str, **detail: object) -> None:
    try:
        from filiere.cases.audit import record
    except ImportError:  # pragma: no cover - the investigation service is part of the package
        return
    record(store, user, "case.export", "case", case_id, detail={"format": fmt, **detail})


def _load(store: Store, case_id: str) -> CaseBundle:
    return load_case_bundle(store, case_id)


@router.get(
    "/cases/{case_id}/report.xml",
    summary="goAML report of a case (validated against the FIU's schema)",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}}, 422: {"description": "the case lacks required fields"}},
)
def goaml_report(
    case_id: str,
    user: CurrentUser,
    store: StoreDep,
    settings: SettingsDep,
    profile: Annotated[str, Query(description="built-in profile name", examples=["demo"])] = "demo",
    report_code: Annotated[str | None, Query(description="STR, SAR, CTR… (default: the profile's)")] = None,
) -> Response:
    from filiere.report.goaml import build_goaml, schema_for
    from filiere.report.profile import builtin_profiles, load_profile

    if profile not in builtin_profiles():  # never read an arbitrary path given by a client
        from filiere.errors import UserInputError

        raise UserInputError(f"unknown profile {profile!r} (available: {', '.join(builtin_profiles())})")
    prof = load_profile(profile)
    bundle = _load(store, case_id)
    report = build_goaml(bundle, prof, schema_for(prof, settings.shared_data), report_code=report_code)
    _audit(store, user, case_id, "goaml", profile=prof.name, report_code=report.report_code)
    return Response(
        report.xml,
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{case_id}-goaml.xml"'},
    )


@router.get("/cases/{case_id}/report.html", summary="Case report (HTML)", response_class=HTMLResponse)
def case_report_html(case_id: str, user: CurrentUser, store: StoreDep) -> HTMLResponse:
    from filiere.report.casereport import render_html

    html = render_html(_load(store, case_id))
    _audit(store, user, case_id, "html")
    return HTMLResponse(html)


@router.get(
    "/cases/{case_id}/report.pdf",
    summary="Case report (PDF)",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def case_report_pdf(case_id: str, user: CurrentUser, store: StoreDep) -> Response:
    from filiere.report.casereport import render_pdf

    pdf = render_pdf(_load(store, case_id))
    _audit(store, user, case_id, "pdf")
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{case_id}.pdf"'}
    )


@router.get(
    "/cases/{case_id}/export.ftm.jsonl",
    summary="FollowTheMoney export of a case (JSON lines)",
    response_class=Response,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
def case_export_ftm(case_id: str, user: CurrentUser, store: StoreDep) -> Response:
    from filiere.report.ftm import export_ftm

    text = export_ftm(_load(store, case_id))
    _audit(store, user, case_id, "ftm", entities=text.count("\n"))
    return Response(
        text,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{case_id}.ftm.jsonl"'},
    )
