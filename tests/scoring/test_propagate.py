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
