"""World templates: which countries, banks, currencies and schemes a world holds.

A template is data, not code: the generator reads its weights. Three ship with filiere:
``amlworld-hi`` and ``amlworld-li`` (AMLworld's illicit ratios, about 1 row in 1,000 and 1 in
2,000, international banks and currencies) and ``sahel`` (West Africa, CFA franc, mobile money and
agents, the Sahel terrorist-financing channels).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from filiere.errors import UserInputError


@dataclass(frozen=True)
class Country:
    code: str  # ISO 3166 alpha-2
    name: str
    currency: str  # AMLworld-style currency name (filiere.model.currencies)
    weight: float  # share of entities living there
    names: str  # name pool key (filiere.scenario.names)
    phone_prefix: str
    towns: tuple[str, ...]
    high_risk: bool = False


#: units of each currency per US dollar on day 0 (drift is simulated per day)
BASE_RATES: dict[str, float] = {
    "US Dollar": 1.0,
    "Euro": 0.92,
    "Swiss Franc": 0.88,
    "Yuan": 7.1,
    "Bitcoin": 1.0 / 30000.0,
    "Rupee": 83.0,
    "Yen": 145.0,
    "UK Pound": 0.79,
    "Ruble": 90.0,
    "Canadian Dollar": 1.35,
    "Australian Dollar": 1.5,
    "Mexican Peso": 17.0,
    "Brazil Real": 5.0,
    "Saudi Riyal": 3.75,
    "Shekel": 3.7,
    "CFA Franc BCEAO": 605.0,
    "CFA Franc BEAC": 605.0,
    "Naira": 1500.0,
    "Cedi": 12.0,
    "Moroccan Dirham": 10.0,
    "Algerian Dinar": 135.0,
    "Ouguiya": 39.5,
    "Guinean Franc": 8600.0,
    "Leone": 22.5,
    "UAE Dirham": 3.67,
    "Turkish Lira": 32.0,
    "Libyan Dinar": 4.8,
    "Tether": 1.0,
}


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    start: str  # first day, ISO date
    days: int
    illicit_ratio: float  # illicit rows / all rows
    untyped_share: float  # share of illicit rows in no pattern (integration payments)
    countries: tuple[Country, ...]
    foreign_currency_share: float  # share of accounts held in USD/EUR rather than the local currency
    mobile_money: bool
    #: background flow mix (class -> share of background rows)
    flows: dict[str, float]
    #: typology -> relative weight when drawing schemes
    schemes: dict[str, float]
    cash_threshold_usd: float = 10000.0
    rows_per_account: float = 10.0
    #: write the crime-vector files (art offers, trade invoices, crypto tags) and give bitcoin
    #: accounts real-looking addresses; the vector schemes (art, cyber, drugs) come first
    vectors: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    #: AMLworld calibration (see docs/bench/scenario.md). All off by default: the schemes then draw
    #: their accounts from the whole population and their formats from the pair's usual mix.
    #: format -> probability for a laundering row of an AMLworld pattern or an integration payment
    #: whose format the scheme leaves open; the remainder keeps the pair's usual mix
    launder_formats: dict[str, float] = field(default_factory=dict)
    #: criminal-controlled accounts per illicit row: a pool that AMLworld patterns and integration
    #: payments reuse, so one criminal's accounts appear in several laundering attempts
    criminal_accounts: float = 0.0
    #: probability that an account of an AMLworld pattern comes from the criminal pool
    criminal_share: float = 0.0
    #: background activity of the criminal pool's accounts, relative to an ordinary account's
    criminal_activity: float = 1.0
    #: share of integration payments paid to another criminal-controlled account (else to a business
    #: or person of the population)
    integration_to_criminal: float = 0.0
    #: stretch of the AMLworld patterns' time spans (1: as drawn by the scheme builders)
    span_scale: float = 1.0


_INTL = (
    Country("US", "United States", "US Dollar", 0.30, "en", "+1", ("New York", "Chicago", "Houston", "Miami")),
    Country("GB", "United Kingdom", "UK Pound", 0.07, "en", "+44", ("London", "Manchester", "Birmingham")),
    Country("DE", "Germany", "Euro", 0.06, "de", "+49", ("Berlin", "Hamburg", "Frankfurt")),
    Country("FR", "France", "Euro", 0.07, "fr", "+33", ("Paris", "Marseille", "Lyon")),
    Country("CH", "Switzerland", "Swiss Franc", 0.03, "de", "+41", ("Zurich", "Geneva", "Basel")),
    Country("CN", "China", "Yuan", 0.06, "zh", "+86", ("Shanghai", "Guangzhou", "Yiwu")),
    Country("IN", "India", "Rupee", 0.06, "in", "+91", ("Mumbai", "Delhi", "Bangalore")),
    Country("JP", "Japan", "Yen", 0.03, "ja", "+81", ("Tokyo", "Osaka")),
    Country("RU", "Russia", "Ruble", 0.03, "ru", "+7", ("Moscow", "Saint Petersburg")),
    Country("CA", "Canada", "Canadian Dollar", 0.04, "en", "+1", ("Toronto", "Montreal")),
    Country("AU", "Australia", "Australian Dollar", 0.03, "en", "+61", ("Sydney", "Melbourne")),
    Country("MX", "Mexico", "Mexican Peso", 0.03, "es", "+52", ("Mexico City", "Guadalajara")),
    Country("BR", "Brazil", "Brazil Real", 0.03, "pt", "+55", ("Sao Paulo", "Rio de Janeiro")),
    Country("SA", "Saudi Arabia", "Saudi Riyal", 0.03, "ar", "+966", ("Riyadh", "Jeddah")),
    Country("IL", "Israel", "Shekel", 0.02, "he", "+972", ("Tel Aviv", "Haifa")),
    Country("AE", "United Arab Emirates", "UAE Dirham", 0.03, "ar", "+971", ("Dubai", "Abu Dhabi")),
    Country("TR", "Turkey", "Turkish Lira", 0.03, "tr", "+90", ("Istanbul", "Gaziantep")),
    Country("NG", "Nigeria", "Naira", 0.02, "ng", "+234", ("Lagos", "Kano", "Maiduguri"), high_risk=True),
    Country("ML", "Mali", "CFA Franc BCEAO", 0.01, "wa", "+223", ("Bamako", "Gao", "Mopti"), high_risk=True),
    Country("BF", "Burkina Faso", "CFA Franc BCEAO", 0.01, "wa", "+226", ("Ouagadougou", "Dori"), high_risk=True),
    Country("NE", "Niger", "CFA Franc BCEAO", 0.01, "wa", "+227", ("Niamey", "Agadez"), high_risk=True),
)

_SAHEL = (
    Country(
        "ML",
        "Mali",
        "CFA Franc BCEAO",
        0.17,
        "wa",
        "+223",
        ("Bamako", "Gao", "Mopti", "Tombouctou", "Kayes", "Sikasso"),
        high_risk=True,
    ),
    Country(
        "BF",
        "Burkina Faso",
        "CFA Franc BCEAO",
        0.14,
        "wa",
        "+226",
        ("Ouagadougou", "Bobo-Dioulasso", "Dori", "Djibo"),
        high_risk=True,
    ),
    Country(
        "NE",
        "Niger",
        "CFA Franc BCEAO",
        0.12,
        "wa",
        "+227",
        ("Niamey", "Agadez", "Zinder", "Tahoua", "Diffa"),
        high_risk=True,
    ),
    Country("SN", "Senegal", "CFA Franc BCEAO", 0.13, "wa", "+221", ("Dakar", "Thies", "Saint-Louis", "Touba")),
    Country(
        "CI", "Cote d'Ivoire", "CFA Franc BCEAO", 0.14, "wa", "+225", ("Abidjan", "Bouake", "Korhogo", "San-Pedro")
    ),
    Country("NG", "Nigeria", "Naira", 0.10, "ng", "+234", ("Lagos", "Kano", "Maiduguri", "Sokoto")),
    Country("MR", "Mauritania", "Ouguiya", 0.04, "ar", "+222", ("Nouakchott", "Nouadhibou", "Nema"), high_risk=True),
    Country("TD", "Chad", "CFA Franc BEAC", 0.04, "wa", "+235", ("N'Djamena", "Abeche"), high_risk=True),
    Country("GH", "Ghana", "Cedi", 0.03, "ng", "+233", ("Accra", "Kumasi", "Tamale")),
    Country("GN", "Guinea", "Guinean Franc", 0.02, "wa", "+224", ("Conakry", "Kankan")),
    Country("DZ", "Algeria", "Algerian Dinar", 0.02, "ar", "+213", ("Algiers", "Tamanrasset")),
    Country("LY", "Libya", "Libyan Dinar", 0.01, "ar", "+218", ("Tripoli", "Sabha"), high_risk=True),
    Country("FR", "France", "Euro", 0.02, "fr", "+33", ("Paris", "Marseille", "Lyon")),
    Country("AE", "United Arab Emirates", "UAE Dirham", 0.01, "ar", "+971", ("Dubai", "Sharjah")),
    Country("TR", "Turkey", "Turkish Lira", 0.01, "tr", "+90", ("Istanbul", "Gaziantep")),
)

_AML_SCHEMES = {
    "FAN-OUT": 1.0,
    "FAN-IN": 1.0,
    "CYCLE": 1.0,
    "SCATTER-GATHER": 1.0,
    "GATHER-SCATTER": 1.0,
    "STACK": 0.8,
    "BIPARTITE": 0.8,
    "RANDOM": 1.0,
}
_TF_SCHEMES = {
    "STRUCTURING": 1.0,
    "PEEL-CHAIN": 1.0,
    "ANTIQUITIES": 0.6,
    "KIDNAP-RANSOM": 1.0,
    "NPO-DIVERSION": 0.8,
    "CELL-SELF-FUNDING": 0.8,
    "CROWDFUNDING": 1.0,
}

_INTL_FLOWS = {
    "purchase": 0.36,
    "b2b": 0.13,
    "p2p": 0.12,
    "reinvestment": 0.07,
    "sweep": 0.03,
    "crypto": 0.03,
    "remittance": 0.03,
    "cash": 0.05,
    "recurring": 0.18,
}
_SAHEL_FLOWS = {
    "purchase": 0.22,
    "b2b": 0.09,
    "p2p": 0.09,
    "reinvestment": 0.04,
    "sweep": 0.02,
    "crypto": 0.01,
    "remittance": 0.05,
    "cash": 0.06,
    "mobile": 0.26,
    "recurring": 0.16,
}

#: AMLworld HI-Small's laundering, as far as published figures and samples show it
#: (docs/bench/scenario.md): laundering rows are mostly ACH, done by criminal entities whose
#: accounts take part in several attempts, patterns spread over days
_AMLWORLD_CALIBRATION: dict[str, Any] = {
    "launder_formats": {"ACH": 0.85},
    "criminal_accounts": 3.5,
    "criminal_share": 1.0,
    "criminal_activity": 0.1,
    "integration_to_criminal": 0.5,
    "span_scale": 2.5,
}

TEMPLATES: dict[str, Template] = {
    "amlworld-hi": Template(
        name="amlworld-hi",
        description="international banks and currencies, AMLworld HI ratio (about 1 illicit row in 1,000)",
        start="2022-09-01",
        days=28,
        illicit_ratio=1 / 1000,
        untyped_share=1 / 3,
        countries=_INTL,
        foreign_currency_share=0.10,
        mobile_money=False,
        flows=_INTL_FLOWS,
        schemes={**_AML_SCHEMES, **{k: v * 0.1 for k, v in _TF_SCHEMES.items()}},
        **_AMLWORLD_CALIBRATION,
    ),
    "amlworld-li": Template(
        name="amlworld-li",
        description="international banks and currencies, AMLworld LI ratio (about 1 illicit row in 2,000)",
        start="2022-09-01",
        days=28,
        illicit_ratio=1 / 2000,
        untyped_share=1 / 3,
        countries=_INTL,
        foreign_currency_share=0.10,
        mobile_money=False,
        flows=_INTL_FLOWS,
        schemes={**_AML_SCHEMES, **{k: v * 0.1 for k, v in _TF_SCHEMES.items()}},
        **_AMLWORLD_CALIBRATION,
    ),
    "sahel": Template(
        name="sahel",
        description="West Africa and the Sahel: CFA franc, mobile money and agents, terrorist-financing channels",
        start="2024-03-01",
        days=30,
        illicit_ratio=1 / 1000,
        untyped_share=1 / 3,
        countries=_SAHEL,
        foreign_currency_share=0.06,
        mobile_money=True,
        flows=_SAHEL_FLOWS,
        schemes={**{k: v * 0.4 for k, v in _AML_SCHEMES.items()}, **_TF_SCHEMES},
        cash_threshold_usd=8264.0,  # 5,000,000 XOF
        vectors=True,
    ),
}


def get_template(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        known = ", ".join(sorted(TEMPLATES))
        raise UserInputError(f"unknown scenario template {name!r} (known: {known})") from None
