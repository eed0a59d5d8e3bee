"""The real-time scoring service: validate → screen → stream features → score → log → answer → store.

Pipeline (one asyncio event loop, two single-thread executors, so ordering is total):

1. a request's records join the pending list (bounded: over ``max_in_flight`` the caller gets 503);
2. the *compute* stage takes all pending records (up to ``max_batch``) as one micro-batch: screening
   (cached per name), online features (:class:`filiere.realtime.features.OnlineFeatures`), one model
   prediction per micro-batch, decisions and reasons; it assigns sequence numbers;
3. the *log* stage appends every computed micro-batch waiting for it in one write with one fsync
   (group commit) — while it waits on the disk the compute stage already works on the next batch;
4. only then are the callers answered; alerts go to the live stream (SSE subscribers);
5. a *drain* task copies logged records into the store in batches (one store transaction each:
   ``realtime_tx`` + ``transactions`` + ``alerts``); ``max(realtime_tx.seq)`` is the checkpoint and
   log segments below it are deleted.

On start, the streaming state is rebuilt by replaying the workspace's history (optional), the
stored real-time records and the log records above the checkpoint (which are also drained). A
duplicate id is answered with the first answer, whether it is in flight, logged or stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import logging
import os
import pickle
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict

from filiere.config import Settings
from filiere.errors import FiliereError
from filiere.realtime.drain import DrainWorker, store_records
from filiere.realtime.features import PROPAGATED_FEATURES, ModelColumns, OnlineFeatures
from filiere.realtime.schemas import us_to_datetime
from filiere.realtime.trees import compile_booster
from filiere.realtime.wal import WriteAheadLog

log = logging.getLogger(__name__)

SOURCE = "realtime"
_get_id, _get_ts, _get_seq, _get_eff = itemgetter("id"), itemgetter("ts"), itemgetter("seq"), itemgetter("eff")
_get_tx = itemgetter("tx")
DECISIONS = ("pass", "alert", "hold")


class OverloadedError(FiliereError):
    """Too much in flight: the caller should retry after ``retry_after`` seconds."""

    status_code = 503

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RealtimeConfig(BaseModel):
    """The ``realtime:`` section of the workspace's ``filiere.yml``."""

    model_config = ConfigDict(extra="forbid")

    #: transactions accepted but not yet answered; beyond it new requests get 503
    max_in_flight: int = 20_000
    #: records per compute micro-batch
    max_batch: int = 2048
    #: transactions per request (batch body)
    max_request_tx: int = 1000
    #: logged records not yet in the store; beyond it new requests get 503 (the store is behind)
    max_backlog: int = 500_000
    #: seconds between two drains (each opens the store, inserts, and lets it close and checkpoint:
    #: ~0.1-0.2 s CPU per drain whatever its size, so fewer, larger drains cost less per transaction)
    drain_interval_s: float = 5.0
    #: records per drain (one store transaction); a drain also wakes when this many wait
    drain_batch: int = 200_000
    #: drain in a worker process that reads the log itself (else in a thread of the service, from
    #: the records kept in memory): the Arrow building no longer holds the service's GIL
    drain_process: bool = True
    segment_mb: int = 64
    fsync: bool = True
    #: model probability from which a transaction alerts (default: the model's own threshold)
    alert_threshold: float | None = None
    #: model probability from which a transaction is held (default: never on score alone)
    hold_threshold: float | None = None
    #: screen party names and crypto addresses; a listed match holds the payment
    screening: bool = True
    #: replay the workspace's stored transactions into the streaming state on start
    warm_start: bool = True
    #: seconds between checks of ``models/current.json`` (0: reload only through the API)
    watch_model_s: float = 2.0
    #: seconds an authenticated token is trusted without looking it up again
    auth_cache_s: float = 5.0
    #: start with the server (else on the first real-time request, or when a log exists)
    autostart: bool = False
    retry_after_s: int = 1
    #: days (of transaction time) after which an idle account's or pair's counters, and a
    #: transaction id in the in-memory duplicate index, are forgotten (ids stay in the store)
    retention_days: float = 400.0
    #: transactions between two snapshots of the streaming state (0: never)
    snapshot_every: int = 100_000
    #: seconds between two snapshots while transactions arrive (0: only every ``snapshot_every``)
    snapshot_interval_s: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RealtimeConfig:
        return cls(**settings.area("realtime"))


@dataclass(slots=True)
class Pending:
    """The new transactions of one request, answered together (one future for the request)."""

    recs: list[dict[str, Any]]
    future: asyncio.Future[list[dict[str, Any]]]
    want_features: bool = False


#: where an in-flight transaction's answer will be: its request's future and its index there
_Ref = tuple[asyncio.Future[list[dict[str, Any]]], int]


@dataclass(slots=True)
class Computed:
    items: list[Pending]
    records: list[dict[str, Any]]
    answers: list[dict[str, Any]]
    features: list[dict[str, float]] = field(default_factory=list)
    #: indices of the answers that alert or hold
    flagged: list[int] = field(default_factory=list)


