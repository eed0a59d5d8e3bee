"""Per-FIU goAML profiles: who reports, in which currency, and with which of the FIU's code lists.

Each Financial Intelligence Unit customises goAML's lookup values (transaction modes, funds types,
report indicators…), so they live in a YAML profile, never in code. ``profiles/demo.yml`` ships for
the demo (sahel) world; ``load_profile("demo")`` or ``load_profile(path)`` returns a validated
:class:`GoamlProfile`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from filiere.errors import UserInputError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportingPerson(_Strict):
    first_name: str
    last_name: str
    title: str | None = None
    email: str | None = None
    occupation: str | None = None


class Location(_Strict):
    address_type: str = "-"
    address: str
    city: str
    country_code: str


class Institution(_Strict):
    """Defaults for the institution's own accounts (banks listed in ``my_banks``)."""

    name: str
    swift: str | None = None
    code: str | None = None
    branch: str | None = None
    country: str | None = None


class PhoneCodes(_Strict):
    contact_type: str = "-"
    communication_type: str = "-"


class GoamlProfile(_Strict):
    name: str = "custom"
    description: str | None = None
    #: XSD of the FIU (relative to the profile file); default: <shared_data>/goaml/goAMLSchema.xsd
    schema_path: str | None = Field(default=None, alias="schema")
    rentity_id: int
    rentity_branch: str
    submission_code: str = "E"
    report_code: str = "STR"
    currency_code_local: str
    reporting_person: ReportingPerson | None = None
    reporting_user_code: str | None = None
    location: Location
    action: str | None = None
    #: bank ids whose accounts belong to the reporting institution (goAML's ``_my_client`` forms)
    my_banks: list[str] = Field(default_factory=list)
    institution: Institution | None = None
    #: country used for a transaction side when neither the account nor its owner says one
    default_country: str | None = None
    transaction_location: str = ""
    #: payment_format -> goAML transmode_code (``default`` for the rest)
    transmodes: dict[str, str] = Field(default_factory=lambda: {"default": "-"})
    #: payment_format -> goAML funds code, for the sending and the receiving side
    funds: dict[str, str] = Field(default_factory=lambda: {"default": "-"})
    #: account kind (bank, mobile, crypto) -> goAML account type (``default`` for the rest)
    account_types: dict[str, str] = Field(default_factory=lambda: {"default": "-"})
    account_status_code: str = "-"
    #: entity_type -> goAML legal form (``default`` for the rest)
    legal_forms: dict[str, str] = Field(default_factory=lambda: {"default": "-"})
    #: role of an account's owner among its signatories
    signatory_role: str = "-"
    director_role: str = "-"
    #: role of a company's director signing on the company's account
    director_signatory_role: str = "-"
    phone: PhoneCodes = PhoneCodes()
    #: filiere indicator code (alerts' indicator_codes) -> the FIU's code
    indicators: dict[str, str] = Field(default_factory=dict)
    #: indicator written when no alert code maps (goAML needs at least one); None: it is an error
    fallback_indicator: str | None = None
    #: units of local currency per unit of each foreign currency
    exchange_rates: dict[str, float] = Field(default_factory=dict)
    #: the FIU's enumerations, replacing those of the named simple types of the XSD
    code_lists: dict[str, list[str]] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    #: the folder of the profile file (for a relative ``schema``)
    base_dir: Path | None = None

    def transmode(self, payment_format: str) -> str:
        return self.transmodes.get(payment_format, self.transmodes.get("default", "-"))

    def funds_code(self, payment_format: str) -> str:
        return self.funds.get(payment_format, self.funds.get("default", "-"))

    def account_type(self, kind: str | None) -> str:
        return self.account_types.get(kind or "", self.account_types.get("default", "-"))

    def legal_form(self, entity_type: str | None) -> str:
        return self.legal_forms.get(entity_type or "", self.legal_forms.get("default", "-"))

    def is_mine(self, bank: str) -> bool:
        return bank in self.my_banks

    def map_indicators(self, codes: list[str]) -> list[str]:
        out = list(dict.fromkeys(self.indicators[c] for c in codes if c in self.indicators))
        if not out and self.fallback_indicator is not None:
            out = [self.fallback_indicator]
        return out

    def schema_file(self, shared_data: Path) -> Path:
        if self.schema_path:
            p = Path(self.schema_path)
            return p if p.is_absolute() or self.base_dir is None else self.base_dir / p
        return shared_data / "goaml" / "goAMLSchema.xsd"


def builtin_profiles() -> list[str]:
    return sorted(e.name[:-4] for e in resources.files("filiere.report.profiles").iterdir() if e.name.endswith(".yml"))


def load_profile(name_or_path: str | Path) -> GoamlProfile:
    """A built-in profile by name (``demo``) or a YAML file by path."""
    text: str
    base_dir: Path | None
    where: str
    path = Path(name_or_path)
    if path.suffix in (".yml", ".yaml") or path.exists():
        if not path.exists():
            raise UserInputError(f"goAML profile {path} does not exist")
        text, base_dir, where = path.read_text(encoding="utf-8"), path.parent, str(path)
    else:
        name = str(name_or_path)
        res = resources.files("filiere.report.profiles").joinpath(f"{name}.yml")
        if not res.is_file():
            raise UserInputError(
                f"unknown goAML profile {name!r}: give a YAML file or one of {', '.join(builtin_profiles())}"
            )
        text, base_dir, where = res.read_text(encoding="utf-8"), None, f"built-in profile {name}"
    try:
        data: Any = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise UserInputError(f"{where}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise UserInputError(f"{where}: expected a mapping at the top level")
    try:
        profile = GoamlProfile.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise UserInputError(f"{where}: {problems}") from exc
    return profile
