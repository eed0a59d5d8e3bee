"""The compiled and vectorised paths equal the reference ones: trees vs LightGBM, micro-batches vs one
transaction at a time, the fast JSON path vs pydantic, snapshot + tail vs full replay, id retention."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from filiere.config import load_settings
from filiere.store import open_store

from .test_durability import _normalised, _service
from .test_service import tx


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=True))


def test_compiled_trees_equal_lightgbm() -> None:
    lgb = pytest.importorskip("lightgbm")
    from filiere.realtime.trees import CompiledBooster

    rng = np.random.default_rng(5)
    n = 3000
    X = rng.normal(size=(n, 6))
    X[:, 0] = rng.integers(0, 8, n)  # categorical
    X[rng.random(X.shape) < 0.08] = np.nan
    X[rng.random(X.shape) < 0.08] = 0.0
    y = ((np.nan_to_num(X[:, 1]) + (X[:, 0] == 3) - np.nan_to_num(X[:, 2]) * 0.5) > 0.3).astype(int)
    for params in ({"objective": "binary"}, {"objective": "binary", "zero_as_missing": True},
                   {"objective": "regression", "use_missing": False}):  # fmt: skip
        ds = lgb.Dataset(X, y, categorical_feature=[0], params={"verbose": -1})
        booster = lgb.train({**params, "num_leaves": 15, "min_data_in_leaf": 5, "verbose": -1}, ds, 40)
        c = CompiledBooster(booster)
        assert c.num_trees == booster.num_trees()
        Z = rng.normal(size=(500, 6))
        Z[:, 0] = rng.integers(-1, 10, 500)
        Z[rng.random(Z.shape) < 0.1] = np.nan
        np.testing.assert_allclose(c.raw_score(Z), booster.predict(Z, raw_score=True), rtol=0, atol=1e-12)
        np.testing.assert_allclose(c.predict(Z), booster.predict(Z), rtol=0, atol=1e-12)


def _stream(n: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        a, b = rng.integers(0, 40, 2)
        sec = int(rng.integers(0, 5))
        out.append(
            tx(
                i,
                timestamp=f"2022-09-{11 + i // 1440:02d}T{(i // 60) % 24:02d}:{i % 60:02d}:{sec:02d}",
                from_account=f"A{a}",
                to_account=f"A{b}",
                amount=float(np.round(rng.lognormal(6, 1.5), 2)),
                payment_format=str(rng.choice(["Wire", "ACH", "Cash"])),
                currency=str(rng.choice(["USD", "EUR", "Euro"])),
            )
        )
    return out


def test_micro_batches_equal_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import filiere.realtime.features as ff

    monkeypatch.setattr(ff, "SWEEP_EVERY", 97)  # eviction sweeps inside the stream
    recs = _normalised(_stream(700))
    for r in recs[::50]:
        r["ts"] -= 3_600_000_000  # out of order: read as the previous time
    one = ff.OnlineFeatures(retention_days=0.5 / 24)
    rows = [one.step(r)[1] for r in recs]
    ref = np.array([[row[n] for n in one.names] for row in rows])
    many = ff.OnlineFeatures(retention_days=0.5 / 24)
    rng = np.random.default_rng(2)
    parts, i = [], 0
    while i < len(recs):
        k = int(rng.integers(1, 80))
        parts.append(many.step_many(recs[i : i + k])[1])
        i += k
    assert _same(np.vstack(parts), ref)
    assert one.evicted_accounts > 0 and one.evicted_accounts == many.evicted_accounts
    assert one.accounts_held == many.accounts_held < 80
    # the history columns are the running counters (a pair seen before counts)
    j = one.index["pair_n"]
    assert ref[:, j].max() >= 1


def test_fast_json_path_equals_pydantic() -> None:
    import orjson

    from filiere.realtime.schemas import TransactionIn, fast_records, normalise

    good = [
        *_stream(50),
        tx(900, timestamp="2022-09-11T10:00:00Z", amount=5, amount_paid=4.5, payment_currency="EUR"),
        tx(901, timestamp="2022-09-11 10:00:00.123456+02:00", currency="US Dollar"),
    ]
    items = orjson.loads(orjson.dumps(good))
    fast = fast_records(items)
    assert fast is not None
    assert fast == [normalise(TransactionIn.model_validate(t)) for t in good]
    for bad in (
        tx(1, amount=-1),
        tx(1, amount=True),
        tx(1, timestamp="yesterday"),
        tx(1, currency="usd"),  # valid, but only pydantic normalises it
        tx(1, extra=1),
        tx(1, from_party={"name": "X"}),
        {k: v for k, v in tx(1).items() if k != "to_account"},
        tx(1, id=""),
        tx(1, amount=float("nan")),
    ):
        assert fast_records([*items[:3], bad]) is None


def test_columnar_checks_accept_only_what_the_per_record_checks_accept() -> None:
    """A batch checked column by column gives the per-record path's records, or defers to it."""
    import random

    import orjson

    from filiere.realtime.schemas import TransactionIn, _fast_columns, _fast_rows, fast_records, normalise

    base = orjson.loads(orjson.dumps(_stream(20)))
    assert _fast_columns(base) == _fast_rows(base) == [normalise(TransactionIn.model_validate(t)) for t in base]
    variants: list[dict[str, Any]] = [
        {"amount": -1}, {"amount": True}, {"amount": 2**60}, {"amount": 7}, {"amount": float("inf")},
        {"amount_paid": 3.5}, {"amount_paid": None}, {"amount_paid": -2.0}, {"payment_currency": "EUR"},
        {"payment_currency": "US Dollar"}, {"payment_currency": "usd"}, {"payment_currency": None},
        {"timestamp": "2022-09-11T10:00:00Z"}, {"timestamp": "2022-09-11 10:00:00.5"},
        {"timestamp": "2022-09-11"}, {"timestamp": "2022-09-11T10:00"}, {"timestamp": "2022-13-11T10:00:00"},
        {"timestamp": "2022-09-11T10:00:00.1234567"}, {"timestamp": 5}, {"currency": "usd"},
        {"currency": "Euro"}, {"currency": 1}, {"id": ""}, {"id": "x" * 201}, {"id": 5}, {"from_bank": "b" * 65},
        {"to_account": "é" * 100}, {"payment_format": ""}, {"extra": 1}, {"from_party": None},
        {"to_party": {"name": "X"}},
    ]  # fmt: skip
    rng = random.Random(5)
    deferred = 0
    for _ in range(300):
        items = [dict(t) for t in base]
        for i in rng.sample(range(len(items)), rng.randint(1, 3)):
            items[i].update(rng.choice(variants))
        if rng.random() < 0.1:
            del items[rng.randrange(len(items))]["to_bank"]
        rows = _fast_rows(items)
        cols = _fast_columns(items)
        if cols is None:
            deferred += 1
        else:
            assert cols == rows
        assert fast_records(items) == rows
    assert 0 < deferred < 300  # both outcomes were exercised


