"""The shared-scan rule engine (one scan per grouping, compiled sliding windows) gives the same hits,
alerts and rule flags as running each rule as its own SQL statement."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from rule_fixtures import accounts, parties, tx
from test_library import CASES

from filiere.rules import load_global_params, load_rules
from filiere.rules.context import ContextInputs
from filiere.rules.engine import rule_flags, run_rules
from filiere.rules.spec import Rule
from filiere.rules.window import window_aggregate, window_count_distinct

RULES = load_rules()
GLOBALS = load_global_params()


def _close_json(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a == b
    x, y = json.loads(a), json.loads(b)
    if x.keys() != y.keys():
        return False
    for k in x:
        u, v = x[k], y[k]
        if isinstance(u, float) or isinstance(v, float):
            if u is None or v is None or not math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-9):
                return False
        elif u != v:
            return False
    return True


def _same(a: pa.Table, b: pa.Table, approx: tuple[str, ...]) -> None:
    """Tables equal row by row; ``approx`` columns (sums) to 1e-9, ``values`` as JSON to 1e-9."""
    assert a.schema == b.schema
    assert a.num_rows == b.num_rows
    for col in a.column_names:
        x, y = a.column(col).to_pylist(), b.column(col).to_pylist()
        if col == "values":
            assert all(_close_json(u, v) for u, v in zip(x, y, strict=True)), col
        elif col in approx:
            assert all(
                (u is None and v is None) or math.isclose(u, v, rel_tol=1e-9) for u, v in zip(x, y, strict=True)
            ), col
        else:
            assert x == y, col


def _check(rules: list[Rule], inputs: ContextInputs) -> dict[str, int]:
    fast = run_rules(rules, inputs, global_params=GLOBALS)
    ref = run_rules(rules, inputs, global_params=GLOBALS, shared=False)
    assert fast.skipped == ref.skipped
    # the engine orders hits by rule, time and transaction; the two events of one transaction tie
    keys = [(c, "ascending") for c in ("rule_id", "ts", "tx_id", "direction", "account")]
    _same(fast.hits.sort_by(keys), ref.hits.sort_by(keys), approx=())
    _same(fast.alerts, ref.alerts, approx=("amount_usd",))
    ids = [c.rule.id for c in fast.compiled]
    tx_ids = inputs.transactions.column("tx_id")
    assert rule_flags(fast.hits, tx_ids, ids).equals(rule_flags(ref.hits, tx_ids, ids))
    per_rule: dict[str, int] = {}
    for r in fast.hits.column("rule_id").to_pylist():
        per_rule[r] = per_rule.get(r, 0) + 1
    return per_rule


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_library_cases_same_as_sql(rule_id: str) -> None:
    rule = next(r for r in RULES if r.id == rule_id)
    for inputs in CASES[rule_id]:
        _check([rule], inputs)


@pytest.fixture(scope="module")
def sahel(tmp_path_factory: pytest.TempPathFactory) -> ContextInputs:
    from filiere.scenario import generate
    from filiere.scoring.evaluate import context_for_file

    d: Path = tmp_path_factory.mktemp("sahel")
    generate("sahel", 20_000, 1, d)
    inputs = context_for_file(d / "transactions.csv", "amlworld")
    inputs.high_risk_countries = list(GLOBALS["high_risk_countries"])
    return inputs


def test_whole_library_on_a_generated_world_same_as_sql(sahel: ContextInputs) -> None:
    fired = _check(RULES, sahel)
    # the comparison means something: several windowed rules fire, with thousands of hits
    assert len(fired) >= 5 and sum(fired.values()) > 1000
    assert {"fan-in", "fan-out", "pass-through", "round-amounts"} <= set(fired)


def test_random_world_every_aggregate_kind_same_as_sql() -> None:
    """Random events on few accounts (many ties and dense windows) and rules using count, count
    DISTINCT, sum, avg, min, max with FILTER, grouped by account, pair and party."""
    rng = np.random.default_rng(5)
    rows: list[dict[str, Any]] = []
    for i in range(1500):
        rows.append(
            {
                "src": f"1:A{rng.integers(0, 12)}",
                "dst": f"2:B{rng.integers(0, 9)}",
                "amount": float(rng.choice([100, 999.5, 1000, 5000, 9500, 20000, 37.25])),
                "fmt": str(rng.choice(["Cash", "Wire", "ACH", "Mobile Money"])),
                "h": float(rng.integers(0, 24 * 20)) / 4,  # quarter hours: ties
                "tx_id": f"r{i}",
            }
        )
    accs = [{"account_id": f"1:A{i}", "owner": f"p{i % 4}", "kind": "mobile" if i % 3 else "bank"} for i in range(12)]
    accs += [{"account_id": f"2:B{i}", "owner": f"p{i % 3}"} for i in range(9)]
    pars = [{"party_id": f"p{i}", "phone": "+1" if i < 2 else None} for i in range(4)]
    inputs = ContextInputs(tx(rows), accounts=accounts(accs), parties=parties(pars))
    rules = [
        Rule(
            id="mix", title="m", typology="x", scope="account", window="2d",
            aggregates={
                "n": "count(*)",
                "n_cash": "count(*) FILTER (WHERE payment_format = 'Cash')",
                "d": "count(DISTINCT counterparty)",
                "d_out": "count(DISTINCT counterparty) FILTER (WHERE direction = 'out')",
                "s_in": "sum(amount_usd) FILTER (WHERE direction = 'in')",
                "a": "avg(amount_usd)",
                "lo": "min(amount_usd) FILTER (WHERE direction = 'out')",
                "hi": "max(amount_usd)",
                "hr": "sum(hour)",
            },
            having="n >= 3 AND (s_in IS NULL OR s_in >= 0) AND hi >= lo",
        ),
        Rule(
            id="pair", title="p", typology="x", scope="transaction", group_by=["account", "counterparty"],
            window="12h", when="direction = 'out' AND amount_usd >= 1000",
            aggregates={"k": "count(*)", "top": "max(amount_usd)"}, having="k >= 2",
        ),
        Rule(
            id="party", title="q", typology="x", scope="party", window="1d", when="direction = 'in'",
            aggregates={"w": "count(DISTINCT account)", "t": "sum(amount_usd)"}, having="w >= 2 AND t > 5000",
        ),
        Rule(
            id="plain", title="r", typology="x", scope="transaction", when="payment_format = 'Cash'", having="hour < 12"
        ),
    ]  # fmt: skip
    rules.append(
        Rule(
            id="byhour", title="h", typology="x", scope="account", group_by=["hour"], window="3d",
            aggregates={"n": "count(*)", "s": "sum(amount_usd)"}, having="n >= 4",
        )
    )  # fmt: skip
    fired = _check(rules, inputs)
    assert set(fired) == {"mix", "pair", "party", "plain", "byhour"}


def test_kernel_frame_is_range_with_peers() -> None:
    """[ts - w, ts] including later rows at the same time, per partition; nulls do not count."""
    part = np.array([0, 0, 0, 0, 1, 1])
    ts = np.array([0, 5, 5, 11, 0, 1])
    vals = np.array([1.0, 2.0, 4.0, 8.0, 16.0, 32.0])
    valid = np.array([True, True, False, True, True, True])
    s, ok = window_aggregate(part, ts, vals, valid, 5, 1)
    assert s.tolist() == [1.0, 3.0, 3.0, 8.0, 16.0, 48.0] and ok.all()
    m, ok = window_aggregate(part, ts, vals, np.array([True, False, False, True, False, True]), 5, 3)
    assert m[:4].tolist() == [1.0, 1.0, 1.0, 8.0] and ok.tolist() == [True, True, True, True, False, True]
    assert m[5] == 32.0
    d = window_count_distinct(part, ts, np.array([7, 7, 3, -1, 7, 7]), 5)
    assert d.tolist() == [1, 2, 2, 0, 1, 1]
