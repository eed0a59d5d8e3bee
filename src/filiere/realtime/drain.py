"""The drain: logged records into the store (``realtime_tx`` + ``transactions`` + ``alerts``).

Two ways to run it, same tables, same insert (:func:`store_records`):

* in the service's process (``realtime.drain_process: false``): the records the log writer keeps in
  memory are turned into Arrow tables and inserted by the service's ``rt-drain`` thread;
* in a **drain worker process** (the default): every logged record is on disk in the write-ahead log
  already, so the worker reads the log range ``(stored_seq, logged_seq]`` itself
  (:class:`LogCursor`, which remembers where it stopped), builds the tables, inserts them, and
  answers the last seq it stored. The service keeps ``stored_seq``, releases log segments and evicts
  ids as before, and lends the store file to the worker for the drain (its units of work wait, as
  they waited for the drain thread). Building Arrow tables from Python records holds a GIL for
  ~6–8 µs per transaction: in the worker it is not the service's GIL, which the event loop and the
  compute stage need.

The worker is ``python -m filiere.realtime.drain``, spoken to over its stdin/stdout with
length-prefixed pickles (a trusted child of the service); it dies with its parent
(``PR_SET_PDEATHSIG``), and an unfinished store transaction then rolls back, like the thread's.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from filiere.errors import FiliereError

SOURCE = "realtime"
_LEN = struct.Struct("<I")


# ----------------------------------------------------------------------------- tables and insert
@contextlib.contextmanager
def _one_thread(store: Any) -> Iterator[None]:
    """DuckDB on the calling thread only while the drain inserts (the setting is restored after).

    On two cores shared with the service's own threads, DuckDB's parallel insert (index maintenance
    included) cost ~30 % more CPU for the same rows (12.9–14.2 against 8.2–12.3 µs/tx for 100,000
    rows into both tables, alternating runs, process CPU): the drain is not waited on, its CPU is
    what the other stages lose."""
    before = store.scalar("SELECT current_setting('threads')")
    store.execute("SET threads = 1")
    try:
        yield
    finally:
        store.execute(f"SET threads = {int(before)}")


def _insert_new(store: Any, table: str, data: pa.Table, order: str) -> None:
    """Insert the rows of ``data`` whose ``tx_id`` is not in ``table`` yet (and, of ids repeated inside
    ``data``, the first by ``order``).

    The usual case (no id stored already, none repeated) is a plain insert after one semi-join that
    counts collisions: DuckDB builds its hash table on the batch and scans the table's ``tx_id``
    column (0.5 µs/tx for 50,000 rows on a 900k-row table). Collisions (an id resubmitted beyond the
    retention window with another time, or already ingested from a file) take the anti-join path.
    Neither is INSERT OR IGNORE: with ``realtime_tx``'s two unique indexes DuckDB takes a per-row
    conflict path (5 s for 5,000 rows on a 90k-row table). The anti-join builds its hash table on the
    whole stored table (4–7 µs/tx at 50,000 rows on 900k, growing with the table), hence only when needed.
    """
    if data.num_rows == 0:
        return
    ids = data.column("tx_id")
    if pc.count_distinct(ids).as_py() == data.num_rows and not store.scalar(
        f"SELECT count(*) FROM {table} WHERE tx_id IN (SELECT unnest(?::VARCHAR[]))", [ids.to_pylist()]
    ):
        store.insert_arrow(table, data)
        return
    temp, cols = f"__rt_new_{table}", ", ".join(data.column_names)
    store.execute(f"CREATE TEMP TABLE IF NOT EXISTS {temp} AS SELECT * FROM {table} LIMIT 0")
    store.execute(f"DELETE FROM {temp}")
    store.insert_arrow(temp, data)
    store.execute(
        f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {temp} s "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE t.tx_id = s.tx_id) "
        f"QUALIFY row_number() OVER (PARTITION BY s.tx_id ORDER BY s.{order}) = 1"
    )
    store.execute(f"DELETE FROM {temp}")


_RECORD_HEAD = b'{"id":'


def _split_array(blob: bytes, head: bytes) -> pa.Array:
    """The text of each object of ``blob``, orjson's compact JSON array of objects that each begin
    with the key ``head`` names (``b'{"id":'``), split where one object ends and the next begins.

    Valid when no object nested in them begins with that key: orjson escapes every ``"`` inside a
    string, so ``,`` + ``head`` occurs only at those boundaries. C-level byte work, no Python object
    per element; the caller checks the count against what it expects."""
    parts = blob[1:-1].split(b"," + head)
    parts[0] = parts[0].removeprefix(head)
    body = pa.array(parts, pa.binary())
    return pc.binary_join_element_wise(pa.scalar(head, pa.binary()), body, b"").cast(pa.string())


def _json_each(recs: list[dict[str, Any]]) -> pa.Array:
    """The JSON text of each normalised record, as ``orjson.dumps`` of each would give it, from one
    ``orjson.dumps`` of the whole list (one call per record cost ~8x more: 4.2 against 0.5 µs/tx).

    Every record begins with the key ``id`` and none holds a nested object beginning with it
    (:func:`_split_array`). Anything else (a count that does not match) falls back to one call per
    record."""
    if not recs:
        return pa.array([], pa.string())
    blob = orjson.dumps(recs)
    if blob.startswith(b"[" + _RECORD_HEAD):
        texts = _split_array(blob, _RECORD_HEAD)
        if len(texts) == len(recs):
            return texts
    return pa.array(list(map(orjson.dumps, recs)), pa.binary()).cast(pa.string())


def _tables(batch: Sequence[dict[str, Any]]) -> tuple[pa.Table, pa.Table, list[tuple[Any, int]]]:
    """Arrow tables (realtime_tx, transactions) and alert records of logged records."""
    # columns by C-level maps over the records (no Python loop per field and transaction)
    txs = list(map(itemgetter("tx"), batch))
    ans = list(map(itemgetter("answer"), batch))

    def tcol(name: str, typ: pa.DataType) -> pa.Array:
        return pa.array(list(map(itemgetter(name), txs)), typ)

    def acol(name: str, typ: pa.DataType) -> pa.Array:
        return pa.array(list(map(itemgetter(name), ans)), typ)

    seq = pa.array(list(map(itemgetter("seq"), batch)), pa.int64())
    ts = tcol("ts", pa.int64()).cast(pa.timestamp("us"))
    ids = tcol("id", pa.string())
    dumps = orjson.dumps
    rt = pa.table(
        {
            "seq": seq,
            "tx_id": ids,
            "ts": ts,
            "effective_ts": pa.array(list(map(itemgetter("eff"), batch)), pa.int64()).cast(pa.timestamp("us")),
            "received_at": pa.array(list(map(itemgetter("at"), batch)), pa.int64()).cast(pa.timestamp("us")),
            "score": acol("score", pa.float64()),
            "decision": acol("decision", pa.string()),
            "model_version": acol("model_version", pa.string()),
            "reasons": pa.array([dumps(a["reasons"]) if a["reasons"] else None for a in ans], pa.binary()).cast(
                pa.string()
            ),
            "record": _json_each(txs),
        }
    )
    parties = [t.get("parties") for t in txs]
    tx = pa.table(
        {
            "tx_id": ids,
            "ts": ts,
            **{c: tcol(c, pa.string()) for c in ("from_bank", "from_account", "to_bank", "to_account")},
            "amount_received": tcol("amount_received", pa.float64()),
            "receiving_currency": tcol("receiving_currency", pa.string()),
            "amount_paid": tcol("amount_paid", pa.float64()),
            "payment_currency": tcol("payment_currency", pa.string()),
            "payment_format": tcol("payment_format", pa.string()),
            "source_file_id": pa.nulls(len(txs), pa.string()).fill_null(SOURCE),
            "source_row": seq,
            "properties": pa.array([dumps({"parties": p}) if p else None for p in parties], pa.binary()).cast(
                pa.string()
            ),
        }
    )
    flagged = pc.indices_nonzero(pc.not_equal(rt.column("decision"), "pass")).to_pylist()
    return rt, tx, _alert_records([batch[i] for i in flagged])


def _alert_records(flagged: Sequence[dict[str, Any]]) -> list[tuple[Any, int]]:
    """Alert records (and their seq) of logged records that alert or hold."""
    from filiere.cases.alerts import AlertRecord

    alerts: list[tuple[Any, int]] = []
    for r in flagged:
        t, a = r["tx"], r["answer"]
        hold = a["decision"] == "hold"
        sanctions = [x for x in a["reasons"] if x.get("kind") in ("sanctions", "crypto_address")]
        codes = ["SPOSI" if any(x.get("kind") == "sanctions" for x in sanctions) else "SPOSL"] if sanctions else []
        rec = AlertRecord(
            source=SOURCE,
            title=("Payment held: " if hold else "Real-time alert: ")
            + f"{t['amount_paid']:,.2f} {t['payment_currency']} {t['from_account']} → {t['to_account']}",
            score=1.0 if sanctions else float(a["score"] or 0.0),
            dedup_key=t["id"],
            typology="sanctions" if sanctions else None,
            severity="critical" if hold else None,
            indicator_codes=codes,
            tx_ids=[t["id"]],
            account_ids=[t["from_account"], t["to_account"]],
            explanation={"decision": a["decision"], "reasons": a["reasons"], "seq": r["seq"]},
            model_version=a["model_version"],
            event_ts=datetime.fromtimestamp(t["ts"] / 1e6, UTC).replace(tzinfo=None),
        )
        alerts.append((rec, int(r["seq"])))
    return alerts


def store_records(store: Any, batch: Sequence[dict[str, Any]]) -> None:
    """Insert logged records (in seq order) in one store transaction; those a previous attempt
    stored already (its answer lost) are skipped by seq."""
    if not batch:
        return
    from filiere.cases.alerts import insert_alerts

    rt, tx, alerts = _tables(batch)
    with _one_thread(store), store.transaction():
        done = int(store.scalar("SELECT coalesce(max(seq), 0) FROM realtime_tx") or 0)
        if done >= int(batch[-1]["seq"]):  # stored by a previous attempt whose answer was lost
            return
        if done >= int(batch[0]["seq"]):
            keep = pc.greater(rt.column("seq"), pa.scalar(done, pa.int64()))
            rt, tx = rt.filter(keep), tx.filter(keep)
            alerts = [(a, r) for a, r in alerts if r > done]
        _insert_new(store, "realtime_tx", rt, "seq")
        _insert_new(store, "transactions", tx, "source_row")
        if alerts:
            insert_alerts(store, [a for a, _ in alerts])


# ----------------------------------------------------------------------------- from the log's JSON text
#: the types of a log record's fields the store needs (``json_transform``); ``tx`` is kept as its text
_REC_TYPE = (
    '{"seq":"BIGINT","eff":"BIGINT","at":"BIGINT","tx":"JSON",'
    '"answer":{"score":"DOUBLE","decision":"VARCHAR","model_version":"VARCHAR","reasons":"JSON"}}'
)
_TX_TYPE = (
    '{"id":"VARCHAR","ts":"BIGINT","from_bank":"VARCHAR","from_account":"VARCHAR","to_bank":"VARCHAR",'
    '"to_account":"VARCHAR","amount_received":"DOUBLE","receiving_currency":"VARCHAR","amount_paid":"DOUBLE",'
    '"payment_currency":"VARCHAR","payment_format":"VARCHAR","parties":"JSON"}'
)
_RT_SQL = """
SELECT seq, t.id AS tx_id, make_timestamp(t.ts) AS ts, make_timestamp(eff) AS effective_ts,
       make_timestamp(at_us) AS received_at, answer.score AS score, answer.decision AS decision,
       answer.model_version AS model_version,
       CASE WHEN json_array_length(answer.reasons) > 0 THEN answer.reasons END AS reasons, record
