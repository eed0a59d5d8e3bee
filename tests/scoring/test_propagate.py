"""Suspicion propagation: an account's earlier first-stage scores reach its later payments, never earlier ones."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa

from filiere.scoring.features import propagate


def test_propagation_is_causal_and_follows_accounts() -> None:
    t0 = datetime(2022, 9, 1)
    table = pa.table(
        {
            "ts": pa.array([t0, t0 + timedelta(hours=1), t0 + timedelta(days=3), t0 + timedelta(days=4)]),
            "from_account": ["X", "M", "M", "Q"],
            "to_account": ["M", "Y", "Z", "M"],
        }
    )
    p1 = np.array([0.9, 0.1, 0.2, 0.05])
    out = propagate(table, p1).to_pydict()
    # M received dirty money (0.9) at t0: both later payments of M carry it, the first one does not
    assert out["s_prev_max_p"] == [0.0, 0.9, 0.9, 0.0]
    assert out["s_prev_in_max_p"] == [0.0, 0.9, 0.9, 0.0]
    # receiver side: M as receiver at day 4 has seen 0.9 (in), 0.1 and 0.2 (out) earlier
    assert out["r_prev_max_p"] == [0.0, 0.0, 0.0, 0.9]
    assert out["r_prev_out_max_p"] == [0.0, 0.0, 0.0, 0.2]


def test_extra_propagation_sums_means_and_ages_earlier_suspicion_only() -> None:
    t0 = datetime(2022, 9, 1)
    table = pa.table(
        {
            "ts": pa.array([t0, t0 + timedelta(hours=1), t0 + timedelta(days=3), t0 + timedelta(days=4)]),
            "from_account": ["X", "M", "M", "Q"],
            "to_account": ["M", "Y", "Z", "M"],
        }
    )
    p1 = np.array([0.9, 0.1, 0.2, 0.05])
    out = propagate(table, p1, extra=True).to_pydict()
    assert out["s_prev_max_p"] == [0.0, 0.9, 0.9, 0.0]  # the base columns are unchanged
    assert np.allclose(out["s_prev_sum_p"], [0.0, 0.9, 1.0, 0.0])
    assert np.allclose(out["s_prev_mean_p"], [0.0, 0.9, 0.5, 0.0])
    # hours since the sender's most suspicious earlier transaction (M's 0.9 inflow at t0); none before -> null
    assert out["s_prev_max_age_h"][0] is None
    assert np.isclose(out["s_prev_max_age_h"][1], 1.0) and np.isclose(out["s_prev_max_age_h"][2], 72.0)
    # M as receiver at day 4 saw 0.9 + 0.1 + 0.2 earlier
    assert np.allclose(out["r_prev_sum_p"], [0.0, 0.0, 0.0, 1.2])
    assert "s_prev_sum_p" not in propagate(table, p1).column_names


def test_realtime_service_computes_the_same_suspicion_columns_as_batch() -> None:
    """The real-time service's kernel (one record at a time, arrival order) gives the batch columns."""
    from filiere.realtime.features import PROPAGATED_FEATURES as ONLINE
    from filiere.realtime.features import OnlineFeatures
    from filiere.scoring.features import PROPAGATED_EXTRA, PROPAGATED_FEATURES

    rng = np.random.default_rng(3)
    n = 300
    t0 = datetime(2022, 9, 1)
    minutes = np.sort(rng.choice(60 * 24 * 20, n, replace=False))  # distinct times
    accounts = [f"A{i}" for i in range(25)]
    src = [accounts[i] for i in rng.integers(0, 25, n)]
    dst = [accounts[i] for i in rng.integers(0, 25, n)]
    ts = [t0 + timedelta(minutes=int(m)) for m in minutes]
    p1 = rng.random(n) ** 3
    batch = propagate(pa.table({"ts": pa.array(ts), "from_account": src, "to_account": dst}), p1, extra=True)
    assert (*PROPAGATED_FEATURES, *PROPAGATED_EXTRA) == ONLINE
    online = OnlineFeatures()
    epoch = datetime(1970, 1, 1)
    recs = [
        {"ts": int((t - epoch).total_seconds()) * 1_000_000, "from_account": a, "to_account": b}
        for t, a, b in zip(ts, src, dst, strict=True)
    ]
    got = np.vstack([online.propagate_many(recs[lo : lo + 64], p1[lo : lo + 64]) for lo in range(0, n, 64)])
    for j, name in enumerate(ONLINE):
        want = batch.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
        assert np.allclose(got[:, j], want, equal_nan=True), name
