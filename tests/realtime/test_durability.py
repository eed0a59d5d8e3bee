"""Crash recovery: acknowledged transactions survive, exactly once, and the streaming state is rebuilt."""

from __future__ import annotations

import asyncio
import math
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Server
from .test_service import tx


def _normalised(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from filiere.realtime.schemas import TransactionIn, normalise

    return [normalise(TransactionIn.model_validate(t)) for t in items]


def _same(a: dict[str, Any], b: dict[str, Any], names: list[str]) -> list[str]:
    """Names whose values differ (JSON carries NaN as null)."""

    def v(x: Any) -> float:
        return math.nan if x is None else float(x)

    return [n for n in names if not (v(a[n]) == v(b[n]) or (math.isnan(v(a[n])) and math.isnan(v(b[n]))))]


def _service(ws: Path) -> Any:
    from filiere.api.deps import StoreGate
    from filiere.config import load_settings
    from filiere.realtime.service import RealtimeService

    settings = load_settings(ws)
    return RealtimeService(settings, StoreGate(settings))


async def _crash_after(ws: Path, recs: list[dict[str, Any]], drain_first: int) -> list[dict[str, Any]]:
    """Submit ``recs``, store the first ``drain_first`` of them, then die without draining the rest."""
    svc = _service(ws)
    svc.config.drain_interval_s = 3600
    answers = await svc.submit(recs[:drain_first])
    svc._drain_once()
    answers += await svc.submit(recs[drain_first:])
    for t in svc._tasks:  # a crash: no stop(), no drain; the log file is all that is left
        t.cancel()
    svc.wal.close()
    svc.gate.close()
    svc._shutdown_pools()
    out: list[dict[str, Any]] = answers
    return out


def test_log_replay_after_a_crash(rt_template: dict[str, Any], tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(rt_template["workspace"], ws)
    recs = _normalised([tx(i) for i in range(300)])
    answers = asyncio.run(_crash_after(ws, recs, 120))
    assert [a["seq"] for a in answers] == list(range(1, 301))
    # a torn record at the end of the log (the crash hit during a write) is cut off
    seg = sorted((ws / "realtime" / "wal").glob("seg-*.wal"))[-1]
    with seg.open("ab") as fh:
        fh.write(b"\x40\x00\x00\x00garbage")

    async def recover() -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, float], dict[str, Any]]:
        svc = _service(ws)
        await svc.ensure_started()
        again = await svc.submit(recs[:5] + recs[-5:])
        probe = _normalised([tx(10_000, to_account="PROBE")])[0]
        assert svc.features is not None
        _, live = svc.features.step(probe)
        await svc.flush()
        status = svc.status()
        await svc.stop()
        return status, again, live, probe

    status, again, live, probe = asyncio.run(recover())
    assert status["seq"] == 300 and status["stored_seq"] == 300
    assert all(a["duplicate"] for a in again)
    assert [a["seq"] for a in again] == [a["seq"] for a in answers[:5] + answers[-5:]]
    from filiere.config import load_settings
    from filiere.realtime.service import clean_state
    from filiere.store import open_store

    with open_store(load_settings(ws)) as store:
        counts = store.query("SELECT count(*), count(DISTINCT tx_id), min(seq), max(seq) FROM realtime_tx")[0]
        assert counts == (300, 300, 1, 300)
        assert store.scalar("SELECT count(*) FROM transactions WHERE source_file_id = 'realtime'") == 300
        clean = clean_state(store)
    _, replayed = clean.step(probe)
    assert _same(live, replayed, clean.names) == []
    assert not list((ws / "realtime" / "wal").glob("seg-*.wal"))[1:]  # stored segments were released


@pytest.mark.slow
def test_sigkill_mid_load(rt_template: dict[str, Any], tmp_path: Path) -> None:
    """The server process is killed with SIGKILL while a client posts; every acknowledged id is stored once."""
    ws = tmp_path / "ws"
    shutil.copytree(rt_template["workspace"], ws)
    srv = Server(ws, rt_template["tokens"]["machine"])
    srv.start()
    acked: set[str] = set()
    i = 0
    try:
        with srv.client() as c:
            t_end = time.monotonic() + 2.0
            while time.monotonic() < t_end:
                batch = [tx(i + k) for k in range(20)]
                i += 20
                r = c.post("/v1/transactions", json=batch)
                assert r.status_code == 200
                acked |= {a["id"] for a in r.json()}
            srv.kill()
            with pytest.raises(httpx.HTTPError):
                c.post("/v1/transactions", json=tx(i + 1))
        srv.start()
        with srv.client() as c:
            probe = tx(10**6, to_account="PROBE")
            live = c.post("/v1/transactions?features=1", json=probe).json()
            status = c.get("/v1/realtime/status?flush=1").json()
    finally:
        srv.stop()
    assert status["stored_seq"] == status["seq"] == live["seq"]
    from filiere.config import load_settings
    from filiere.realtime.service import clean_state
    from filiere.store import open_store

    with open_store(load_settings(ws)) as store:
        ids = [r[0] for r in store.query("SELECT tx_id FROM realtime_tx")]
        clean = clean_state(store, max_seq=live["seq"] - 1)
    assert len(ids) == len(set(ids))
    assert acked <= set(ids)
    _, replayed = clean.step(_normalised([probe])[0])
    assert _same(live["features"], replayed, clean.names) == []