FROM __rt_rec ORDER BY seq
"""
_TX_SQL = """
SELECT t.id AS tx_id, make_timestamp(t.ts) AS ts, t.from_bank, t.from_account, t.to_bank, t.to_account,
       t.amount_received, t.receiving_currency, t.amount_paid, t.payment_currency, t.payment_format,
       'realtime' AS source_file_id, seq AS source_row,
       CASE WHEN t.parties IS NOT NULL AND json_type(t.parties) = 'OBJECT' THEN '{"parties":' || t.parties || '}'
       END AS properties
FROM __rt_rec ORDER BY seq
"""


def store_log_texts(store: Any, texts: pa.ChunkedArray | pa.Array, first: int, last: int) -> None:
    """Insert the log records whose JSON texts are ``texts`` (seq ``first`` to ``last``, in order) in
    one store transaction, as :func:`store_records` does from Python records: DuckDB parses the
    JSON (``json_transform``) and builds the columns, no Python object per record. The ``record``
    column is DuckDB's compact JSON of the record (same keys in the same order, same values)."""
    if last < first:
        return
    from filiere.cases.alerts import insert_alerts

    with _one_thread(store), store.transaction():
        done = int(store.scalar("SELECT coalesce(max(seq), 0) FROM realtime_tx") or 0)
        if done >= last:  # stored by a previous attempt whose answer was lost
            return
        store.execute("CREATE TEMP TABLE IF NOT EXISTS __rt_src (j VARCHAR)")
        store.execute("DELETE FROM __rt_src")
        store.insert_arrow("__rt_src", pa.table({"j": texts}))
        store.execute(
            'CREATE OR REPLACE TEMP TABLE __rt_rec AS SELECT r.seq, r.eff, r."at" AS at_us, r.answer, '
            f"r.tx AS record, json_transform(r.tx, '{_TX_TYPE}') AS t, j "
            f"FROM (SELECT j, json_transform(j, '{_REC_TYPE}') AS r FROM __rt_src) WHERE r.seq > {int(done)}"
        )
        store.execute("DELETE FROM __rt_src")
        lo = max(done, first - 1)
        got = store.query("SELECT count(*), min(seq), max(seq), count(t.id), count(t.ts) FROM __rt_rec")[0]
        if tuple(got) != (last - lo, lo + 1, last, last - lo, last - lo):
            raise FiliereError(
                f"write-ahead log records {lo + 1}..{last}: read {got[0]} records with seq {got[1]}..{got[2]}"
                f" ({got[3]} with an id, {got[4]} with a time)"
            )
        rt = store.query_arrow(_RT_SQL)
        tx = store.query_arrow(_TX_SQL)
        flagged = [orjson.loads(r[0]) for r in store.query("SELECT j FROM __rt_rec WHERE answer.decision <> 'pass'")]
        store.execute("DROP TABLE __rt_rec")
        _insert_new(store, "realtime_tx", rt, "seq")
        _insert_new(store, "transactions", tx, "source_row")
        if flagged:
            insert_alerts(store, [a for a, _ in _alert_records(flagged)])


