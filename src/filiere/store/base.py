"""The ``Store`` interface. Area repositories (lists, alerts, cases…) are written against it.

Shared behaviour (migrations, summaries) is written once here; a backend implements the few
abstract hooks. SQL kept to the portable subset DuckDB and PostgreSQL share where possible.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any

import pyarrow as pa

#: tables that the summary reports, in display order
CORE_TABLES = ("source_files", "parties", "accounts", "transactions", "quarantine")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    """Every ``NNN_name.sql`` file of :mod:`filiere.store.migrations`, in version order."""
    out: list[Migration] = []
    for entry in resources.files("filiere.store.migrations").iterdir():
        name = entry.name
        if not name.endswith(".sql") or not name[:3].isdigit():
            continue
        out.append(Migration(int(name[:3]), name[4:-4], entry.read_text(encoding="utf-8")))
    out.sort(key=lambda m: m.version)
    versions = [m.version for m in out]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version number: {versions}")
    return out


class Store(abc.ABC):
    """A workspace database."""

    # ---- hooks a backend implements -------------------------------------------------------
    @abc.abstractmethod
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run a statement that returns nothing."""

    @abc.abstractmethod
    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query and return its rows as tuples."""

    @abc.abstractmethod
    def query_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run a query and return an Arrow table (the bulk path)."""

    @abc.abstractmethod
    def insert_arrow(self, table: str, data: pa.Table) -> int:
        """Append ``data`` (columns named as the table's) to ``table``; returns rows inserted."""

    @abc.abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together or not at all (nesting is flattened)."""

    @abc.abstractmethod
    def close(self) -> None: ...

    # ---- shared behaviour ----------------------------------------------------------------
    def query_dicts(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.query_arrow(sql, params).to_pylist()
        return rows

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def schema_version(self) -> int:
        self.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        v = self.scalar("SELECT max(version) FROM schema_migrations")
        return int(v) if v is not None else 0

    def migrate(self) -> list[Migration]:
        """Apply the migrations newer than the database's version; returns those applied."""
        current = self.schema_version()
        applied: list[Migration] = []
        for m in load_migrations():
            if m.version <= current:
                continue
            with self.transaction():
                for stmt in _split_sql(m.sql):
                    self.execute(stmt)
                self.execute("INSERT INTO schema_migrations VALUES (?, ?, current_timestamp)", [m.version, m.name])
            applied.append(m)
        return applied

    def counts(self, tables: Sequence[str] = CORE_TABLES) -> dict[str, int]:
        return {t: int(self.scalar(f"SELECT count(*) FROM {t}") or 0) for t in tables}

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _split_sql(script: str) -> list[str]:
    """Split a migration script on ``;`` at line ends, dropping comment-only chunks."""
    stmts: list[str] = []
    buf: list[str] = []
    for line in script.splitlines():
        if line.strip().startswith("--"):
            continue
        buf.append(line)
        if line.rstrip().endswith(";"):
            stmt = "\n".join(buf).strip().rstrip(";").strip()
            if stmt:
                stmts.append(stmt)
            buf = []
    tail = "\n".join(buf).strip()
    if tail:
        stmts.append(tail)
    return stmts
