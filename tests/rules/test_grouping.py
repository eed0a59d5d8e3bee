"""Rule alerts are grouped: one per subject (group_by) and episode, listing the member transactions."""

from __future__ import annotations

from datetime import datetime

from rule_fixtures import accounts, parties, tx

from filiere.rules import load_global_params, load_rules
from filiere.rules.context import ContextInputs
from filiere.rules.engine import run_rules
from filiere.rules.spec import Rule
from filiere.scoring.detect import rule_alerts_from

RULES = {r.id: r for r in load_rules()}
GLOBALS = load_global_params()


def _phone_world(n_donors: int, second_burst_h: float | None = None) -> ContextInputs:
    accs = [{"account_id": f"3:W{i}", "kind": "mobile", "owner": f"p{i}"} for i in range(3)]
    pars = [{"party_id": f"p{i}", "phone": "+22370000000"} for i in range(3)]
    rows = [{"src": f"3:D{j}", "dst": f"3:W{j % 3}", "amount": 25, "h": j} for j in range(n_donors)]
    if second_burst_h is not None:
        rows += [
            {"src": f"3:E{j}", "dst": f"3:W{j % 3}", "amount": 30, "h": second_burst_h + j} for j in range(n_donors)
        ]
    return ContextInputs(tx(rows), accounts=accounts(accs), parties=parties(pars))


def test_shared_phone_gives_one_alert_per_phone_listing_every_member() -> None:
    run = run_rules([RULES["wallets-sharing-phone"]], _phone_world(10), global_params=GLOBALS)
    # the rule triggers from the 6th donor on (several hits), but the analyst gets one alert
    assert run.hits.num_rows >= 4
    assert run.alerts.num_rows == 1
    a = run.alerts.to_pylist()[0]
    assert a["group_key"] == "+22370000000"
    assert a["members"] == 10 and sorted(a["tx_ids"]) == sorted(f"t{j}" for j in range(10))
    assert set(a["trigger_tx_ids"]) < set(a["tx_ids"])
    assert sorted(a["accounts"]) == ["3:W0", "3:W1", "3:W2"]


def test_bursts_further_apart_than_the_gap_are_separate_alerts() -> None:
    run = run_rules([RULES["wallets-sharing-phone"]], _phone_world(8, second_burst_h=24 * 30), global_params=GLOBALS)
    assert run.alerts.num_rows == 2
    assert [a["members"] for a in run.alerts.to_pylist()] == [8, 8]


def test_pair_grouping_for_sanctions_counterparty() -> None:
    rows = [{"src": "1:A", "dst": "1:B", "h": h} for h in (0, 2, 4)] + [{"src": "1:C", "dst": "1:B", "h": 5}]
    acc = accounts([{"account_id": "1:B", "owner": "pb"}])
    run = run_rules([RULES["sanctions-counterparty"]], ContextInputs(tx(rows), accounts=acc, list_hit_parties=["pb"]))
    keys = sorted(a["group_key"] for a in run.alerts.to_pylist())
    assert keys == ["1:A|1:B", "1:C|1:B"]
    assert sorted(len(a["tx_ids"]) for a in run.alerts.to_pylist()) == [1, 3]


def test_alert_records_respect_the_budget_most_severe_first() -> None:
    low = Rule(id="small", title="s", typology="x", severity="low", scope="transaction", when="direction = 'out'")
    crit = Rule(
        id="big", title="b", typology="x", severity="critical", scope="transaction",
        when="direction = 'out' AND amount_usd >= 500",
    )  # fmt: skip
    t = tx([{"amount": 900, "src": f"1:S{i}"} for i in range(3)] + [{"amount": 10, "src": f"1:L{i}"} for i in range(5)])
    run = run_rules([low, crit], ContextInputs(t))
    assert run.alerts.num_rows == 8 + 3
    recs = rule_alerts_from(run.alerts, {"small": low, "big": crit}, cap=4)
    assert len(recs) == 4
    assert [r.rule_ids[0] for r in recs] == ["big", "big", "big", "small"]
    assert all(r.tx_ids and r.explanation["group"]["members"] == len(r.tx_ids) for r in recs)
    assert isinstance(recs[0].event_ts, datetime)
