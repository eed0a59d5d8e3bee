"""Domain records: Arrow schemas for bulk data."""

from filiere.model.schemas import ACCOUNT_SCHEMA, PARTY_SCHEMA, TRANSACTION_SCHEMA, account_id

__all__ = ["ACCOUNT_SCHEMA", "PARTY_SCHEMA", "TRANSACTION_SCHEMA", "account_id"]
