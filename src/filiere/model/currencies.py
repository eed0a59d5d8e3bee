"""Currency names as AMLworld writes them, and the ISO 4217 codes filiere stores.

AMLworld's CSV uses English names ("US Dollar", "Bitcoin"); filiere's worlds add West and Central
African currencies under the same convention. Readers accept either a name below or an ISO code.
"""

from __future__ import annotations

#: AMLworld name -> ISO 4217 code (XBT for bitcoin, as ISO-style crypto code)
NAME_TO_CODE: dict[str, str] = {
    "US Dollar": "USD",
    "Euro": "EUR",
    "Swiss Franc": "CHF",
    "Yuan": "CNY",
    "Bitcoin": "XBT",
    "Rupee": "INR",
    "Yen": "JPY",
    "UK Pound": "GBP",
    "Ruble": "RUB",
    "Canadian Dollar": "CAD",
    "Australian Dollar": "AUD",
    "Mexican Peso": "MXN",
    "Brazil Real": "BRL",
    "Saudi Riyal": "SAR",
    "Shekel": "ILS",
    # filiere's additions (Sahel, West and Central Africa, Gulf, Turkey)
    "CFA Franc BCEAO": "XOF",
    "CFA Franc BEAC": "XAF",
    "Naira": "NGN",
    "Cedi": "GHS",
    "Moroccan Dirham": "MAD",
    "Algerian Dinar": "DZD",
    "Ouguiya": "MRU",
    "Guinean Franc": "GNF",
    "Leone": "SLE",
    "UAE Dirham": "AED",
    "Turkish Lira": "TRY",
    "Libyan Dinar": "LYD",
    "Tether": "USDT",
}

CODE_TO_NAME: dict[str, str] = {v: k for k, v in NAME_TO_CODE.items()}

#: every code filiere accepts (the ones above and common ISO 4217 codes)
KNOWN_CODES: frozenset[str] = frozenset(
    set(NAME_TO_CODE.values())
    | {"SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "ZAR", "KES", "EGP", "TND", "HKD", "SGD", "KRW", "ETH", "QAR", "KWD"}
)


def to_code(value: str) -> str | None:
    """The ISO code for an AMLworld name or a code; None when unknown."""
    v = value.strip()
    if v in NAME_TO_CODE:
        return NAME_TO_CODE[v]
    u = v.upper()
    return u if u in KNOWN_CODES else None


def lookup_rows() -> tuple[list[str], list[str]]:
    """(key, code) pairs for a SQL join: every name (exact) and every code (upper case)."""
    keys = list(NAME_TO_CODE) + sorted(KNOWN_CODES)
    codes = list(NAME_TO_CODE.values()) + sorted(KNOWN_CODES)
    return keys, codes
