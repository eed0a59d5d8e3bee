"""The embedded DuckDB backend: one file in the workspace folder.

DuckDB admits one writing process per file. Commands therefore open the store for the duration of
their work only, and wait (up to ``lock_timeout_s``) when another process holds it, instead of
failing at once with a lock error. Long-lived services (``filiere serve``) open it per unit of work
for the same reason.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from filiere.errors import StoreLockedError
from filiere.store.base import Store


def _is_lock_error(exc: Exception) -> bool:
    msg = str(exc).lower()
    return "lock" in msg and ("conflicting" in msg or "could not set lock" in msg)


class DuckDBStore(Store):
    def __init__(
        self,
        path: Path | str,
        *,
        read_only: bool = False,
        lock_timeout_s: float = 30.0,
        memory_limit: str = "4GB",
        threads: int = 2,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        config: dict[str, str | bool | int | float | list[str]] = {"memory_limit": memory_limit, "threads": threads}
        deadline = time.monotonic() + lock_timeout_s
        delay = 0.02
        while True:
            try:
                self.con = duckdb.connect(str(self.path), read_only=read_only, config=config)
                break
            except duckdb.IOException as exc:
                if not _is_lock_error(exc) or time.monotonic() >= deadline:
                    if _is_lock_error(exc):
                        raise StoreLockedError(
                            f"{self.path} is held by another filiere process (waited {lock_timeout_s:.0f} s): "
                            "stop it or send the command through the running service"
                        ) from exc
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
        self._depth = 0

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self.con.execute(sql, params or [])

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, params or []).fetchall()

    def query_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        rel = self.con.sql(sql, params=list(params) if params else None)
        if rel is None:  # a statement that returns no rows
            return pa.table({})
        tbl = rel.to_arrow_table()
        assert isinstance(tbl, pa.Table)
        return tbl

    def insert_arrow(self, table: str, data: pa.Table) -> int:
        if data.num_rows == 0:
            return 0
        cols = ", ".join(f'"{c}"' for c in data.column_names)
        self.con.register("__filiere_insert", data)
        try:
            self.con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM __filiere_insert")
        finally:
            self.con.unregister("__filiere_insert")
        return int(data.num_rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.con.execute("BEGIN TRANSACTION")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self.con.execute("ROLLBACK")
            raise
        self._depth = 0
        self.con.execute("COMMIT")

    def close(self) -> None:
        self.con.close()
