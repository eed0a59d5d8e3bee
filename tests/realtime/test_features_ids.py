"""The compute thread's integer-id paths equal the string-keyed ones: the pattern engine keyed by
integer ids (with ``forget``) against string keys, ``_Slots.slots`` against ``slot`` one key at a
time, ``propagate_many`` right after ``step_many`` against a fresh lookup, and a state pickled in
the string-keyed layout of earlier versions continuing exactly as one that never was."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest

from filiere.graph import StreamingEngine
from filiere.realtime import features as ff


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=True))


def _records(n: int, seed: int = 3, accounts: int = 60, t0: int = 1_700_000_000_000_000) -> list[dict[str, Any]]:
    """Normalised records (as the service's fast path gives them), time going forward in bursts."""
    rng = np.random.default_rng(seed)
    steps = rng.choice([0, 1_000_000, 60_000_000, 3_600_000_000, 100 * 3_600_000_000], size=n,
                       p=[0.2, 0.4, 0.29, 0.1, 0.01])  # fmt: skip
    ts = t0 + np.cumsum(steps)
    fmts = ["Wire", "ACH", "Cash", "Cheque"]
    curs = ["USD", "EUR", "XOF"]
    out = []
    for i in range(n):
        a, b = (int(x) for x in rng.integers(0, accounts, 2))
        fb, tb = str(10 + a % 7), str(10 + b % 7)
        paid = float(np.round(rng.choice([rng.lognormal(6, 1.5), 9_500.0, 3_000.0]), 2))
        out.append(
            {
                "id": f"T{i}", "ts": int(ts[i]), "from_bank": fb, "from_account": f"{fb}:A{a}",
                "to_bank": tb, "to_account": f"{tb}:A{b}", "amount_received": paid,
                "receiving_currency": curs[i % 3], "amount_paid": paid, "payment_currency": curs[(i // 3) % 3],
                "payment_format": fmts[int(rng.integers(0, 4))],
            }
        )  # fmt: skip
    return out


def _columns(recs: list[dict[str, Any]]) -> dict[str, Any]:
    return {k: [r[k] for r in recs] for k in ("ts", "from_account", "to_account", "from_bank", "payment_format",
                                              "amount_paid")}  # fmt: skip


def test_engine_integer_keys_equal_string_keys() -> None:
    recs = _records(1500, accounts=400)
    by_str = StreamingEngine(sweep_min=64)
    by_int = StreamingEngine(sweep_min=64)
    ids: dict[str, int] = {}
    banks: dict[str, int] = {}
    cash = {"Cash"}
    rng = np.random.default_rng(0)
    i = 0
    while i < len(recs):
        part = recs[i : i + int(rng.integers(1, 120))]
        i += len(part)
        cols = _columns(part)
        a = by_str.update_many(cols)
        ints = {
            "ts": np.array(cols["ts"], dtype=np.int64),
            "from_account": np.array([ids.setdefault(k, len(ids)) for k in cols["from_account"]], dtype=np.int64),
            "to_account": np.array([ids.setdefault(k, len(ids)) for k in cols["to_account"]], dtype=np.int64),
            "from_bank": np.array([banks.setdefault(k, len(banks)) for k in cols["from_bank"]], dtype=np.int64),
            "cash": np.array([f in cash for f in cols["payment_format"]], dtype=np.int64),
            "amount_paid": np.array(cols["amount_paid"]),
        }
        b = by_int.update_many(ints)
        assert _same(a, b)
    assert by_str.accounts_held == by_int.accounts_held
    assert by_str.accounts_evicted == by_int.accounts_evicted > 0
    # forget: idle accounts only; a forgotten key comes back as a new account (same features as a replay)
    idle = [k for k, s in by_int._accounts.items() if by_int._last[s] < by_int._last_ts - by_int._max_w]
    assert by_int.forget(np.array([*idle, 10**6], dtype=np.int64)) == len(idle)
    assert by_int.accounts_held == by_str.accounts_held - len(idle)
    with pytest.raises(Exception, match="non-negative"):
        by_int.update_many({**ints, "from_account": -ints["from_account"] - 1})


def test_slots_equal_one_key_at_a_time() -> None:
    fresh = np.array([0.0, -1.0])
    one, many = ff._Slots(fresh, capacity=4), ff._Slots(fresh, capacity=4)
    rng = np.random.default_rng(1)
    for _ in range(60):
        keys = [int(k) for k in rng.integers(0, 40, int(rng.integers(1, 30)))]
        assert [one.slot(k) for k in keys] == many.slots(keys)
        drop = np.unique(rng.integers(0, len(one.keys), 5))
        drop = drop[[one.keys[d] is not None for d in drop]]
        one.forget(drop)
        many.forget(drop)
        assert one.keys == many.keys and one.free == many.free and one.index == many.index
    assert one.data.shape == many.data.shape


def test_propagate_after_step_equals_a_fresh_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ff, "SWEEP_EVERY", 50)  # sweeps inside and at the end of micro-batches
    recs = _records(900, seed=5)
    cached, fresh = ff.OnlineFeatures(retention_days=0.1), ff.OnlineFeatures(retention_days=0.1)
    i, k = 0, 0
    while i < len(recs):
        part = recs[i : i + (7, 50, 43, 120, 1)[k % 5]]
        i += len(part)
        k += 1
        p1 = np.linspace(0.0, 1.0, len(part))
        Fa = cached.step_many(part)[1]
        Pa = cached.propagate_many(part, p1)
        Fb = fresh.step_many(part)[1]
        fresh._idx = None  # no slots kept from step_many: looked up again
        Pb = fresh.propagate_many([dict(r) for r in part], p1)
        assert _same(Fa, Fb) and _same(Pa, Pb)
    assert cached.evicted_accounts == fresh.evicted_accounts > 0


def _as_old_layout(state: ff.OnlineFeatures) -> bytes:
    """``state`` pickled as versions before integer keys laid it out (pairs and engine by strings)."""
    old = pickle.loads(pickle.dumps(state))  # noqa: S301 (our own state)
    names = old.accounts.keys
    old.pairs = old.pairs.to_slots()  # before the compiled pair table too
    old.pairs.keys = [None if k is None else (names[k >> 32], names[k & 0xFFFFFFFF]) for k in old.pairs.keys]
    old.pairs.index = {k: i for i, k in enumerate(old.pairs.keys) if k is not None}
    eng = old.engine
    eng._keys = [None if k is None else names[k] for k in eng._keys]
    eng._accounts = {k: i for i, k in enumerate(eng._keys) if k is not None}
    by_code = {c: b for b, c in old._bank_codes.items()}
    eng._banks = {by_code[c]: i for c, i in eng._banks.items()}
    for attr in ("_bank_codes", "_cash", "_idx"):
        del old.__dict__[attr]
    del eng.__dict__["_ext"]
    return pickle.dumps(old)


def test_a_string_keyed_snapshot_continues_exactly() -> None:
    recs = _records(1200, seed=7)
    ref = ff.OnlineFeatures(retention_days=0.2)
    ref.step_many(recs[:600])
    restored = pickle.loads(_as_old_layout(ref))  # noqa: S301 (our own state)
    assert isinstance(next(iter(restored.pairs.index)), int) and isinstance(next(iter(restored.engine._accounts)), int)
    for part in (recs[600:650], recs[650:1000], recs[1000:]):
        p1 = np.full(len(part), 0.25)
        assert _same(ref.step_many(part)[1], restored.step_many(part)[1])
        assert _same(ref.propagate_many(part, p1), restored.propagate_many(part, p1))
    assert ref.pairs_held == restored.pairs_held and ref.engine.accounts_held == restored.engine.accounts_held


def test_model_columns_gather_each_name_from_its_part() -> None:
    online = {"a": 0, "b": 1, "c": 2}
    rules = ["r1", "r2"]
    names = ["c", ff.PROPAGATED_FEATURES[3], "nowhere", "a", "r2", ff.PROPAGATED_FEATURES[0]]
    cols = ff.ModelColumns(names, online, rules)
    rng = np.random.default_rng(4)
    F, P, R = rng.normal(size=(5, 3)), rng.normal(size=(5, len(ff.PROPAGATED_FEATURES))), rng.normal(size=(5, 2))
    X = cols.build(F, P, R)
    assert X.flags["C_CONTIGUOUS"] and X.shape == (5, 6)
    assert _same(X, np.column_stack([F[:, 2], P[:, 3], np.zeros(5), F[:, 0], R[:, 1], P[:, 0]]))
    assert _same(cols.build(F), np.column_stack([F[:, 2], np.zeros(5), np.zeros(5), F[:, 0], np.zeros(5), np.zeros(5)]))
    first = ff.ModelColumns(["b", "a"], online)  # a first stage: online columns only
    assert _same(first.build(F), F[:, [1, 0]]) and first.build(F).flags["C_CONTIGUOUS"]


def test_compiled_pair_table_equals_slots() -> None:
    """:class:`_IntSlots` (compiled key table) gives the rows, freed rows and index of :class:`_Slots`,
    through table growth and rebuilds with many forgotten keys; ``lookup`` finds what ``slots`` put."""
    fresh = np.array([0.0, -1.0])
    ref, got = ff._Slots(fresh, capacity=4), ff._IntSlots(fresh, capacity=4)
    rng = np.random.default_rng(4)
    for step in range(300):
        hi = 50 if step < 150 else 5000  # a small key space (rows reused), then a large one (growth)
        keys = rng.integers(0, hi, int(rng.integers(1, 200))) << int(rng.integers(0, 33))
        assert got.slots(keys).tolist() == ref.slots(keys.tolist())
        probe = rng.integers(0, hi, 20)
        assert got.lookup(probe).tolist() == [ref.index.get(k, -1) for k in probe.tolist()]
        live = [i for i, k in enumerate(ref.keys) if k is not None]
        drop = np.unique(rng.choice(live, min(len(live), int(rng.integers(0, 150)))))
        assert ref.forget(drop) == got.forget(drop)
        assert got.held == len(ref.keys) and len(got) == len(ref)
        assert got.freed[: got.meta[1]].tolist() == ref.free and got.index == ref.index
        np.testing.assert_array_equal(got.data[: got.held], ref.data[: len(ref.keys)])
    back = got.to_slots()
    assert back.keys == ref.keys and back.free == ref.free and back.index == ref.index
    again = ff._IntSlots.from_slots(back)
    keys = rng.integers(0, 6000, 500)
    assert again.slots(keys).tolist() == ref.slots(keys.tolist())