class Scorer:
    """A loaded model with its boosters compiled (:mod:`filiere.realtime.trees`) and the column maps
    from the online feature matrices to each booster's input; swapped as a whole on reload."""

    def __init__(self, model: Any, online_index: dict[str, int]) -> None:
        self.model = model
        self.version: str = model.version
        self.threshold: float = float(model.threshold)
        self.stage2 = compile_booster(model.booster)
        self.stage1 = compile_booster(model.stage1) if model.stage1 is not None else None
        self.cols2 = ModelColumns(model.feature_names, online_index)
        self.cols1 = ModelColumns(model.stage1_names, online_index) if model.stage1 is not None else None

    def first_stage(self, F: np.ndarray) -> np.ndarray | None:
        if self.model.stage1 is None or self.cols1 is None:
            return None
        X1 = self.cols1.build(F)
        if self.stage1 is not None:
            return self.stage1.predict(X1)
        return np.asarray(self.model.stage1.predict(X1, num_threads=1), dtype=np.float64)

    def explain(self, X: np.ndarray, top: int = 5) -> list[list[Any]]:
        """The model's top positive contributions (TreeSHAP) of each row of ``X``, as
        ``model.explain_matrix`` gives them, computed on one thread by the compiled trees
        (:meth:`CompiledBooster.contrib`, the same numbers as LightGBM's ``pred_contrib`` without its
        per-call Python overhead); LightGBM's own on one thread when not compiled (its
        OpenMP threads cost 7–8 ms CPU per call for a few rows on a busy 2-core machine)."""
        from filiere.scoring.model import Contribution

        if X.shape[0] == 0:
            return []
        if self.stage2 is not None and self.stage2.can_explain:  # compiled TreeSHAP: LightGBM's own numbers
            contrib = self.stage2.contrib(X)
        else:
            contrib = np.asarray(self.model.booster.predict(X, pred_contrib=True, num_threads=1), dtype=np.float64)
        contrib = contrib[:, :-1]
        names, docs = self.model.feature_names, self.model.docs
        out: list[list[Any]] = []
        for i, order in enumerate(np.argsort(-contrib, axis=1)[:, :top].tolist()):
            items = []
            for j in order:
                c = float(contrib[i, j])
                if c <= 0:
                    break
                v = X[i, j]
                items.append(Contribution(names[j], None if np.isnan(v) else float(v), c, docs.get(names[j], names[j])))
            out.append(items)
        return out

    def score(self, F: np.ndarray, P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X = self.cols2.build(F, P)
        if self.stage2 is not None:
            return X, self.stage2.predict(X)
        return X, np.asarray(self.model.booster.predict(X, num_threads=1), dtype=np.float64)


SNAPSHOT_VERSION = 1
#: young-generation threshold of the cyclic GC while the service runs (see ``ensure_started``)
_GC_YOUNG = 50_000
#: below this many waiting requests the processor lets the event loop turn twice before taking them
_LINGER_BELOW = 64


class AlertBroker:
    """Fan-out of alert events to live subscribers (bounded queues; a slow one loses events)."""

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self.subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self.dropped = 0

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self.size)
        self.subscribers.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[dict[str, Any]]) -> None:
        self.subscribers.discard(q)

    def publish(self, event: dict[str, Any]) -> None:
        for q in self.subscribers:
            try:
                q.put_nowait(event)
            except asyncio.QueueFull:
                self.dropped += 1


