"""Readers of every supported format, and ingestion into the workspace store.

- :func:`read_transactions` reads one file into Arrow tables (``TRANSACTION_SCHEMA`` …) and a
  quarantine table, without a store;
- :func:`ingest_files` puts files into a store: one database transaction per file, idempotent by
  file content and by transaction id, ``read == stored + quarantined + duplicates``.
"""

from filiere.io.ingest import ingest_files
from filiere.io.readers import read_transactions
from filiere.io.result import (
    FORMATS,
    QUARANTINE_SCHEMA,
    FileReport,
    IngestError,
    IngestReport,
    ReadResult,
    UnreadableFileError,
    tx_id_prefix,
)

__all__ = [
    "FORMATS",
    "QUARANTINE_SCHEMA",
    "FileReport",
    "IngestError",
    "IngestReport",
    "ReadResult",
    "UnreadableFileError",
    "ingest_files",
    "read_transactions",
    "tx_id_prefix",
]