def _run_service(ws: Path, recs: list[dict[str, Any]], probe: dict[str, Any], cfg: dict[str, Any]) -> Any:
    async def go() -> tuple[dict[str, Any], dict[str, float]]:
        svc = _service(ws)
        for k, v in cfg.items():
            setattr(svc.config, k, v)
        await svc.ensure_started()
        status_before = dict(svc.stats)
        if recs:
            await svc.submit(recs)
        await svc.flush()
        await asyncio.sleep(0.2)  # let the snapshot writer finish
        _, live = svc.features.step(probe)
        await svc.stop()
        return status_before, live

    return asyncio.run(go())


def test_snapshot_then_tail_equals_full_replay(rt_template: dict[str, Any], tmp_path: Path) -> None:
    from filiere.config import load_settings
    from filiere.realtime.service import clean_state
    from filiere.store import open_store

    ws = tmp_path / "ws"
    shutil.copytree(rt_template["workspace"], ws)
    recs = _normalised(_stream(400))
    probe = _normalised([tx(10**6, timestamp="2022-09-30T00:00:00", from_account="A1", to_account="A2")])[0]
    cfg = {"snapshot_every": 150, "snapshot_interval_s": 0.0}
    _run_service(ws, recs[:300], probe, cfg)
    assert (ws / "realtime" / "state.snapshot").exists()
    before, _ = _run_service(ws, recs[300:], probe, cfg)
    assert before["snapshot_used"] is not None and before["snapshot_used"] >= 150
    assert before["replayed"] <= 300 - 150  # only the records after the snapshot
    stats, live = _run_service(ws, [], probe, cfg)
    assert stats["snapshot_used"] == 400 and stats["replayed"] == 0
    with open_store(load_settings(ws)) as store:
        clean = clean_state(store)
    _, replayed = clean.step(probe)
    differ = [n for n in clean.names if not _same(np.array(live[n]), np.array(replayed[n]))]
    assert differ == []