_REC = b'{"seq":'


def _texts(payload: bytes) -> tuple[int, pa.Array]:
    """The first seq of one log payload and the JSON text of each of its records.

    A group payload is orjson's compact JSON array of records that each begin with the key ``seq``;
    no object nested in a record begins with it (answers and transactions begin with ``id``, reasons
    with ``kind``): :func:`_split_array` applies. Anything else (an old single-record payload) is
    parsed and written again record by record."""
    if payload.startswith(b"[" + _REC) and payload.endswith(b"}]"):
        texts = _split_array(payload, _REC)
        head = payload[1 + len(_REC) :]
        return int(head[: head.index(b",")]), texts
    obj = orjson.loads(payload)
    recs = obj if isinstance(obj, list) else [obj]
    return int(recs[0]["seq"]), pa.array([orjson.dumps(r) for r in recs], pa.binary()).cast(pa.string())


class LogCursor:
    """Reads a growing write-ahead log forward, as the JSON text of each record: the records after a
    seq, remembering the segment and byte offset where it stopped, so each drain reads only what was
    appended since the last one.

    A record range the cursor cannot produce in order (segments it never saw, a restart of the
    service, anything unexpected) makes it read the log from its first segment again."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._first = -1  # first seq (file name) of the segment read last
        self._offset = 0
        #: (first seq, JSON texts) of consecutive runs of records
        self._chunks: list[tuple[int, pa.Array]] = []

    def _end(self) -> int:
        """The last seq held (or -1)."""
        if not self._chunks:
            return -1
        first, texts = self._chunks[-1]
        return first + len(texts) - 1

    def _skip(self, after: int) -> None:
        chunks = self._chunks
        k = 0
        while k < len(chunks) and chunks[k][0] + len(chunks[k][1]) - 1 <= after:
            k += 1
        del chunks[:k]
        if chunks and chunks[0][0] <= after:
            first, texts = chunks[0]
            chunks[0] = (after + 1, texts.slice(after + 1 - first))

    def _read_more(self) -> None:
        from filiere.realtime.wal import _payloads, _segments

        for first, path in _segments(self.folder):
            if first < self._first:
                continue
            start = self._offset if first == self._first else 0
            try:
                payloads, end = _payloads(path, start)
            except FileNotFoundError:  # released meanwhile: all of it stored
                continue
            for payload in payloads:
                seq, texts = _texts(payload)
                if self._chunks and seq != self._end() + 1:  # not the next record: keep the newest run
                    self._chunks.clear()
                self._chunks.append((seq, texts))
            self._first, self._offset = first, end

    def _has(self, after: int, upto: int) -> bool:
        return bool(self._chunks) and self._chunks[0][0] == after + 1 and self._end() >= upto

    def take(self, after: int, upto: int, limit: int) -> tuple[pa.ChunkedArray, int, int]:
        """The JSON texts of the records ``after < seq <= upto`` (the first ``limit`` of them, in seq
        order), with the first and last seq they hold."""
        empty = pa.chunked_array([], pa.string())
        if upto <= after:
            return empty, after + 1, after
        self._skip(after)
        if not self._has(after, upto):
            self._read_more()
            self._skip(after)
        if not self._has(after, upto):  # start again from the log's first segment
            self._first, self._offset, self._chunks = -1, 0, []
            self._read_more()
            self._skip(after)
        if not self._has(after, upto):
            have = f"{self._chunks[0][0]}..{self._end()}" if self._chunks else "nothing"
            raise FiliereError(f"write-ahead log {self.folder}: records {after + 1}..{upto} wanted, it holds {have}")
        want = min(limit, upto - after)
        out: list[pa.Array] = []
        n = 0
        for _, texts in self._chunks:
            if n >= want:
                break
            part = texts.slice(0, want - n)
            out.append(part)
            n += len(part)
        self._skip(after + want)
        return pa.chunked_array(out, pa.string()), after + 1, after + want


# ----------------------------------------------------------------------------- worker process
def _send(fh: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=5)
    fh.write(_LEN.pack(len(data)) + data)
    fh.flush()


def _recv(fh: IO[bytes]) -> Any:
    head = fh.read(_LEN.size)
    if len(head) < _LEN.size:
        return None
    (n,) = _LEN.unpack(head)
    data = fh.read(n)
    if len(data) < n:
        return None
    return pickle.loads(data)  # noqa: S301 - the service and its own child


class DrainWorker:
    """The service's handle on its drain worker process (started on first use, restarted if it died).

    Call :meth:`drain` from one thread at a time (the service's ``rt-drain`` thread), with the store
    file lent (no unit of work of this process holding it)."""

    def __init__(self, settings: Any, wal_folder: Path) -> None:
        self.settings = settings
        self.wal_folder = wal_folder
        self.proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def _start(self) -> subprocess.Popen[bytes]:
        import filiere

        src = str(Path(filiere.__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, *filter(None, [os.environ.get("PYTHONPATH")])])}
        proc = subprocess.Popen(
            [sys.executable, "-m", "filiere.realtime.drain", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )
        assert proc.stdin is not None
        _send(proc.stdin, (self.settings, str(self.wal_folder)))
        self.proc = proc
        self.starts += 1
        return proc

    def start(self) -> None:
        """Start the worker now (it imports its modules and reads the log while nothing waits on
        it), instead of on the first drain, which holds the store file lent meanwhile."""
        with self._lock:
            if self.proc is None or self.proc.poll() is not None:
                self._start()

    def drain(self, after: int, upto: int, limit: int) -> tuple[int, int]:
        """Store the logged records ``after < seq <= upto`` (at most ``limit``); returns the last seq
        stored and how many records were taken."""
        with self._lock:
            proc = self.proc if self.proc is not None and self.proc.poll() is None else self._start()
            assert proc.stdin is not None and proc.stdout is not None
            try:
                _send(proc.stdin, ("drain", after, upto, limit))
                reply = _recv(proc.stdout)
            except (BrokenPipeError, OSError) as exc:
                reply = None
                err = str(exc)
            else:
                err = "it exited"
            if reply is None:
                self._kill()
                raise FiliereError(f"real-time drain worker failed: {err}")
            if reply[0] != "ok":
                raise FiliereError(f"real-time drain worker: {reply[1]}")
            return int(reply[1]), int(reply[2])

    def _kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)

    def close(self, timeout_s: float = 30.0) -> None:
        """End the worker after its current drain (closing its stdin); killed after ``timeout_s``."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def _die_with_parent(parent: int) -> None:
    """SIGKILL this process when its parent dies (Linux; elsewhere the closed stdin ends it)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        libc.prctl(15, b"rt-drainproc", 0, 0, 0)  # PR_SET_NAME (top, the benchmark)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def worker_main(parent: int) -> None:
    _die_with_parent(parent)
    # the protocol owns the real stdout; anything printed goes to stderr
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    inp = sys.stdin.buffer
    hello = _recv(inp)
    if hello is None:
        return
    settings, folder = hello
    import filiere.cases.alerts  # noqa: F401 - imported before the first drain, not during it
    from filiere.store import open_store

    cursor = LogCursor(Path(folder))
    with contextlib.suppress(Exception):  # the log as it is now, read before the first drain asks
        cursor._read_more()
    while True:
        msg = _recv(inp)
        if msg is None:
            return
        try:
            _, after, upto, limit = msg
            texts, first, last = cursor.take(int(after), int(upto), int(limit))
            if last >= first:
                with open_store(settings) as store:
                    store_log_texts(store, texts, first, last)
            reply: tuple[Any, ...] = ("ok", last, last - first + 1)
        except Exception as exc:  # the service logs it and retries; the log keeps everything
            cursor = LogCursor(Path(folder))
            reply = ("error", f"{type(exc).__name__}: {exc}")
        _send(out, reply)


if __name__ == "__main__":
    worker_main(int(sys.argv[1]) if len(sys.argv) > 1 else os.getppid())
