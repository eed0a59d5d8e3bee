"""Ingestion into the workspace store.

Each file goes in as one database transaction whose last statement records the file in
``source_files``: a process killed halfway leaves nothing of that file, and a rerun ingests it
whole. A file already in ``source_files`` (same bytes, same mapping) is not read again: its rows
count as duplicates. Transactions whose ``tx_id`` is already stored (from another file, or earlier
in the same file) count as duplicates too. Accounts and parties are merged: a later file fills the
fields an earlier one left empty.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from filiere.errors import FiliereError, UserInputError
from filiere.io.readers import iter_batches, mapping_bytes
from filiere.io.result import (
    FORMATS,
    Batch,
    FileReport,
    IngestError,
    IngestReport,
    file_sha256,
)
from filiere.model import ACCOUNT_SCHEMA, PARTY_SCHEMA, TRANSACTION_SCHEMA
from filiere.store.base import Store

#: progress callback: (path, units done, units total)
FileProgress = Callable[[str, int, int], None]

_ACCOUNT_MERGE = [c for c in ACCOUNT_SCHEMA.names if c not in ("account_id", "bank", "account_number")]
_PARTY_MERGE = [c for c in PARTY_SCHEMA.names if c not in ("party_id",)]


def _stage(store: Store) -> None:
    for name, table in (("stage_tx", "transactions"), ("stage_acc", "accounts"), ("stage_party", "parties")):
        store.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} AS SELECT * FROM {table} LIMIT 0")
        store.execute(f"DELETE FROM {name}")


def _count(store: Store, sql: str, params: Sequence[Any] | None = None) -> int:
    """Rows an INSERT reports (DuckDB answers with one count row)."""
    return int(store.scalar(sql, params) or 0)


def _merge(store: Store, data: pa.Table | None, table: str, stage: str, schema: pa.Schema, merge: list[str]) -> int:
    """Upsert ``data`` into ``table`` by its first column: later files fill fields earlier ones left empty."""
    if data is None or not data.num_rows:
        return 0
    key = schema.names[0]
    store.insert_arrow(stage, data.select(schema.names))
    sets = ", ".join(f"{c} = coalesce(EXCLUDED.{c}, {table}.{c})" for c in merge)
    cols = ", ".join(schema.names)
    aggs = ", ".join(f"first({c} ORDER BY {c} NULLS LAST) AS {c}" for c in schema.names[1:])
    n = _count(
        store,
        f"INSERT INTO {table} ({cols}) SELECT {key}, {aggs} FROM {stage} GROUP BY {key} "
        f"ON CONFLICT ({key}) DO UPDATE SET {sets}",
    )
    store.execute(f"DELETE FROM {stage}")
    return n


def _merge_accounts(store: Store, data: pa.Table | None) -> int:
    return _merge(store, data, "accounts", "stage_acc", ACCOUNT_SCHEMA, _ACCOUNT_MERGE)


def _merge_parties(store: Store, data: pa.Table | None) -> int:
    return _merge(store, data, "parties", "stage_party", PARTY_SCHEMA, _PARTY_MERGE)


def _quarantine(store: Store, q: pa.Table, file_id: str) -> int:
    if not q.num_rows:
        return 0
    n = int(q.num_rows)
    data = q.append_column("source_file_id", pa.array([file_id] * n, pa.string()))
    store.insert_arrow("stage_q", data)
    store.execute(
        "INSERT INTO quarantine (source_file_id, path, row_number, location, field, reason, raw, quarantined_at) "
        "SELECT source_file_id, path, row_number, location, field, reason, raw, current_timestamp FROM stage_q"
    )
    store.execute("DELETE FROM stage_q")
    return n


def _put(store: Store, name: str, data: pa.Table) -> None:
    """Make ``data`` readable as ``name``: a zero-copy view on DuckDB, a staging table elsewhere."""
    con = getattr(store, "con", None)
    if con is not None and hasattr(con, "register"):
        con.register(f"{name}_view", data)
        store.execute(f"CREATE OR REPLACE TEMP VIEW {name}_v AS SELECT * FROM {name}_view")
    else:
        store.insert_arrow(name, data)
        store.execute(f"CREATE OR REPLACE TEMP VIEW {name}_v AS SELECT * FROM {name}")


def _drop(store: Store, name: str) -> None:
    con = getattr(store, "con", None)
    if con is not None and hasattr(con, "unregister"):
        store.execute(f"DROP VIEW IF EXISTS {name}_v")
        con.unregister(f"{name}_view")
    else:
        store.execute(f"DELETE FROM {name}")


def _ends_accounts(store: Store, source: str, params: Sequence[Any]) -> None:
    """Accounts at either end of the transactions in ``source`` that the store does not know yet."""
    store.execute(
        "INSERT INTO accounts (account_id, bank, account_number, kind, source_file_id) "
        "SELECT account_id, any_value(bank), any_value(substr(account_id, length(bank) + 2)), 'bank', ? "
        f"FROM (SELECT from_account AS account_id, from_bank AS bank FROM {source} "
        f"      UNION ALL SELECT to_account, to_bank FROM {source}) "
        "GROUP BY account_id ON CONFLICT (account_id) DO NOTHING",
        params,
    )


def _store_batch(store: Store, b: Batch, file_id: str, unique_ids: bool = False) -> tuple[int, int, int]:
    """(stored, quarantined, duplicates) of one batch, inside the file's transaction."""
    quarantined = _quarantine(store, b.quarantine, file_id)
    _merge_parties(store, b.parties)
    _merge_accounts(store, b.accounts)
    tx = b.transactions
    stored = 0
    if tx.num_rows:
        _put(store, "stage_tx", tx.select(TRANSACTION_SCHEMA.names))
        cols = ", ".join(TRANSACTION_SCHEMA.names)
        # duplicates against the store: the primary key's index (INSERT OR IGNORE), not a join with
        # the whole table; duplicates inside the batch: the first row wins
        dedup = "" if unique_ids else " QUALIFY row_number() OVER (PARTITION BY tx_id ORDER BY source_row) = 1"
        stored = _count(store, f"INSERT OR IGNORE INTO transactions ({cols}) SELECT {cols} FROM stage_tx_v{dedup}")
        if not unique_ids:  # else once per file, from the stored rows (see ingest_files)
            _ends_accounts(store, "stage_tx_v", [file_id])
        _drop(store, "stage_tx")
    duplicates = tx.num_rows - stored
    return stored, quarantined, duplicates


