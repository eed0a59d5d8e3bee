"""The compiled account history and propagation equal the DuckDB window queries they replace."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from filiere.scoring import features as feat
from filiere.scoring.history import (
    HISTORY_COLUMNS,
    PROPAGATED_COLUMNS,
    PROPAGATED_EXTRA_COLUMNS,
    account_codes,
    account_history,
    epoch_us,
    propagate_scores,
    time_order,
)

T0 = np.datetime64("2022-09-01T00:00:00", "us")


def _world(rng: np.random.Generator, n: int, n_acc: int = 12, n_times: int = 40, sub_second: bool = False) -> pa.Table:
    """Few accounts and few distinct times: many equal-timestamp peers, repeated pairs, self-transfers,
    zero amounts (zero averages), rows out of time order."""
    step = rng.integers(0, 10**6, n) if sub_second else 0
    ts = T0 + (rng.integers(0, n_times, n) * 1_800_000_000 + step).astype("timedelta64[us]")
    acc = np.array([f"B{i % 3}:{i:04d}" for i in range(n_acc)])
    a = acc[rng.integers(0, n_acc, n)]
    b = np.where(rng.random(n) < 0.1, a, acc[rng.integers(0, n_acc, n)])
    amt = np.round(rng.exponential(500.0, n), 2) * (rng.random(n) < 0.8)
    cur = rng.choice(["US Dollar", "Euro", "Yen"], n)
    return pa.table(
        {
            "tx_id": pa.array([f"t{i}" for i in range(n)]),
            "ts": pa.array(ts, pa.timestamp("us")),
            "from_bank": pa.array([x.split(":")[0] for x in a]),
            "from_account": pa.array(a),
            "to_bank": pa.array([x.split(":")[0] for x in b]),
            "to_account": pa.array(b),
            "amount_received": pa.array(amt),
            "receiving_currency": pa.array(cur),
            "amount_paid": pa.array(amt),
            "payment_currency": pa.array(cur),
            "payment_format": pa.array(rng.choice(["Wire", "ACH", "Cash"], n)),
        }
    )


def _sql_history(tx: pa.Table) -> pa.Table:
    con = duckdb.connect()
    try:
        con.register("__tx", tx.append_column("__rn", pa.array(np.arange(tx.num_rows, dtype=np.int64))))
        return feat.raw_and_history(con, compiled=False)
    finally:
        con.close()


def _amount_usd(tx: pa.Table) -> pa.Array:
    rates = dict(feat.DEFAULT_USD_RATES)
    cur = tx.column("payment_currency").to_pylist()
    return pa.array(tx.column("amount_paid").to_numpy() * np.array([rates.get(c, 1.0) for c in cur]))


def _assert_same(ref: pa.Table, got: pa.Table, names: tuple[str, ...]) -> None:
    for name in names:
        a, b = ref.column(name), got.column(name)
        assert a.type == b.type, name
        assert a.is_null().equals(b.is_null()), f"{name}: NULLs differ"
        if not pa.types.is_floating(a.type):
            assert a.equals(b), name
        else:
            x = a.to_numpy(zero_copy_only=False)
            y = b.to_numpy(zero_copy_only=False)
            np.testing.assert_allclose(x, y, rtol=1e-9, atol=0, equal_nan=True, err_msg=name)


def _check_history(tx: pa.Table) -> None:
    ref = _sql_history(tx)
    con = duckdb.connect()
    try:
        con.register("__tx", tx.append_column("__rn", pa.array(np.arange(tx.num_rows, dtype=np.int64))))
        via_features = feat.raw_and_history(con, compiled=True)
    finally:
        con.close()
    assert via_features.column_names == ref.column_names
    _assert_same(ref, via_features, tuple(ref.column_names[1:]))
    assert via_features.column("tx_id").equals(ref.column("tx_id"))
    got = account_history(tx.column("ts"), tx.column("from_account"), tx.column("to_account"), _amount_usd(tx))
    assert got.column_names == list(HISTORY_COLUMNS) == list(feat.HISTORY_FEATURES)
    _assert_same(ref, got, HISTORY_COLUMNS)


def _check_propagation(tx: pa.Table, p1: np.ndarray) -> None:
    for extra in (False, True):
        ref = feat.propagate(tx, p1, extra=extra, compiled=False)
        got = propagate_scores(tx.column("ts"), tx.column("from_account"), tx.column("to_account"), p1, extra=extra)
        names = PROPAGATED_COLUMNS + (PROPAGATED_EXTRA_COLUMNS if extra else ())
        assert got.column_names == ref.column_names == list(names)
        _assert_same(ref, got, names)
        _assert_same(ref, feat.propagate(tx, p1, extra=extra), names)


@pytest.mark.parametrize("seed", range(6))
def test_history_equals_sql_on_random_worlds_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    tx = _world(rng, int(rng.integers(50, 600)), n_acc=int(rng.integers(2, 30)), sub_second=seed % 2 == 1)
    _check_history(tx)


@pytest.mark.parametrize("seed", range(6))
def test_propagation_equals_sql_on_random_worlds_with_tied_scores(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    tx = _world(rng, int(rng.integers(50, 600)), n_acc=int(rng.integers(2, 30)), sub_second=seed % 2 == 1)
    # few distinct scores: the most suspicious earlier transaction is often tied (arg_max keeps the earliest)
    p1 = rng.integers(0, 4, tx.num_rows) / 4.0 if seed % 3 else rng.random(tx.num_rows)
    _check_propagation(tx, p1)


def test_empty_input() -> None:
    tx = _world(np.random.default_rng(0), 0)
    _check_history(tx)
    assert (
        account_history(
            tx.column("ts"), tx.column("from_account"), tx.column("to_account"), pa.array([], pa.float64())
        ).num_rows
        == 0
    )
    _check_propagation(tx, np.zeros(0))


def test_single_account_paying_itself_at_one_time() -> None:
    """Self-transfers at one timestamp: every peer counts in the inclusive windows, none in the strict ones."""
    n = 4
    tx = _world(np.random.default_rng(1), n).set_column(3, "from_account", pa.array(["A"] * n))
    tx = tx.set_column(5, "to_account", pa.array(["A"] * n)).set_column(1, "ts", pa.array([T0] * n, pa.timestamp("us")))
    got = account_history(
        tx.column("ts"), tx.column("from_account"), tx.column("to_account"), pa.array([0.0, 0.0, 1.0, 3.0])
    )
    assert got.column("s_n_out").to_pylist() == [4] * n
    assert got.column("s_n_in").to_pylist() == [4] * n
    assert got.column("pair_n").to_pylist() == [0] * n
    assert got.column("s_gap_h").null_count == n
    assert got.column("s_amt_ratio").to_pylist() == [0.0, 0.0, 1.0, 3.0]
    _check_history(tx)
    p = propagate_scores(tx.column("ts"), tx.column("from_account"), tx.column("to_account"), np.ones(n), extra=True)
    assert p.column("s_prev_max_p").to_pylist() == [0.0] * n
    assert p.column("s_prev_max_age_h").null_count == n


def test_zero_and_null_averages_give_null_ratios() -> None:
    tx = _world(np.random.default_rng(2), 3)
    tx = tx.set_column(3, "from_account", pa.array(["A", "A", "A"])).set_column(
        5, "to_account", pa.array(["B", "C", "B"])
    )
    tx = tx.set_column(1, "ts", pa.array(T0 + np.array([0, 1, 2]).astype("timedelta64[h]"), pa.timestamp("us")))
    amt = pa.array([0.0, None, 6.0])
    got = account_history(tx.column("ts"), tx.column("from_account"), tx.column("to_account"), amt)
    # A: first average 0 (NULL ratio), then 0 again (the NULL amount is not averaged), then 6 / 3
    assert got.column("s_amt_ratio").to_pylist() == [None, None, 2.0]
    assert got.column("r_amt_ratio").to_pylist() == [None, None, 2.0]
    assert got.column("s_gap_h").to_pylist() == [None, 1.0, 1.0]
    assert got.column("pair_n").to_pylist() == [0, 0, 1]
    assert got.column("pair_reverse_n").to_pylist() == [0, 0, 0]
    _check_history(tx.set_column(8, "amount_paid", pa.array([0.0, 0.0, 0.0])))  # zero averages in SQL too


def test_helpers() -> None:
    s, r, n = account_codes(pa.array(["x", "y", None]), pa.chunked_array([["y"], [None, "z"]]))
    assert n == 4 and s.tolist() == [0, 1, 2] and r.tolist() == [1, 2, 3]
    assert time_order(np.array([3, 1, 1, 2])).tolist() == [1, 2, 3, 0]
    assert time_order(np.array([1, 1, 2])).tolist() == [0, 1, 2]
    assert epoch_us(pa.array([0, 1_500_000], pa.timestamp("ms"))).tolist() == [0, 1_500_000_000]
    with pytest.raises(ValueError, match="row 1"):
        epoch_us(pa.array([0, None], pa.timestamp("us")))


def test_generated_amlworld_world(tmp_path: Path) -> None:
    """~50k rows of a world from the scenario generator's amlworld-hi template, read as the pipeline reads it."""
    from filiere.scenario import generate
    from filiere.scoring.evaluate import context_for_file

    generate("amlworld-hi", 50_000, 7, tmp_path)
    tx = context_for_file(tmp_path / "transactions.csv", "amlworld").transactions
    assert tx.num_rows > 40_000
    _check_history(tx)
    rng = np.random.default_rng(4)
    # rounded scores: many ties for the time of the most suspicious earlier transaction
    _check_propagation(tx, np.round(rng.random(tx.num_rows), 3))
