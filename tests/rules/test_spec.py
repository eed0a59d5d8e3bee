"""Rule files: validation of expressions, parameters, overrides, and SQL compilation."""

from __future__ import annotations

from pathlib import Path

import pytest
from rule_fixtures import tx

from filiere.errors import UserInputError
from filiere.rules import load_global_params, load_rules
from filiere.rules.backtest import backtest
from filiere.rules.context import EVENT_COLUMNS, ContextInputs
from filiere.rules.engine import compile_rule, rule_flags, run_rules
from filiere.rules.spec import Rule, load_rule_file

COLS = frozenset(EVENT_COLUMNS)


def rule(**kw: object) -> Rule:
    base: dict[str, object] = {"id": "r", "title": "t", "typology": "x"}
    base.update(kw)
    return Rule(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "when",
    [
        "amount_usd > 1; DROP TABLE transactions",
        "read_csv('x') IS NULL",
        'amount_usd > "1"',
        "amount_usd > (1",
    ],
)
def test_expressions_outside_the_grammar_are_refused(when: str) -> None:
    with pytest.raises(UserInputError):
        compile_rule(rule(when=when), COLS, {})


def test_unknown_parameter_and_aggregate_in_when_are_refused() -> None:
    with pytest.raises(UserInputError, match=r"\$nope"):
        compile_rule(rule(when="amount_usd > $nope"), COLS, {})
    with pytest.raises(UserInputError, match="aggregates"):
        compile_rule(rule(when="count(*) > 1"), COLS, {})


def test_unknown_column_skips_the_rule_and_says_why() -> None:
    r = rule(when="fan_in_degree > 3", scope="transaction")
    run = run_rules([r], ContextInputs(tx([{}])))
    assert "fan_in_degree" in run.skipped["r"]


def test_feature_columns_become_usable() -> None:
    import pyarrow as pa

    t = tx([{}, {}])
    feats = pa.table({"tx_id": ["t0", "t1"], "fan_in_degree": [1, 5]})
    r = rule(when="direction = 'out' AND fan_in_degree > 3", scope="transaction")
    run = run_rules([r], ContextInputs(t, features=feats))
    assert run.hits.column("tx_id").to_pylist() == ["t1"]


def test_compiled_sql_is_a_causal_window() -> None:
    r = rule(window="2h", aggregates={"n": "count(*)"}, having="n >= 2")
    sql = compile_rule(r, COLS, {}).sql
    assert "RANGE BETWEEN INTERVAL '7200 seconds' PRECEDING AND CURRENT ROW" in sql
    # three transfers an hour apart: the 2-hour window holds at most 3, never a future one
    t = tx([{"h": 0}, {"h": 1}, {"h": 5}])
    hits = run_rules([r.model_copy(update={"when": "direction = 'out'"})], ContextInputs(t)).hits
    assert hits.column("tx_id").to_pylist() == ["t1"]


def test_a_new_rule_is_just_a_yaml_file(tmp_path: Path) -> None:
    (tmp_path / "big.yml").write_text(
        "id: big-wire\ntitle: Big wire\ntypology: large\nscope: transaction\n"
        "when: \"direction = 'out' AND payment_format = 'Wire' AND amount_usd >= $min\"\nparams: {min: 500}\n"
    )
    rules = load_rules([tmp_path], overrides={"rule_params": {"big-wire": {"min": 150}}, "disabled": ["fan-in"]})
    by_id = {r.id: r for r in rules}
    assert by_id["big-wire"].params["min"] == 150
    assert not by_id["fan-in"].enabled
    run = run_rules([by_id["big-wire"]], ContextInputs(tx([{"amount": 100}, {"amount": 200}])))
    assert run.hits.column("tx_id").to_pylist() == ["t1"]


def test_bad_rule_file_names_file_and_field(tmp_path: Path) -> None:
    f = tmp_path / "bad.yml"
    f.write_text("id: x\ntitle: t\ntypology: y\nscope: galaxy\n")
    with pytest.raises(UserInputError, match=r"bad\.yml.*scope"):
        load_rule_file(f)


def test_backtest_numbers_on_a_labelled_fixture() -> None:
    # 4 big wires, 3 of them laundering; one laundering small wire the rule misses
    t = tx(
        [
            {"amount": 900, "y": True},
            {"amount": 900, "y": True},
            {"amount": 900, "y": True},
            {"amount": 900, "y": False},
            {"amount": 10, "y": True},
            {"amount": 10, "y": False},
        ]
    )
    r = rule(id="big", when="direction = 'out' AND amount_usd >= 500", scope="transaction")
    scores, _ = backtest([r], ContextInputs(t))
    s = scores[0]
    assert (s.alerts, s.tx_flagged, s.tx_true) == (4, 4, 3)
    assert s.precision == pytest.approx(0.75)
    assert s.recall == pytest.approx(0.75)


def test_rule_flags_are_per_transaction_in_input_order() -> None:
    t = tx([{"amount": 900}, {"amount": 10}, {"amount": 900}])
    r = rule(id="big", when="direction = 'out' AND amount_usd >= 500", scope="transaction")
    run = run_rules([r], ContextInputs(t))
    flags = rule_flags(run.hits, t.column("tx_id"), ["big"])
    assert flags.column("tx_id").to_pylist() == ["t0", "t1", "t2"]
    assert flags.column("rule_big").to_pylist() == [1, 0, 1]


def test_library_loads_and_every_rule_has_indicator_codes_or_says_none() -> None:
    rules = load_rules()
    assert len(rules) >= 12
    g = load_global_params()
    assert "high_risk_countries" in g
    for r in rules:
        compile_rule(r, COLS, g)
