"""A private in-memory DuckDB connection for readers (no workspace needed to read a file)."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from filiere.model.currencies import lookup_rows


def reader_connection(memory_limit: str = "2GB", threads: int = 2) -> duckdb.DuckDBPyConnection:
    """An in-memory connection holding the ``currency_lookup(k, code)`` table."""
    con = duckdb.connect(":memory:", config={"memory_limit": memory_limit, "threads": threads})
    keys, codes = lookup_rows()
    cur = pa.table({"k": pa.array(keys, pa.string()), "code": pa.array(codes, pa.string())})
    con.register("__cur_src", cur)
    con.execute("CREATE TEMP TABLE currency_lookup AS SELECT k, code FROM __cur_src")
    con.unregister("__cur_src")
    return con


def to_arrow(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> pa.Table:
    rel = con.sql(sql, params=params or None)
    fetch = getattr(rel, "to_arrow_table", None) or rel.arrow
    tbl = fetch()
    assert isinstance(tbl, pa.Table)
    return tbl


def currency_joins(expr: str, alias: str) -> tuple[str, str]:
    """(JOIN clauses, code expression) resolving ``expr`` (a currency name or code) to an ISO code."""
    joins = (
        f" LEFT JOIN currency_lookup {alias}_n ON {alias}_n.k = {expr}"
        f" LEFT JOIN currency_lookup {alias}_c ON {alias}_c.k = upper({expr})"
    )
    return joins, f"coalesce({alias}_n.code, {alias}_c.code)"
