"""The YAML column mapping that turns any bank's CSV or Parquet export into transactions.

Two shapes:

- **transfers**: each row names both ends (``from_account``/``to_account`` columns, banks optional);
- **statement**: the file is one account's statement (``statement_account``); each row names the
  counterparty, and the direction comes from the sign convention: a single signed ``amount``
  column (negative = money out), separate ``debit``/``credit`` columns, or an ``indicator`` column
  whose values say debit or credit.

See docs/ingestion.md for a full example.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from filiere.errors import UserInputError


class Columns(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tx_id: str | None = None
    ts: str
    amount: str | None = None
    currency: str | None = None
    amount_paid: str | None = None
    payment_currency: str | None = None
    payment_format: str | None = None
    is_laundering: str | None = None
    from_bank: str | None = None
    from_account: str | None = None
    to_bank: str | None = None
    to_account: str | None = None
    # statement shape: the counterparty of the statement account
    counterparty_bank: str | None = None
    counterparty_account: str | None = None
    counterparty_name: str | None = None
    # sign conventions
    debit: str | None = None
    credit: str | None = None
    indicator: str | None = None


class StatementAccount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bank: str
    account: str


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: Columns
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    date_format: str | list[str] | None = None  # strptime; None = ISO 8601
    decimal: str = "."
    thousands: str = ""
    currency: str | None = None  # when no currency column
    payment_format: str = "Wire"  # when no payment_format column
    sign: Literal["signed", "debit_credit", "indicator"] = "signed"
    debit_values: list[str] = ["D", "DBIT", "DEBIT", "DR", "-"]
    credit_values: list[str] = ["C", "CRDT", "CREDIT", "CR", "+"]
    statement_account: StatementAccount | None = None
    default_bank: str = "UNKNOWN"
    id_prefix: str = "csv"  # tx_id = <id_prefix>:<tx_id column>
    properties: list[str] = []  # further columns kept in properties (JSON)

    @model_validator(mode="after")
    def _shape(self) -> Mapping:
        c = self.columns
        if self.statement_account is None:
            if not (c.from_account and c.to_account):
                raise ValueError(
                    "a transfers mapping needs columns.from_account and columns.to_account "
                    "(or give statement_account for a statement)"
                )
            if not (c.amount or c.amount_paid):
                raise ValueError("columns.amount is required")
        else:
            if self.sign == "debit_credit" and not (c.debit and c.credit):
                raise ValueError("sign: debit_credit needs columns.debit and columns.credit")
            if self.sign == "indicator" and not (c.indicator and c.amount):
                raise ValueError("sign: indicator needs columns.indicator and columns.amount")
            if self.sign == "signed" and not c.amount:
                raise ValueError("sign: signed needs columns.amount")
        if not c.currency and not self.currency:
            raise ValueError("give columns.currency or a default currency")
        if self.decimal == self.thousands:
            raise ValueError("decimal and thousands separators must differ")
        return self

    def fingerprint(self) -> bytes:
        return json.dumps(self.model_dump(), sort_keys=True).encode()

    def source_columns(self) -> list[str]:
        cols = [v for v in self.columns.model_dump().values() if v]
        return list(dict.fromkeys(cols + self.properties))


def load_mapping(mapping: Mapping | dict[str, Any] | str | Path) -> Mapping:
    """A mapping from a YAML file path, a dict, or a Mapping (validated; errors name the file)."""
    if isinstance(mapping, Mapping):
        return mapping
    where = "mapping"
    if isinstance(mapping, str | Path):
        where = str(mapping)
        try:
            data = yaml.safe_load(Path(mapping).read_text(encoding="utf-8"))
        except OSError as exc:
            raise UserInputError(f"{where}: cannot read the mapping: {exc.strerror or exc}") from exc
        except yaml.YAMLError as exc:
            raise UserInputError(f"{where}: not valid YAML: {exc}") from exc
    else:
        data = mapping
    if not isinstance(data, dict):
        raise UserInputError(f"{where}: a mapping file holds a YAML mapping (columns:, …)")
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        msgs = "; ".join(f"{'.'.join(str(x) for x in e['loc']) or 'mapping'}: {e['msg']}" for e in exc.errors())
        raise UserInputError(f"{where}: invalid mapping: {msgs}") from exc
