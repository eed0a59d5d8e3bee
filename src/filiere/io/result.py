"""What every reader returns, and the counts every ingest reports."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from filiere.errors import UserInputError
from filiere.model import ACCOUNT_SCHEMA, PARTY_SCHEMA, TRANSACTION_SCHEMA

#: formats ``read_transactions`` understands
FORMATS = ("amlworld", "csv", "parquet", "pacs008", "camt053", "ftm")

#: one rejected row: where it was, which field, why, and its raw text
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("path", pa.string(), nullable=False),
        pa.field("row_number", pa.int64()),
        pa.field("location", pa.string()),
        pa.field("field", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw", pa.string()),
    ]
)

#: progress callback: (bytes or units done, total)
Progress = Callable[[int, int], None]


class UnreadableFileError(UserInputError):
    """A file that cannot be read at all (missing, not the announced format, binary garbage)."""


@dataclass(slots=True)
class Batch:
    """A piece of one file, as a reader yields it (large files come in several)."""

    transactions: pa.Table
    quarantine: pa.Table
    read: int
    accounts: pa.Table | None = None
    parties: pa.Table | None = None
    other: int = 0  # records stored as something else than a transaction (FtM parties, accounts, links)
    done: int = 0  # progress units (bytes) consumed so far
    total: int = 0


@dataclass(slots=True)
class ReadResult:
    """Everything read from one file, in filiere's bulk schemas.

    ``read`` counts the file's records (rows, XML transactions, FtM entities): each is in
    ``transactions``, in ``quarantine``, or (FtM only) one of the ``other`` entities that became a
    party, an account or an ownership link. Duplicates are decided by the store, not the reader.
    """

    transactions: pa.Table
    accounts: pa.Table
    parties: pa.Table
    quarantine: pa.Table
    read: int
    file_id: str = ""
    path: str = ""
    other: int = 0


@dataclass(slots=True)
class FileReport:
    path: str
    file_id: str
    read: int = 0
    stored: int = 0
    quarantined: int = 0
    duplicates: int = 0
    status: str = "ingested"  # ingested | already ingested | error
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "file_id": self.file_id,
            "read": self.read,
            "stored": self.stored,
            "quarantined": self.quarantined,
            "duplicates": self.duplicates,
            "status": self.status,
            **({"error": self.error} if self.error else {}),
        }


@dataclass(slots=True)
class IngestReport:
    """Counts of an ingest: ``read == stored + quarantined + duplicates`` always."""

    read: int = 0
    stored: int = 0
    quarantined: int = 0
    duplicates: int = 0
    accounts: int = 0
    parties: int = 0
    files: list[FileReport] = field(default_factory=list)

    @property
    def errors(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "error"]

    def add(self, f: FileReport) -> None:
        self.files.append(f)
        self.read += f.read
        self.stored += f.stored
        self.quarantined += f.quarantined
        self.duplicates += f.duplicates

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "stored": self.stored,
            "quarantined": self.quarantined,
            "duplicates": self.duplicates,
            "accounts": self.accounts,
            "parties": self.parties,
            "files": [f.as_dict() for f in self.files],
        }


class IngestError(UserInputError):
    """Some files of a batch could not be read; the others went in. ``report`` has the counts."""

    def __init__(self, message: str, report: IngestReport) -> None:
        super().__init__(message)
        self.report = report


def empty(schema: pa.Schema) -> pa.Table:
    return schema.empty_table()


def quarantine_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=QUARANTINE_SCHEMA)


def concat(tables: Sequence[pa.Table | None], schema: pa.Schema) -> pa.Table:
    parts = [t.select(schema.names).cast(schema) for t in tables if t is not None and t.num_rows]
    return pa.concat_tables(parts) if parts else schema.empty_table()


def collect(batches: Iterator[Batch], *, file_id: str, path: str) -> ReadResult:
    txs: list[pa.Table] = []
    qs: list[pa.Table] = []
    accs: list[pa.Table | None] = []
    parties: list[pa.Table | None] = []
    read = other = 0
    for b in batches:
        other += b.other
        txs.append(b.transactions)
        qs.append(b.quarantine)
        accs.append(b.accounts)
        parties.append(b.parties)
        read += b.read
    return ReadResult(
        transactions=concat(txs, TRANSACTION_SCHEMA),
        accounts=concat(accs, ACCOUNT_SCHEMA),
        parties=concat(parties, PARTY_SCHEMA),
        quarantine=concat(qs, QUARANTINE_SCHEMA),
        read=read,
        other=other,
        file_id=file_id,
        path=path,
    )


def file_sha256(path: Path, extra: bytes = b"") -> str:
    """Hex sha256 of the file's bytes (and of ``extra``, e.g. the mapping that applies)."""
    h = hashlib.sha256()
    try:
        with path.open("rb") as f:
            while chunk := f.read(1 << 22):
                h.update(chunk)
    except FileNotFoundError as exc:
        raise UnreadableFileError(f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise UnreadableFileError(f"{path}: is a directory, not a file") from exc
    except OSError as exc:
        raise UnreadableFileError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    if extra:
        h.update(b"\0mapping\0" + extra)
    return h.hexdigest()


def tx_id_prefix(file_id: str) -> str:
    """Prefix of the transaction ids of a file without ids (AMLworld): its sha256's first 8 hex digits."""
    return file_id[:8]