def _os_thread_name(name: str) -> None:
    """Name the calling thread for the OS too (``/proc/PID/task/TID/comm``, top -H): the benchmark
    reads each stage's CPU time from there. Linux only; elsewhere nothing happens."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


def _executor(name: str) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(1, thread_name_prefix=name, initializer=_os_thread_name, initargs=(name,))


def alert_id(tx_id: str) -> str:
    from filiere.cases.alerts import AlertRecord

    return AlertRecord(source=SOURCE, title="", score=0.0, dedup_key=tx_id).alert_id


def _now_us() -> int:
    return int(time.time() * 1_000_000)


class RealtimeService:
    """One per server process and workspace. ``gate`` lends the store (see :class:`StoreGate`)."""

    def __init__(self, settings: Settings, gate: Any, config: RealtimeConfig | None = None) -> None:
        self.settings = settings
        self.gate = gate
        self.config = config or RealtimeConfig.from_settings(settings)
        self.folder = Path(settings.workspace) / "realtime"
        self.wal = WriteAheadLog(
            self.folder / "wal", segment_bytes=self.config.segment_mb << 20, fsync=self.config.fsync
        )
        self.broker = AlertBroker()
        self.model: Any = None
        self.scorer: Scorer | None = None
        self.model_mtime: float | None = None
        self.screener: Any = None
        self.features: OnlineFeatures | None = None
        self.seq = 0
        self.stored_seq = 0
        self.logged_seq = 0
        #: duplicate index: id -> seq of every id whose effective time is within the retention window
        self.seen: dict[str, int] = {}
        self._seen_order: deque[tuple[int, int, str]] = deque()  # (effective µs, seq, id), in seq order
        #: ids of transactions at or before this time (µs) may have left ``seen``: asked of the store
        self.id_horizon_us = -(2**62)
        self.snapshot_path = self.folder / "state.snapshot"
        self._snap_seq = 0
        self._snap_at = time.monotonic()
        self._snap_pending: tuple[int, bytes] | None = None
        self.recent: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.recent_size = max(200_000, self.config.max_backlog + self.config.max_in_flight)
        self.inflight: dict[str, _Ref] = {}
        self.in_flight = 0
        self.pending: list[Pending] = []
        #: logged records not stored yet, kept in memory only when the service drains them itself
        self.backlog: list[dict[str, Any]] = []
        self._worker = DrainWorker(settings, self.folder / "wal") if self.config.drain_process else None
        self.started = False
        self.broken: str | None = None
        self.stats: dict[str, Any] = {
            "accepted": 0, "duplicates": 0, "rejected_overload": 0, "alerts": 0, "holds": 0, "micro_batches": 0,
        }  # fmt: skip
        self._screen_cache: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._start_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._drain_wake = asyncio.Event()
        self._wal_q: asyncio.Queue[Computed | None] = asyncio.Queue()
        #: set each time the log writer takes computed batches from its queue
        self._log_took = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._cpu = _executor("rt-compute")
        self._io = _executor("rt-log")
        self._db = _executor("rt-drain")
        self._snap_ex = _executor("rt-snapshot")
        self._stopping = False

    # ------------------------------------------------------------------------------ life cycle
    def has_log(self) -> bool:
        return any((self.folder / "wal").glob("seg-*.wal"))

    async def ensure_started(self) -> None:
        if self.started:
            return
        async with self._start_lock:
            if self.started:
                return
            loop = asyncio.get_running_loop()
            t0 = time.perf_counter()
            await loop.run_in_executor(self._cpu, self._recover)
            self.stats["recovery_s"] = round(time.perf_counter() - t0, 3)
            # what exists now (modules, the model, the recovered state) lives as long as the process:
            # out of the cyclic GC's reach, a full collection no longer walks it (0.3 s each, measured
            # at 165k objects, a pause every request in flight waits for)
            gc.collect()
            gc.freeze()
            # Then collect the young generation only every _GC_YOUNG net new container objects, not
            # every 700: each transaction leaves ~3 until the drain stores it (its log record, the
            # record, the answer), so with the default thresholds the collector ran every ~250
            # transactions and, every few, walked the whole backlog (measured by py-spy --native under
            # batches of 100: gc_collect_main was ~20 % of the compute thread's CPU). Garbage cycles
            # are still collected (young collections find them); only the rare full collection waits.
            g0, g1, g2 = gc.get_threshold()
            gc.set_threshold(max(g0, _GC_YOUNG), max(g1, 20), max(g2, 100))
            # a fresh context: the tasks outlive the request that may have started them
            loops = [self._processor(), self._log_writer(), self._drainer()]
            if self.config.watch_model_s > 0:
                loops.append(self._watch_model())
            self._tasks = [asyncio.create_task(c, context=contextvars.Context()) for c in loops]
            if self._worker is not None:
                self._worker.start()
            self.started = True
            log.info("real-time service ready in %.2f s (seq %d)", self.stats["recovery_s"], self.seq)

    async def stop(self) -> None:
        """Answer what is pending, drain the log into the store, close."""
        if not self.started:
            self._shutdown_pools()
            return
        self._stopping = True
        self._wake.set()
        deadline = time.monotonic() + 30
        while (self.pending or self.in_flight) and time.monotonic() < deadline and not self.broken:
            await asyncio.sleep(0.01)
        await self._wal_q.put(None)
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        loop = asyncio.get_running_loop()
        with contextlib.suppress(Exception):
            while self.backlog_n:
                if not await loop.run_in_executor(self._db, self._drain_once):
                    break
        if self.features is not None and self.config.snapshot_every > 0 and self.seq != self._snap_seq:
            with contextlib.suppress(Exception):  # a restart then replays more, nothing is lost
                self._write_snapshot(self.seq, self._snapshot_bytes())  # every record is logged by now
        self.wal.close()
        self._shutdown_pools()
        self.started = False

    def _shutdown_pools(self) -> None:
        for ex in (self._cpu, self._io, self._db, self._snap_ex):
            ex.shutdown(wait=False)
        if self._worker is not None:
            self._worker.close()

    @property
    def backlog_n(self) -> int:
        """Logged records not in the store yet (sequence numbers have no gaps)."""
        return self.logged_seq - self.stored_seq

    # ------------------------------------------------------------------------------ recovery
    def _load_model(self) -> None:
        from filiere.scoring.model import CURRENT_FILE, load_current_model, models_dir

        cur = models_dir(self.settings) / CURRENT_FILE
        try:
            mtime = cur.stat().st_mtime if cur.exists() else None
            model = load_current_model(self.settings) if mtime is not None else None
        except FiliereError as exc:
            log.warning("no model loaded: %s", exc)
            model, mtime = None, None
        online = OnlineFeatures.feature_index()
        self.scorer = Scorer(model, online) if model is not None else None
        self.model = model
        self.model_mtime = mtime

    def _load_screener(self, store: Any) -> None:
        if not self.config.screening:
            return
        from filiere.screening.service import get_screener

        try:
            self.screener = get_screener(self.settings, store)
        except Exception as exc:  # no list loaded yet, or a screening bug: score without it
            log.warning("screening disabled: %s", exc)
            self.screener = None
        self._screen_cache.clear()

    def _new_state(self) -> OnlineFeatures:
        return OnlineFeatures(retention_days=self.config.retention_days)

    def _state_key(self) -> str:
        return f"v{SNAPSHOT_VERSION} retention={self.config.retention_days} warm={self.config.warm_start}"

    def _load_snapshot(self, durable_seq: int) -> tuple[int, OnlineFeatures] | None:
        """The saved streaming state and the seq it covers, when usable (same settings, covers no
        more than the log and the store hold)."""
        try:
            with self.snapshot_path.open("rb") as fh:
                # the service's own file in the workspace (as trusted as the store next to it)
                meta = pickle.load(fh)  # noqa: S301
                if meta.get("key") != self._state_key() or int(meta["seq"]) > durable_seq:
                    log.warning("snapshot ignored (settings changed or ahead of the log): %s", meta)
                    return None
                state = pickle.load(fh)  # noqa: S301
        except FileNotFoundError:
            return None
        except Exception as exc:  # a damaged snapshot: replay everything instead
            log.warning("snapshot unreadable, full replay: %s", exc)
            return None
        if not isinstance(state, OnlineFeatures):
            return None
        return int(meta["seq"]), state

    def _snapshot_bytes(self) -> bytes:
        """The state now (call in the compute thread, between micro-batches)."""
        assert self.features is not None
        meta = {"key": self._state_key(), "seq": self.seq, "count": self.features.count, "at": time.time()}
        return pickle.dumps(meta, protocol=5) + pickle.dumps(self.features, protocol=5)

    def _write_snapshot(self, seq: int, blob: bytes) -> None:
        tmp = self.snapshot_path.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            fh.write(blob)
            fh.flush()
            if self.config.fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, self.snapshot_path)
        if self.config.fsync:
            dfd = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        self.stats["snapshot_seq"] = seq
        self.stats["snapshot_mb"] = round(len(blob) / 2**20, 1)

    def _recover(self) -> None:
        """Rebuild the streaming state, the duplicate index and the backlog (runs in the compute thread).

        The state comes from the latest snapshot (if any) plus the records after it (stored ones, then
        the log's tail); without a snapshot, from the workspace's history and every record.
        """
        self._load_model()
        wal_records = self.wal.open()
        with self.gate.unit_of_work() as store:
            self._load_screener(store)
            self.stored_seq = int(store.scalar("SELECT coalesce(max(seq), 0) FROM realtime_tx") or 0)
            last_eff = store.scalar("SELECT epoch_us(max(effective_ts)) FROM realtime_tx")
            horizon = (int(last_eff) - int(self.config.retention_days * 86_400e6)) if last_eff is not None else None
            ids = store.query_arrow(
                "SELECT tx_id, seq, epoch_us(effective_ts) AS eff FROM realtime_tx "
                "WHERE epoch_us(effective_ts) >= ? ORDER BY seq",
                [horizon if horizon is not None else -(2**62)],
            )
            durable = max(self.stored_seq, int(wal_records[-1]["seq"]) if wal_records else 0)
            snap = self._load_snapshot(durable)
            from_seq = 0
            history = None
            if snap is not None:
                from_seq, self.features = snap
            else:
                self.features = self._new_state()
                history = store.query_arrow(HISTORY_SQL) if self.config.warm_start else None
            stored = store.query_arrow("SELECT record FROM realtime_tx WHERE seq > ? ORDER BY seq", [from_seq])
        if horizon is not None:
            self.id_horizon_us = horizon
        id_list = ids.column("tx_id").to_pylist()
        seq_list = ids.column("seq").to_pylist()
        self.seen = dict(zip(id_list, seq_list, strict=True))
        self._seen_order = deque(zip(ids.column("eff").to_pylist(), seq_list, id_list, strict=True))
        count0 = self.features.count
        if history is not None:
            for chunk in history.to_batches(8192):
                self._replay(chunk.to_pylist())
        for chunk in stored.to_batches(8192):
            self._replay([orjson.loads(r) for r in chunk.column(0).to_pylist()])
        tail = [r for r in wal_records if int(r["seq"]) > self.stored_seq]
        for i in range(0, len(tail), 8192):
            part = tail[i : i + 8192]
            self._replay([r["tx"] for r in part if int(r["seq"]) > from_seq])
            for r in part:
                tid = r["tx"]["id"]
                self.seen[tid] = int(r["seq"])
                self._seen_order.append((int(r["eff"]), int(r["seq"]), tid))
                self._remember(tid, r["answer"])
        self.backlog = tail if self._worker is None else []  # the worker reads them from the log
        self.seq = durable
        self.logged_seq = durable
        self.stats["replayed"] = self.features.count - count0
        self.stats["snapshot_used"] = from_seq if snap is not None else None
        if self.config.snapshot_every > 0 and (snap is None or self.features.count > count0):
            blob = self._snapshot_bytes()  # everything in it is durable already
            self._snap_seq = self.seq
            self._snap_ex.submit(self._write_snapshot, self.seq, blob)

    def _replay(self, recs: list[dict[str, Any]]) -> None:
        assert self.features is not None
        if not recs:
            return
        _, F = self.features.step_many(recs)
        sc = self.scorer
        p1 = sc.first_stage(F) if sc is not None else None
        self.features.propagate_many(recs, p1)

    # ------------------------------------------------------------------------------ submission
    def _remember(self, tx_id: str, answer: dict[str, Any]) -> None:
        self.recent[tx_id] = answer
        if len(self.recent) > self.recent_size:
            self.recent.popitem(last=False)

    async def submit(self, recs: Sequence[dict[str, Any]], want_features: bool = False) -> list[dict[str, Any]]:
        """Answers for ``recs`` (in order), each durable in the log before this returns."""
        await self.ensure_started()
        if self.broken:
            raise OverloadedError(f"real-time service unavailable: {self.broken}", 30)
        loop = asyncio.get_running_loop()
        seen, inflight = self.seen, self.inflight
        ids = list(map(_get_id, recs))
        n = len(ids)
        # the usual case, checked by C-level set operations: every id new (not indexed, not in flight,
        # not repeated inside the request) and every time after the horizon of the in-memory index
        if (
            n
            and seen.keys().isdisjoint(ids)
            and inflight.keys().isdisjoint(ids)
            and len(set(ids)) == n
            and min(map(_get_ts, recs)) > self.id_horizon_us
        ):
            self._admit(n)
            fut: asyncio.Future[list[dict[str, Any]]] = loop.create_future()
            inflight.update(zip(ids, zip(repeat(fut), range(n), strict=False), strict=True))
            self._enqueue(list(recs), fut, want_features)
            return await fut
        fresh = sum(1 for tid in ids if tid not in seen and tid not in inflight)
        if fresh:
            self._admit(fresh)
        horizon = self.id_horizon_us
        old = [r["id"] for r in recs if r["ts"] <= horizon and r["id"] not in seen and r["id"] not in inflight]
        in_store: set[str] = set()
        if old:  # beyond the retention window the store is the duplicate index
            in_store = await loop.run_in_executor(self._db, self._stored_ids, old)
        fut = loop.create_future()
        mine: list[dict[str, Any]] = []
        refs: list[_Ref | dict[str, Any]] = []  # per record: where its answer is, or the answer
        dup: list[bool] = []
        for rec in recs:
            tid = rec["id"]
            if tid in seen or tid in in_store:
                refs.append(await self._stored_answer(tid))
                dup.append(True)
            elif tid in inflight:
                refs.append(inflight[tid])
                dup.append(True)
            else:
                ref = (fut, len(mine))
                inflight[tid] = ref
                mine.append(rec)
                refs.append(ref)
                dup.append(False)
        self.stats["duplicates"] += len(recs) - len(mine)
        if mine:
            self._enqueue(mine, fut, want_features)
        out = []
        for item, d in zip(refs, dup, strict=True):
            ans = (await item[0])[item[1]] if isinstance(item, tuple) else item
            out.append({**ans, "duplicate": True} if d else ans)
        return out

    def _admit(self, fresh: int) -> None:
        """Refuse ``fresh`` new transactions (503) when over the in-flight or backlog bounds."""
        if self.in_flight + fresh > self.config.max_in_flight or self.backlog_n > self.config.max_backlog:
            self.stats["rejected_overload"] += fresh
            raise OverloadedError(
                f"overloaded: {self.in_flight} transactions in flight, {self.backlog_n} waiting for the store",
                self.config.retry_after_s,
            )

    def _enqueue(self, mine: list[dict[str, Any]], fut: asyncio.Future[list[dict[str, Any]]], want: bool) -> None:
        self.stats["accepted"] += len(mine)
        self.pending.append(Pending(mine, fut, want))
        self.in_flight += len(mine)
        self._wake.set()

    def _stored_ids(self, ids: list[str]) -> set[str]:
        with self.gate.unit_of_work() as store:
            rows = store.query("SELECT tx_id FROM realtime_tx WHERE tx_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
        return {r[0] for r in rows}

    async def _stored_answer(self, tx_id: str) -> dict[str, Any]:
        ans = self.recent.get(tx_id)
        if ans is not None:
            return ans
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db, self._answer_from_store, tx_id)

    def _answer_from_store(self, tx_id: str) -> dict[str, Any]:
        with self.gate.unit_of_work() as store:
            rows = store.query(
                "SELECT seq, score, decision, model_version, reasons FROM realtime_tx WHERE tx_id = ?", [tx_id]
            )
        if not rows:
            raise FiliereError(f"transaction {tx_id!r} is indexed but not stored")
        seq, score, decision, version, reasons = rows[0]
        return {
            "id": tx_id,
            "seq": int(seq),
            "decision": decision,
            "score": score,
            "model_version": version,
            "alert_id": alert_id(tx_id) if decision != "pass" else None,
            "reasons": orjson.loads(reasons) if reasons else [],
        }

    # ------------------------------------------------------------------------------ pipeline
    async def _processor(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.pending:
                # one computed batch waits for the log at most: what arrives meanwhile joins the next
                # batch (fewer, larger micro-batches under load; the group commit is the same)
                while not self._wal_q.empty():
                    self._log_took.clear()
                    await self._log_took.wait()
                if len(self.pending) < _LINGER_BELOW:
                    # two turns of the event loop: requests whose bytes have arrived are read (one
                    # turn) and reach ``submit`` (the next) before the batch is taken
                    await asyncio.sleep(0)
                    await asyncio.sleep(0)
                k, n = 0, 0
                pending = self.pending
                while k < len(pending) and n < self.config.max_batch:
                    n += len(pending[k].recs)
                    k += 1
                items = pending[:k]
                del pending[:k]
                self.stats["micro_batches"] += 1
                try:
                    computed = await loop.run_in_executor(self._cpu, self._compute, items)
                except Exception as exc:  # the streaming state may be half-updated: stop taking work
                    log.exception("real-time compute failed")
                    self.broken = f"scoring failed: {exc}"
                    self._fail(items, exc)
                    continue
                await self._wal_q.put(computed)

    def _fail(self, items: Sequence[Pending], exc: Exception) -> None:
        err = OverloadedError(f"real-time service unavailable: {exc}", 30)
        for p in items:
            for rec in p.recs:
                self.inflight.pop(rec["id"], None)
            self.in_flight -= len(p.recs)
            if not p.future.done():
                p.future.set_exception(err)

    async def _log_writer(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            first = await self._wal_q.get()
            if first is None:
                return
            groups = [first]
            while not self._wal_q.empty():
                nxt = self._wal_q.get_nowait()
                if nxt is None:
                    break
                groups.append(nxt)
            self._log_took.set()
            records = [r for g in groups for r in g.records]
            try:
                await loop.run_in_executor(self._io, self.wal.append, records)
            except Exception as exc:  # disk full or gone: nothing more can be acknowledged
                log.exception("write-ahead log append failed")
                self.broken = f"write-ahead log failed: {exc}"
                for g in groups:
                    self._fail(g.items, exc)
                continue
            if self._worker is None:
                self.backlog.extend(records)
            self.logged_seq = int(records[-1]["seq"])
            self._seen_order.extend(
                zip(map(_get_eff, records), map(_get_seq, records), map(_get_id, map(_get_tx, records)), strict=True)
            )
            snap = self._snap_pending
            if snap is not None and snap[0] <= self.logged_seq:  # the snapshot covers only logged records
                self._snap_pending = None
                self._snap_ex.submit(self._write_snapshot, *snap)
            seen, recent, inflight = self.seen, self.recent, self.inflight
            for g in groups:
                answers = g.answers
                ids = list(map(_get_id, answers))
                seen.update(zip(ids, map(_get_seq, answers), strict=True))
                recent.update(zip(ids, answers, strict=True))
                deque(map(inflight.pop, ids, repeat(None)), maxlen=0)
                self.in_flight -= len(ids)
                pos = 0
                for p in g.items:
                    k = len(p.recs)
                    res = answers[pos : pos + k]
                    if p.want_features:
                        res = [{**a, "features": f} for a, f in zip(res, g.features[pos : pos + k], strict=True)]
                    pos += k
                    if not p.future.done():
                        p.future.set_result(res)
                for i in g.flagged:
                    ans = answers[i]
                    self.stats["holds" if ans["decision"] == "hold" else "alerts"] += 1
                    self.broker.publish(_event(g.records[i]["tx"], ans))
            while len(recent) > self.recent_size:
                recent.popitem(last=False)
            if self.backlog_n >= self.config.drain_batch:
                self._drain_wake.set()

    def _screen(self, rec: dict[str, Any]) -> list[dict[str, Any]]:
        parties = rec.get("parties")
        if not parties or self.screener is None:
            return []
        hits: list[dict[str, Any]] = []
        for side, party in parties.items():
            name = party.get("name")
            if name:
                key = (name, party.get("schema") or "")
                found = self._screen_cache.get(key)
                if found is None:
                    ms = self.screener.screen(name, schema=party.get("schema"), limit=3)
                    found = [
                        {"entity_id": m.entity_id, "list": m.list_id, "caption": m.caption, "score": round(m.score, 4),
                         "programs": m.programs}
                        for m in ms if m.match
                    ]  # fmt: skip
                    if len(self._screen_cache) > 100_000:
                        self._screen_cache.clear()
                    self._screen_cache[key] = found
                hits += [{"kind": "sanctions", "side": side, "name": name, **h} for h in found]
            for addr in party.get("crypto") or ():
                for m in self.screener.screen_address(addr):
                    hits.append(
                        {"kind": "crypto_address", "side": side, "address": addr, "entity_id": m.entity_id,
                         "list": m.list_id, "caption": m.caption, "score": 1.0}
                    )  # fmt: skip
        return hits

    def _compute(self, items: list[Pending]) -> Computed:
        assert self.features is not None
        sc = self.scorer
        recs = [r for p in items for r in p.recs]
        n = len(recs)
        received = _now_us()
        eff, F = self.features.step_many(recs)
        scores: list[float | None]
        over = np.zeros(n, dtype=bool)
        held = np.zeros(n, dtype=bool)
        X: np.ndarray | None = None
        cfg = self.config
        thr = cfg.alert_threshold if cfg.alert_threshold is not None else (sc.threshold if sc else None)
        hold = cfg.hold_threshold
        if sc is not None:
            P = self.features.propagate_many(recs, sc.first_stage(F))
            X, s_arr = sc.score(F, P)
            scores = [round(x, 6) for x in s_arr.tolist()]
            if thr is not None:
                over = s_arr >= thr
            if hold is not None:
                held = s_arr >= hold
        else:
            P = self.features.propagate_many(recs, None)
            scores = [None] * n
        version = sc.version if sc is not None else None
        screened: dict[int, list[dict[str, Any]]] = {}
        if cfg.screening and self.screener is not None:
            for i, rec in enumerate(recs):
                if rec.get("parties"):
                    hits = self._screen(rec)
                    if hits:
                        screened[i] = hits
        decisions = ["pass"] * n
        flagged = sorted({*np.flatnonzero(over | held).tolist(), *screened})
        for i in flagged:
            decisions[i] = "hold" if i in screened or held[i] else "alert"
        seq = self.seq
        ids = [r["id"] for r in recs]
        # "reasons": () rather than []: a dict holding only atomic values and the empty tuple is not
        # tracked by the cyclic GC, and the answers stay in memory (``recent``, up to 520k of them);
        # with lists, each full collection walked every one of them (a 0.3 s pause measured)
        answers: list[dict[str, Any]] = [
            {"id": tid, "seq": q, "decision": d, "score": sco, "model_version": version, "alert_id": None,
             "reasons": ()}
            for tid, q, d, sco in zip(ids, range(seq + 1, seq + n + 1), decisions, scores, strict=True)
        ]  # fmt: skip
        for i in flagged:
            answers[i]["alert_id"] = alert_id(ids[i])
            answers[i]["reasons"] = screened.get(i, ())
        explain_rows = np.flatnonzero(over).tolist()
        seq += n
        self.seq = seq
        if explain_rows and sc is not None and X is not None:
            for i, contribs in zip(explain_rows, sc.explain(X[explain_rows], top=5), strict=True):
                answers[i]["reasons"] = [
                    *answers[i]["reasons"],
                    {"kind": "model", "threshold": round(float(thr or 0.0), 6),
                     "features": [c.as_dict() for c in contribs]},
                ]  # fmt: skip
        records = [
            {"seq": ans["seq"], "eff": e, "at": received, "tx": rec, "answer": ans}
            for rec, e, ans in zip(recs, eff.tolist(), answers, strict=True)
        ]
        out_feats: list[dict[str, float]] = []
        if any(p.want_features for p in items):
            names = [*self.features.names, *PROPAGATED_FEATURES]
            full = np.hstack([F, P])
            out_feats = [dict(zip(names, row, strict=True)) for row in full.tolist()]
        self._maybe_snapshot()
        return Computed(items, records, answers, out_feats, flagged)

    def _maybe_snapshot(self) -> None:
        cfg = self.config
        if cfg.snapshot_every <= 0 or self.seq == self._snap_seq:
            return
        due = self.seq - self._snap_seq >= cfg.snapshot_every or (
            cfg.snapshot_interval_s > 0 and time.monotonic() - self._snap_at >= cfg.snapshot_interval_s
        )
        if due:
            self._snap_pending = (self.seq, self._snapshot_bytes())
            self._snap_seq = self.seq
            self._snap_at = time.monotonic()

    # ------------------------------------------------------------------------------ drain
    async def _drainer(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drain_wake.wait(), self.config.drain_interval_s)
            self._drain_wake.clear()
            if not self.backlog_n:
                continue
            try:
                await loop.run_in_executor(self._db, self._drain_once)
                self._evict_ids()
            except Exception as exc:  # store locked by a command, disk… the log keeps everything
                log.warning("real-time drain postponed: %s", exc)
                self.stats["drain_errors"] = self.stats.get("drain_errors", 0) + 1
                await asyncio.sleep(1.0)

    def _evict_ids(self) -> None:
        """Forget stored ids whose effective time is older than the retention window (event loop)."""
        order = self._seen_order
        if not order:
            return
        horizon = order[-1][0] - int(self.config.retention_days * 86_400e6)
        stored = self.stored_seq
        n = 0
        while order and order[0][0] < horizon and order[0][1] <= stored:
            eff, _, tid = order.popleft()
            self.seen.pop(tid, None)
            self.recent.pop(tid, None)
            self.id_horizon_us = max(self.id_horizon_us, eff)
            n += 1
        if n:
            self.stats["ids_forgotten"] = self.stats.get("ids_forgotten", 0) + n

    def _drain_once(self) -> int:
        """Store the oldest logged records (one store transaction); returns how many."""
        if self._worker is not None:
            after, upto = self.stored_seq, self.logged_seq  # logged_seq: appended and fsynced
            if upto <= after:
                return 0
            with self.gate.file_lent():  # the worker process opens the store file meanwhile
                stored, n = self._worker.drain(after, upto, self.config.drain_batch)
        else:
            batch = self.backlog[: self.config.drain_batch]
            if not batch:
                return 0
            with self.gate.unit_of_work() as store:
                store_records(store, batch)
            stored, n = int(batch[-1]["seq"]), len(batch)
            del self.backlog[:n]
        self.stored_seq = stored
        self.wal.release(stored)
        self.stats["stored"] = stored
        return n

    async def flush(self, timeout_s: float = 30.0) -> None:
        """Wait until everything acknowledged is in the store (tests, status, shutdown)."""
        deadline = time.monotonic() + timeout_s
        loop = asyncio.get_running_loop()
        while (self.pending or self.in_flight or self.backlog_n) and time.monotonic() < deadline:
            if self.backlog_n and not self.in_flight and not self.pending:
                await loop.run_in_executor(self._db, self._drain_once)
            else:
                await asyncio.sleep(0.01)

    # ------------------------------------------------------------------------------ models
    async def reload(self) -> dict[str, Any]:
        """Load the current model (and the screening lists) without stopping; returns the versions."""
        await self.ensure_started()
        loop = asyncio.get_running_loop()
        before = self.model.version if self.model is not None else None
        await loop.run_in_executor(self._db, self._reload_sync)
        after = self.model.version if self.model is not None else None
        return {"previous": before, "current": after, "changed": before != after}

    def _reload_sync(self) -> None:
        self._load_model()
        with self.gate.unit_of_work() as store:
            self._load_screener(store)

    async def _watch_model(self) -> None:
        from filiere.scoring.model import CURRENT_FILE, models_dir

        cur = models_dir(self.settings) / CURRENT_FILE
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.config.watch_model_s)
            try:
                mtime = cur.stat().st_mtime if cur.exists() else None
                if mtime != self.model_mtime:
                    await loop.run_in_executor(self._db, self._load_model)
                    log.info("model reloaded: %s", self.model.version if self.model else None)
            except Exception as exc:
                log.warning("model reload failed: %s", exc)

    def status(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "broken": self.broken,
            "model_version": self.model.version if self.model is not None else None,
            "screening": self.screener is not None,
            "seq": self.seq,
            "stored_seq": self.stored_seq,
            "in_flight": self.in_flight,
            "backlog": self.backlog_n,
            "drain_worker": self._worker.pid if self._worker is not None else None,
            "log_segments": self.wal.segments,
            "log_groups": self.wal.groups,
            "subscribers": len(self.broker.subscribers),
            "streaming_edges": self.features.engine.edges_seen if self.features else 0,
            "streaming_capacity": self.features.engine.capacity if self.features else 0,
            "accounts_held": self.features.accounts_held if self.features else 0,
            "pairs_held": self.features.pairs_held if self.features else 0,
            "ids_indexed": len(self.seen),
            **self.stats,
        }


def clean_state(
    store: Any, *, warm_start: bool = True, max_seq: int | None = None, retention_days: float = 400.0
) -> OnlineFeatures:
    """A fresh streaming state replayed from the store: the workspace's history (``warm_start``),
    then the stored real-time records up to ``max_seq``, in sequence order. Raw, history and pattern
    features of a next transaction are then those the running service computes (the fault test)."""
    state = OnlineFeatures(retention_days=retention_days)
    if warm_start:
        for chunk in store.query_arrow(HISTORY_SQL).to_batches(8192):
            state.step_many(chunk.to_pylist())
    limit = max_seq if max_seq is not None else 2**62
    stored = store.query_arrow("SELECT record FROM realtime_tx WHERE seq <= ? ORDER BY seq", [limit])
    for chunk in stored.to_batches(8192):
        state.step_many([orjson.loads(text) for text in chunk.column(0).to_pylist()])
    return state


HISTORY_SQL = """
SELECT t.tx_id AS id, epoch_us(t.ts) AS ts, t.from_bank, t.from_account, t.to_bank, t.to_account,
       t.amount_received, t.receiving_currency, t.amount_paid, t.payment_currency, t.payment_format
FROM transactions t
WHERE NOT EXISTS (SELECT 1 FROM realtime_tx r WHERE r.tx_id = t.tx_id)
ORDER BY t.ts, t.source_row, t.tx_id
"""


def _event(rec: dict[str, Any], ans: dict[str, Any]) -> dict[str, Any]:
    return {
        "alert_id": ans["alert_id"],
        "tx_id": rec["id"],
        "decision": ans["decision"],
        "score": ans["score"],
        "model_version": ans["model_version"],
        "ts": us_to_datetime(int(rec["ts"])).isoformat(),
        "from_account": rec["from_account"],
        "to_account": rec["to_account"],
        "amount": rec["amount_paid"],
        "currency": rec["payment_currency"],
        "reasons": ans["reasons"],
    }