def _prefetched(batches: Iterator[Batch], depth: int = 1) -> Iterator[Batch]:
    """``batches``, read one piece ahead in a thread: DuckDB releases the GIL, so parsing piece k+1
    runs beside the insert of piece k. At most ``depth`` + 2 pieces are in memory. An error in the
    reader is raised here; closing this generator early stops the reader."""
    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for b in batches:
                if not put(("batch", b)):
                    return
            put(("end", None))
        except BaseException as exc:  # handed to the consumer
            put(("error", exc))
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()

    t = threading.Thread(target=work, name="filiere-ingest-reader", daemon=True)
    t.start()
    try:
        while True:
            kind, item = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        t.join()


def _already(store: Store, file_id: str) -> int | None:
    rows = store.query("SELECT rows_read FROM source_files WHERE file_id = ?", [file_id])
    return int(rows[0][0]) if rows else None


def _record_file(store: Store, rep: FileReport, fmt: str, kind: str) -> None:
    store.execute(
        "INSERT INTO source_files VALUES (?, ?, ?, ?, current_timestamp, ?, ?, ?, ?)",
        [rep.file_id, rep.path, fmt, kind, rep.read, rep.stored, rep.quarantined, rep.duplicates],
    )


def ingest_accounts(store: Store, path: Path | str) -> tuple[FileReport, int, int]:
    """An AMLworld accounts file: (report, accounts merged, parties merged)."""
    from filiere.io.amlworld import read_accounts

    p = Path(path)
    file_id = file_sha256(p)
    rep = FileReport(str(p), file_id)
    prev = _already(store, file_id)
    if prev is not None:
        rep.read = rep.duplicates = prev
        rep.status = "already ingested"
        return rep, 0, 0
    accounts, parties, quarantine, read = read_accounts(p, file_id)
    _stage(store)
    store.execute(
        "CREATE TEMP TABLE IF NOT EXISTS stage_q AS SELECT * EXCLUDE (quarantined_at) FROM quarantine LIMIT 0"
    )
    with store.transaction():
        rep.quarantined = _quarantine(store, quarantine, file_id)
        n_parties = _merge_parties(store, parties)
        n_acc = _merge_accounts(store, accounts)
        rep.read = read
        rep.stored = accounts.num_rows
        _record_file(store, rep, "amlworld-accounts", "accounts")
    return rep, n_acc, n_parties


