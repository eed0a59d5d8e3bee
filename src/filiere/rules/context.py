"""The evaluation context rules run over: one DuckDB table of *account events*.

Each transaction gives two events, one per side: ``direction = 'out'`` for the paying account and
``direction = 'in'`` for the receiving one, so that a rule grouped per account sees both the money
that comes in and the money that goes out. Each event carries the transaction's fields, the party
attributes of both sides (country risk, entity type, list hits, shared phone), the counterparty's
crypto tag and, joined by ``tx_id``, the pattern features of the transaction.

Everything is built with set-based SQL; nothing iterates rows in Python.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from filiere.model.schemas import ACCOUNT_SCHEMA, PARTY_SCHEMA

#: columns of the events table and what they mean (the vocabulary of rule expressions)
EVENT_COLUMNS: dict[str, str] = {
    "tx_id": "transaction id",
    "ts": "transaction time",
    "direction": "'out' for the paying account, 'in' for the receiving account",
    "account": "the account this event belongs to (bank:number)",
    "counterparty": "the account on the other side",
    "bank": "bank of the account",
    "counterparty_bank": "bank of the counterparty",
    "amount": "amount in the event's currency (paid for out, received for in)",
    "currency": "currency of amount",
    "amount_usd": "amount converted to US dollars with the library's reference rates",
    "payment_format": "payment format (Cash, Wire, ACH, Bitcoin, Mobile Money…)",
    "cross_currency": "paid and received currencies differ",
    "same_bank": "both accounts at the same bank",
    "self_transfer": "payer and payee are the same account",
    "hour": "hour of day (0-23)",
    "weekday": "day of week (0 = Sunday)",
    "round_amount": "amount is a whole multiple of 1,000 (and at least 1,000)",
    "purpose": "purpose or category from the transaction's properties (loan, travel, donation…)",
    "account_kind": "kind of the account (bank, mobile, crypto)",
    "counterparty_kind": "kind of the counterparty account",
    "party_id": "owner party of the account",
    "party_schema": "FtM schema of the owner (Person, Company, Organization…)",
    "party_entity_type": "business role of the owner (npo, mm_agent, exchange, pharmacy…)",
    "party_country": "country of the owner (ISO alpha-2, lower case)",
    "party_high_risk": "owner's country is on the high-risk list",
    "party_list_hit": "owner matched a sanctions list (screening alert)",
    "party_phone_accounts": "number of accounts whose owners share the owner's phone number",
    "party_phone": "the owner's phone number (null when none)",
    "party_phone_parties": "number of distinct owners (parties) sharing the owner's phone number",
    "counterparty_party_id": "owner party of the counterparty account",
    "counterparty_schema": "FtM schema of the counterparty's owner",
    "counterparty_entity_type": "business role of the counterparty's owner",
    "counterparty_country": "country of the counterparty's owner",
    "counterparty_high_risk": "counterparty's country is on the high-risk list",
    "counterparty_list_hit": "counterparty's owner matched a sanctions list",
    "counterparty_tag": "tag of the counterparty's crypto address (ransomware, terrorism, sanctions) or null",
    "account_age_days": "days since the account's first transaction in the data",
    "party_age_days": "days since the owner's first transaction in the data",
}

#: approximate US dollars per unit (2022), used only to put thresholds in one currency
DEFAULT_USD_RATES: dict[str, float] = {
    "USD": 1.0, "EUR": 1.08, "CHF": 1.07, "CNY": 0.14, "XBT": 20000.0, "INR": 0.0122, "JPY": 0.0075,
    "GBP": 1.22, "RUB": 0.0135, "CAD": 0.74, "AUD": 0.68, "MXN": 0.052, "BRL": 0.19, "SAR": 0.27,
    "ILS": 0.29, "XOF": 0.00165, "XAF": 0.00165, "NGN": 0.0022, "GHS": 0.09, "MAD": 0.098,
    "DZD": 0.0073, "MRU": 0.027, "GNF": 0.000116, "SLE": 0.05, "AED": 0.27, "TRY": 0.054,
    "LYD": 0.21, "USDT": 1.0,
}  # fmt: skip

_ADDRESS = re.compile(r"^\s*-?\s*address:\s*(\S+)", re.MULTILINE)
_ABUSE = re.compile(r"^abuse:\s*(\S+)", re.MULTILINE)


def load_tagpacks(folder: Path) -> pa.Table:
    """Tagged crypto addresses from GraphSense tagpacks (``address``, ``tag``).

    The tag is the pack's ``abuse`` (ransomware, terrorism…), or ``sanctions`` for OFAC packs.
    Read with a regular expression: the packs hold tens of thousands of entries.
    """
    addresses: list[str] = []
    tags: list[str] = []
    for path in sorted(folder.glob("tagpack_*.yaml")):
        text = path.read_text(encoding="utf-8")
        m = _ABUSE.search(text)
        tag = m.group(1) if m else ("sanctions" if "ofac" in path.name.lower() else "tagged")
        found = _ADDRESS.findall(text)
        addresses.extend(found)
        tags.extend([tag] * len(found))
    return pa.table({"address": pa.array(addresses, pa.string()), "tag": pa.array(tags, pa.string())})


@dataclass
class ContextInputs:
    """What a rule run reads. Only ``transactions`` is required."""

    transactions: pa.Table
    accounts: pa.Table | None = None
    parties: pa.Table | None = None
    #: ``tx_id`` + pattern feature columns (from :func:`filiere.graph.compute_features`)
    features: pa.Table | None = None
    #: ``address``, ``tag``
    tagged_addresses: pa.Table | None = None
    #: party ids with a sanctions-list hit
    list_hit_parties: Sequence[str] = field(default_factory=list)
    high_risk_countries: Sequence[str] = field(default_factory=list)
    usd_rates: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_USD_RATES))


def _empty(schema: pa.Schema) -> pa.Table:
    return schema.empty_table()


#: event columns computed from the account attributes of each side, the tag join, and the age windows
_MINE = {
    "account_kind": "ma.kind",
    "party_id": "coalesce(ma.owner_party_id, e.account)",
    "party_schema": "ma.schema",
    "party_entity_type": "ma.entity_type",
    "party_country": "ma.country",
    "party_high_risk": "coalesce(ma.high_risk, FALSE)",
    "party_list_hit": "coalesce(ma.list_hit, FALSE)",
    "party_phone_accounts": "coalesce(ma.phone_accounts, 1)",
    "party_phone": "ma.ph",
    "party_phone_parties": "coalesce(ma.phone_parties, 1)",
}
_OTHER = {
    "counterparty_kind": "oa.kind",
    "counterparty_party_id": "coalesce(oa.owner_party_id, e.counterparty)",
    "counterparty_schema": "oa.schema",
    "counterparty_entity_type": "oa.entity_type",
    "counterparty_country": "oa.country",
    "counterparty_high_risk": "coalesce(oa.high_risk, FALSE)",
    "counterparty_list_hit": "coalesce(oa.list_hit, FALSE)",
}
_AGES = {
    "account_age_days": "date_diff('second', __am.t0, e.ts) / 86400.0",
    "party_age_days": "date_diff('second', __pm.t0, e.ts) / 86400.0",
}
#: columns of the per-side base query (one UNION ALL branch per direction)
_BASE = (
    "tx_id", "ts", "direction", "account", "counterparty", "bank", "counterparty_bank", "amount", "currency",
    "amount_usd", "payment_format", "cross_currency", "same_bank", "self_transfer", "hour", "weekday",
    "round_amount", "purpose",
)  # fmt: skip


def event_columns(inputs: ContextInputs) -> frozenset[str]:
    """The column names rule expressions may use over ``inputs`` (events plus feature columns)."""
    cols = set(EVENT_COLUMNS)
    if inputs.features is not None and inputs.features.num_columns > 1:
        cols |= {c for c in inputs.features.column_names if c != "tx_id"}
    return frozenset(cols)


def _base_select(d: str, needed: set[str]) -> str:
    out, other = ("from_account", "to_account") if d == "out" else ("to_account", "from_account")
    me_bank, other_bank = ("from_bank", "to_bank") if d == "out" else ("to_bank", "from_bank")
    amt, cur = ("amount_paid", "payment_currency") if d == "out" else ("amount_received", "receiving_currency")
    exprs = {
        "tx_id": "t.tx_id",
        "ts": "t.ts",
        "direction": f"'{d}'",
        "account": f"t.{out}",
        "counterparty": f"t.{other}",
        "bank": f"t.{me_bank}",
        "counterparty_bank": f"t.{other_bank}",
        "amount": f"t.{amt}",
        "currency": f"t.{cur}",
        "amount_usd": f"t.{amt} * coalesce(r.usd, 1.0)",
        "payment_format": "t.payment_format",
        "cross_currency": "t.payment_currency <> t.receiving_currency",
        "same_bank": "t.from_bank = t.to_bank",
        "self_transfer": "t.from_account = t.to_account",
        "hour": "CAST(hour(t.ts) AS INTEGER)",
        "weekday": "CAST(dayofweek(t.ts) AS INTEGER)",
        "round_amount": f"(t.{amt} >= 1000 AND t.{amt} % 1000 = 0)",
        "purpose": "lower(coalesce(json_extract_string(t.properties, '$.purpose'), "
        "json_extract_string(t.properties, '$.category')))",
    }
    cols = ", ".join(f"{exprs[c]} AS {c}" for c in _BASE if c in needed)
    join = f" LEFT JOIN __rates r ON r.currency = t.{cur}" if "amount_usd" in needed else ""
    return f"SELECT {cols} FROM __tx t{join}"


def build_events(
    con: duckdb.DuckDBPyConnection, inputs: ContextInputs, columns: Collection[str] | None = None
) -> frozenset[str]:
    """Create the temp table ``events`` (and view ``events_f`` with features) in ``con``.

    ``columns``: the event columns to compute (the others are left out: a rule run computes only
    what its rules read); ``None`` computes them all. Returns the set of column names rule
    expressions may use (always the whole vocabulary).
    """
    tx = inputs.transactions
    want = set(EVENT_COLUMNS) if columns is None else {c for c in columns if c in EVENT_COLUMNS}
    want |= {"tx_id", "ts", "account"}
    needed = set(want)
    if "party_age_days" in want:
        needed |= {"party_id", "account_kind"}  # the owner comes from the account attributes
    if needed & set(_OTHER) or "counterparty_tag" in needed:
        needed.add("counterparty")
    con.register("__tx", tx)
    con.register("__accounts", inputs.accounts if inputs.accounts is not None else _empty(ACCOUNT_SCHEMA))
    con.register("__parties", inputs.parties if inputs.parties is not None else _empty(PARTY_SCHEMA))
    tagged = inputs.tagged_addresses
    if tagged is None:
        tagged = pa.table({"address": pa.array([], pa.string()), "tag": pa.array([], pa.string())})
    con.register("__tagged", tagged)
    con.register("__hits", pa.table({"party_id": pa.array(list(inputs.list_hit_parties), pa.string())}))
    con.register(
        "__risk", pa.table({"country": pa.array([c.lower() for c in inputs.high_risk_countries], pa.string())})
    )
    rates = dict(inputs.usd_rates)
    con.register(
        "__rates",
        pa.table({"currency": pa.array(list(rates), pa.string()), "usd": pa.array(list(rates.values()), pa.float64())}),
    )
    mine = needed & set(_MINE)
    other = needed & set(_OTHER)
    if mine or other:
        con.execute(
            """
        CREATE OR REPLACE TEMP TABLE __acct_attr AS
        WITH p AS (
            SELECT p.* REPLACE (coalesce(p.entity_type,
                       CASE lower(json_extract_string(p.properties, '$.description[0]'))
                       WHEN 'consumer lender' THEN 'lender' WHEN 'non-profit organisation' THEN 'npo'
                       WHEN 'mobile-money agent' THEN 'mm_agent'
                       WHEN 'money-transfer agent' THEN 'mt_agent'
                       WHEN 'crypto exchange' THEN 'exchange' WHEN 'art and antiquities dealer' THEN 'art_dealer'
                       WHEN 'import-export trading company' THEN 'importer'
                       ELSE lower(json_extract_string(p.properties, '$.description[0]')) END) AS entity_type),
                   CASE WHEN p.phone IS NULL OR p.phone = '' THEN NULL ELSE p.phone END AS ph
            FROM __parties p
        ), a AS (
            SELECT a.account_id, a.kind, a.owner_party_id, p.schema, p.entity_type, lower(p.country) AS country,
                   p.ph, h.party_id IS NOT NULL AS list_hit
            FROM __accounts a LEFT JOIN p ON p.party_id = a.owner_party_id
            LEFT JOIN (SELECT DISTINCT party_id FROM __hits) h ON h.party_id = a.owner_party_id
        )
        SELECT a.*, lower(a.country) IN (SELECT country FROM __risk) AS high_risk,
               CASE WHEN a.ph IS NULL THEN 1 ELSE count(*) OVER (PARTITION BY a.ph) END AS phone_accounts,
               CASE WHEN a.ph IS NULL THEN 1
                    ELSE count(DISTINCT a.owner_party_id) OVER (PARTITION BY a.ph) END AS phone_parties
        FROM a
        """
        )
    base_cols = needed & set(_BASE)
    sel = [f"e.{c}" for c in _BASE if c in base_cols]
    sel += [f"{_MINE[c]} AS {c}" for c in _MINE if c in mine]
    sel += [f"{_OTHER[c]} AS {c}" for c in _OTHER if c in other]
    joins = ""
    if mine:
        joins += " LEFT JOIN __acct_attr ma ON ma.account_id = e.account"
    if other:
        joins += " LEFT JOIN __acct_attr oa ON oa.account_id = e.counterparty"
    if "counterparty_tag" in needed:
        sel.append("tg.tag AS counterparty_tag")
        joins += (
            " LEFT JOIN (SELECT address, min(tag) AS tag FROM __tagged GROUP BY address) tg"
            " ON tg.address = split_part(e.counterparty, ':', -1)"
        )
    ages = [c for c in _AGES if c in needed]
    ctes = f"e AS ({_base_select('out', base_cols)} UNION ALL {_base_select('in', base_cols)})"
    if ages:
        # first time each account (and owner) is seen: one GROUP BY, not a window over the events
        ctes += (
            ", __am AS (SELECT account, min(ts) AS t0 FROM (SELECT from_account AS account, ts FROM __tx "
            "UNION ALL SELECT to_account, ts FROM __tx) GROUP BY account)"
        )
        joins += " LEFT JOIN __am ON __am.account = e.account"
        sel += [f"{_AGES[c]} AS {c}" for c in ages]
    if "party_age_days" in ages:
        ctes += (
            ", __pm AS (SELECT coalesce(ma.owner_party_id, __am.account) AS party_id, min(__am.t0) AS t0 "
            "FROM __am LEFT JOIN __acct_attr ma ON ma.account_id = __am.account GROUP BY 1)"
        )
        joins += f" LEFT JOIN __pm ON __pm.party_id = {_MINE['party_id']}"
    body = f"WITH {ctes} SELECT {', '.join(sel)} FROM e{joins}"
    # columns in the vocabulary's order, whatever was computed
    order = [c for c in EVENT_COLUMNS if c in needed]
    con.execute(f"CREATE OR REPLACE TEMP TABLE events AS SELECT {', '.join(order)} FROM ({body})")
    cols = set(EVENT_COLUMNS)
    if inputs.features is not None and inputs.features.num_columns > 1:
        feats = inputs.features
        clash = [c for c in feats.column_names if c != "tx_id" and c in cols]
        if clash:
            feats = feats.rename_columns([f"f_{c}" if c in clash else c for c in feats.column_names])
        con.register("__features", feats)
        con.execute(
            "CREATE OR REPLACE TEMP VIEW events_f AS "
            "SELECT e.*, f.* EXCLUDE (tx_id) FROM events e LEFT JOIN __features f USING (tx_id)"
        )
        cols |= {c for c in feats.column_names if c != "tx_id"}
    else:
        con.execute("CREATE OR REPLACE TEMP VIEW events_f AS SELECT * FROM events")
    return frozenset(cols)


def register_label_table(con: duckdb.DuckDBPyConnection, tx: pa.Table) -> None:
    """``__labels(tx_id, is_laundering)`` for backtests."""
    con.execute("CREATE OR REPLACE TEMP VIEW __labels AS SELECT tx_id, coalesce(is_laundering, FALSE) AS y FROM __tx")


def describe_columns(extra: Mapping[str, Any] | None = None) -> dict[str, str]:
    out = dict(EVENT_COLUMNS)
    for k, v in (extra or {}).items():
        out[k] = str(v)
    return out