def test_ids_beyond_retention_are_answered_from_the_store(rt_template: dict[str, Any], tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(rt_template["workspace"], ws)
    early = _normalised([tx(1, timestamp="2022-09-11T00:00:00"), tx(2, timestamp="2022-09-11T00:01:00")])
    late = _normalised([tx(3, timestamp="2022-09-20T00:00:00")])

    async def go() -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
        svc = _service(ws)
        svc.config.retention_days = 1.0
        await svc.ensure_started()
        first = await svc.submit(early)
        await svc.submit(late)
        await svc.flush()
        svc._evict_ids()
        held = len(svc.seen)
        again = await svc.submit(early)
        await svc.stop()
        return first, again, held

    first, again, held = asyncio.run(go())
    assert held == 1  # only T3 is within a day of the latest transaction
    assert all(a["duplicate"] for a in again)
    assert [a["seq"] for a in again] == [a["seq"] for a in first]


def test_drain_keeps_the_first_row_of_an_id_resubmitted_beyond_retention(
    rt_template: dict[str, Any], tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(rt_template["workspace"], ws)
    early = _normalised([tx(1, timestamp="2022-09-11T00:00:00")])
    late = _normalised([tx(3, timestamp="2022-09-20T00:00:00")])
    later_again = _normalised([tx(1, timestamp="2022-09-21T00:00:00"), tx(4, timestamp="2022-09-21T00:01:00")])

    async def go() -> tuple[int, list[dict[str, Any]]]:
        svc = _service(ws)
        svc.config.retention_days = 1.0
        await svc.ensure_started()
        first = await svc.submit(early)
        await svc.submit(late)
        await svc.flush()
        svc._evict_ids()
        second = await svc.submit(later_again)  # T1 not recognised (later time): scored again
        await svc.flush()
        await svc.stop()
        return int(first[0]["seq"]), second

    seq1, second = asyncio.run(go())
    assert not second[0].get("duplicate") and second[0]["seq"] != seq1
    with open_store(load_settings(ws)) as store:
        rows = store.query("SELECT tx_id, seq FROM realtime_tx WHERE tx_id LIKE 'T%' ORDER BY seq")
        n_tx = store.scalar("SELECT count(*) FROM transactions WHERE tx_id = ?", [early[0]["id"]])
    ids = [r[0] for r in rows]
    assert ids.count(early[0]["id"]) == 1 and (early[0]["id"], seq1) in rows  # the first row stays
    assert later_again[1]["id"] in ids  # the rest of that batch is stored
    assert n_tx == 1


def test_single_thread_explanations_equal_the_models(rt_template: dict[str, Any]) -> None:
    """``Scorer.explain`` (one LightGBM thread) gives ``model.explain_matrix``'s contributions."""
    from filiere.realtime.features import OnlineFeatures
    from filiere.realtime.service import Scorer
    from filiere.scoring.model import load_current_model

    model = load_current_model(load_settings(rt_template["workspace"]))
    scorer = Scorer(model, OnlineFeatures.feature_index())
    X = np.random.default_rng(3).normal(size=(25, len(model.feature_names)))
    X[::4, 2] = np.nan
    got = scorer.explain(X, top=5)
    want = model.explain_matrix(X, top=5)
    assert [[c.as_dict() for c in row] for row in got] == [[c.as_dict() for c in row] for row in want]
    assert any(row for row in got)
    assert scorer.explain(X[:0]) == []


def test_ts_us_is_exact_microseconds() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from filiere.realtime.schemas import _fast_ts, ts_us

    epoch = datetime(1970, 1, 1)
    for text in ("2022-09-11T10:23:45.123456", "1969-12-31T23:59:59.999999", "1900-03-01 00:00:00",
                 "2100-01-01T00:00:00.000001", "2022-09-11T10:23:45+05:30", "2022-09-11T10:23:45Z"):  # fmt: skip
        dt = datetime.fromisoformat(text)
        naive = dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo is not None else dt
        want = (naive - epoch) // timedelta(microseconds=1)
        assert ts_us(dt) == want == _fast_ts(text), text
    assert ts_us(datetime(2022, 1, 1, tzinfo=timezone(timedelta(hours=-3)))) == ts_us(datetime(2022, 1, 1, 3))
    assert _fast_ts("2022-13-01T00:00:00") is None and _fast_ts("yesterday") is None
