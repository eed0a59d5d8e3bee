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