def ingest_files(
    store: Store,
    paths: Sequence[Path | str],
    fmt: str,
    *,
    mapping: Any = None,
    accounts: Path | str | None = None,
    progress: FileProgress | None = None,
    raise_on_error: bool = True,
) -> IngestReport:
    """Ingest ``paths`` (all of format ``fmt``) into ``store``; ``accounts``: an AMLworld accounts file.

    Files that cannot be read are reported (``report.errors``) while the others go in; when
    ``raise_on_error`` (the default) an :class:`IngestError` carrying the report is raised at the end.
    """
    if fmt not in FORMATS:
        raise UserInputError(f"unknown format {fmt!r} (available: {', '.join(FORMATS)})")
    extra = mapping_bytes(mapping)  # validates the mapping once, before any file
    report = IngestReport()
    _stage(store)
    store.execute(
        "CREATE TEMP TABLE IF NOT EXISTS stage_q AS SELECT * EXCLUDE (quarantined_at) FROM quarantine LIMIT 0"
    )
    if accounts is not None:
        try:
            _, n_acc, n_par = ingest_accounts(store, accounts)
            report.accounts += n_acc
            report.parties += n_par
        except FiliereError as exc:
            report.files.append(FileReport(str(accounts), "", status="error", error=str(exc)))
    for path in paths:
        p = Path(path)
        rep = FileReport(str(p), "")
        try:
            rep.file_id = file_sha256(p, extra)
            prev = _already(store, rep.file_id)
            if prev is not None:
                rep.read = rep.duplicates = prev
                rep.status = "already ingested"
                report.add(rep)
                continue
            unique = fmt == "amlworld"  # ids unique within the file: no dedup inside a piece
            with store.transaction():
                batches = iter_batches(p, fmt, rep.file_id, mapping=mapping)
                for b in _prefetched(batches) if unique else batches:
                    s, q, d = _store_batch(store, b, rep.file_id, unique_ids=unique)
                    rep.stored += s + b.other
                    rep.quarantined += q
                    rep.duplicates += d
                    rep.read += b.read
                    report.accounts += b.accounts.num_rows if b.accounts is not None else 0
                    report.parties += b.parties.num_rows if b.parties is not None else 0
                    if progress is not None:
                        progress(str(p), b.done, b.total)
                if unique:  # one GROUP BY over what this file stored, not one upsert per piece
                    _ends_accounts(
                        store,
                        "(SELECT from_account, from_bank, to_account, to_bank FROM transactions "
                        "WHERE source_file_id = ?)",
                        [rep.file_id, rep.file_id, rep.file_id],
                    )
                assert rep.read == rep.stored + rep.quarantined + rep.duplicates, rep
                _record_file(store, rep, fmt, "transactions")
        except FiliereError as exc:
            rep = FileReport(str(p), rep.file_id, status="error", error=str(exc))
        report.add(rep)
    if raise_on_error and report.errors:
        names = "; ".join(e.error or e.path for e in report.errors)
        raise IngestError(f"{len(report.errors)} file(s) could not be ingested: {names}", report)
    return report
