"""filiere.report: goAML reports, case reports (HTML/PDF) and FollowTheMoney exports of a case.

Heavy dependencies (xmlschema, WeasyPrint, followthemoney, Jinja2) are imported when used.
"""

from __future__ import annotations

from filiere.report.bundle import CaseBundle, load_case_bundle
from filiere.report.goaml import GoamlReport, GoamlValidationError, build_goaml, schema_for, write_goaml
from filiere.report.profile import GoamlProfile, load_profile

__all__ = [
    "CaseBundle",
    "GoamlProfile",
    "GoamlReport",
    "GoamlValidationError",
    "build_goaml",
    "load_case_bundle",
    "load_profile",
    "schema_for",
    "write_goaml",
]
