"""Each library rule fires on a constructed positive case and stays silent on a near-miss."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest
from rule_fixtures import accounts, parties, tx

from filiere.rules import load_global_params, load_rules
from filiere.rules.context import ContextInputs
from filiere.rules.engine import run_rules

RULES = {r.id: r for r in load_rules()}
GLOBALS = load_global_params()


def fired(rule_id: str, inputs: ContextInputs) -> set[str]:
    run = run_rules([RULES[rule_id]], inputs, global_params=GLOBALS)
    assert rule_id not in run.skipped, run.skipped
    return set(run.hits.column("tx_id").to_pylist())


def structuring(amount: float) -> ContextInputs:
    rows = [{"src": f"1:S{i}", "dst": "1:B", "amount": amount, "fmt": "Cash", "h": i * 5} for i in range(4)]
    return ContextInputs(tx(rows))


def pass_through(out_amount: float) -> ContextInputs:
    rows = [
        {"src": "1:X", "dst": "1:P", "amount": 18000, "h": 0},
        {"src": "1:Y", "dst": "1:P", "amount": 6000, "h": 1},
        {"src": "1:P", "dst": "1:Z", "amount": out_amount, "h": 5},
    ]
    return ContextInputs(tx(rows))


def dispersal(n_out: int) -> ContextInputs:
    rows: list[dict[str, Any]] = [{"src": "1:R", "dst": "1:K", "amount": 50000, "h": 0}]
    rows += [{"src": "1:K", "dst": f"1:O{i}", "amount": 6000, "h": 1 + i} for i in range(n_out)]
    return ContextInputs(tx(rows))


def collection(n_senders: int, kind: str) -> ContextInputs:
    rows = [{"src": f"2:M{i}", "dst": "2:W", "amount": 20, "h": i} for i in range(n_senders)]
    return ContextInputs(tx(rows), accounts=accounts([{"account_id": "2:W", "kind": kind}]))


def fan(n: int, direction: str) -> ContextInputs:
    if direction == "in":
        rows = [{"src": f"1:F{i}", "dst": "1:H", "h": i} for i in range(n)]
    else:
        rows = [{"src": "1:H", "dst": f"1:F{i}", "h": i} for i in range(n)]
    return ContextInputs(tx(rows))


def npo(first_seen_days_ago: float, amount: float) -> ContextInputs:
    rows = [
        {"src": "1:D0", "dst": "1:N", "amount": 50, "h": 0},
        {"src": "1:D1", "dst": "1:N", "amount": amount, "h": first_seen_days_ago * 24},
    ]
    acc = accounts([{"account_id": "1:N", "owner": "p-npo"}])
    par = parties([{"party_id": "p-npo", "schema": "Organization", "entity_type": "npo", "country": "fr"}])
    return ContextInputs(tx(rows), accounts=acc, parties=par)


def npo_transfer(country: str) -> ContextInputs:
    rows = [{"src": "1:N", "dst": "9:Q", "amount": 4000, "h": 0}]
    acc = accounts([{"account_id": "1:N", "owner": "p-npo"}, {"account_id": "9:Q", "owner": "p-q"}])
    par = parties(
        [
            {"party_id": "p-npo", "schema": "Organization", "entity_type": "npo", "country": "fr"},
            {"party_id": "p-q", "country": country},
        ]
    )
    return ContextInputs(tx(rows), accounts=acc, parties=par, high_risk_countries=GLOBALS["high_risk_countries"])


def npo_conduit(paid_out: float, *, entity_type: str = "npo", days_later: float = 2.0) -> ContextInputs:
    """A charity receives 40,000 and pays two recipients ``paid_out`` each ``days_later`` days after."""
    rows: list[dict[str, Any]] = [
        {"src": "1:D0", "dst": "1:N", "amount": 60, "h": 0},
        {"src": "1:FIN", "dst": "1:N", "amount": 40000, "h": 1},
        {"src": "1:N", "dst": "7:R1", "amount": paid_out, "h": 1 + days_later * 24},
        {"src": "1:N", "dst": "7:R2", "amount": paid_out, "h": 2 + days_later * 24},
    ]
    acc = accounts([{"account_id": "1:N", "owner": "p-npo"}])
    par = parties([{"party_id": "p-npo", "schema": "Organization", "entity_type": entity_type, "country": "fr"}])
    return ContextInputs(tx(rows), accounts=acc, parties=par)


def crypto(address: str) -> ContextInputs:
    rows = [{"src": "1:C", "dst": f"btc:{address}", "amount": 0.5, "currency": "XBT", "fmt": "Bitcoin"}]
    tagged = pa.table({"address": ["1BadAddr"], "tag": ["ransomware"]})
    return ContextInputs(tx(rows), tagged_addresses=tagged)


def crypto_from_tagged(address: str) -> ContextInputs:
    """A tagged address pays on: the first hop of a peel chain out of a ransom address."""
    rows = [{"src": f"btc:{address}", "dst": "btc:1Next", "amount": 0.5, "currency": "XBT", "fmt": "Bitcoin"}]
    tagged = pa.table({"address": ["1BadAddr"], "tag": ["ransomware"]})
    return ContextInputs(tx(rows), tagged_addresses=tagged)


def peel_hop(forward_btc: float, *, exchange: bool = False, hours: float = 2.0) -> ContextInputs:
    """btc:H receives 1 BTC (~60,000 USD), peels 0.15 off, forwards ``forward_btc`` to the next hop."""
    btc = {"currency": "XBT", "fmt": "Bitcoin"}
    rows: list[dict[str, Any]] = [
        {"src": "btc:PREV", "dst": "btc:H", "amount": 1.0, "h": 0, **btc},
        {"src": "btc:H", "dst": "btc:PEEL", "amount": 0.15, "h": hours, **btc},
        {"src": "btc:H", "dst": "btc:NEXT", "amount": forward_btc, "h": hours + 0.2, **btc},
    ]
    acc = accounts([{"account_id": "btc:H", "kind": "crypto", "owner": "p-h"}])
    par = parties([{"party_id": "p-h", "entity_type": "exchange" if exchange else None}])
    return ContextInputs(tx(rows), accounts=acc, parties=par)


def loan_travel(with_cash_out: bool) -> ContextInputs:
    rows: list[dict[str, Any]] = [
        {"src": "1:LENDER", "dst": "1:L", "amount": 5000, "h": 0, "properties": '{"purpose": "loan"}'}
    ]
    if with_cash_out:
        rows.append({"src": "1:L", "dst": "1:CASH", "amount": 4000, "fmt": "Cash", "h": 24})
    rows.append({"src": "1:L", "dst": "1:AIR", "amount": 600, "h": 72, "properties": '{"purpose": "travel"}'})
    return ContextInputs(tx(rows))


def loan_cash(cash: float) -> ContextInputs:
    rows: list[dict[str, Any]] = [{"src": "1:LND", "dst": "1:L", "amount": 5000, "h": 0, "fmt": "ACH"}]
    rows.append({"src": "1:L", "dst": "1:AGENT", "amount": cash, "fmt": "Cash", "h": 48})
    acc = accounts([{"account_id": "1:LND", "owner": "bank-x"}])
    par = parties([{"party_id": "bank-x", "schema": "Company", "entity_type": "lender"}])
    return ContextInputs(tx(rows), accounts=acc, parties=par)


def shared_phone(n_sharing: int) -> ContextInputs:
    accs = [{"account_id": f"3:W{i}", "kind": "mobile", "owner": f"p{i}"} for i in range(4)]
    pars = [{"party_id": f"p{i}", "phone": "+22370000000" if i < n_sharing else f"+2237000000{i}"} for i in range(4)]
    # eight donors, each paying one of the wallets, within a day
    rows = [{"src": f"3:DONOR{j}", "dst": f"3:W{j % 3}", "amount": 25, "h": j} for j in range(8)]
    return ContextInputs(tx(rows), accounts=accounts(accs), parties=parties(pars))


def round_amounts(amount: float) -> ContextInputs:
    rows = [{"src": "1:R", "dst": f"1:S{i}", "amount": amount, "h": i * 10} for i in range(5)]
    return ContextInputs(tx(rows))


def corridor(country: str) -> ContextInputs:
    rows = [{"src": "1:A", "dst": "5:B", "amount": 30000}]
    acc = accounts([{"account_id": "1:A", "owner": "pa"}, {"account_id": "5:B", "owner": "pb"}])
    par = parties([{"party_id": "pa", "country": "fr"}, {"party_id": "pb", "country": country}])
    return ContextInputs(tx(rows), accounts=acc, parties=par, high_risk_countries=GLOBALS["high_risk_countries"])


def sanctions(hit: bool) -> ContextInputs:
    rows = [{"src": "1:A", "dst": "1:B"}]
    acc = accounts([{"account_id": "1:B", "owner": "pb"}])
    return ContextInputs(tx(rows), accounts=acc, list_hit_parties=["pb"] if hit else [])


CASES: dict[str, tuple[ContextInputs, ContextInputs]] = {
    "structuring-cash": (structuring(9500), structuring(12000)),
    "pass-through": (pass_through(23600), pass_through(3000)),
    "rapid-dispersal": (dispersal(9), dispersal(2)),
    "fan-in-mobile-collection": (collection(22, "mobile"), collection(22, "bank")),
    "fan-in": (fan(16, "in"), fan(4, "in")),
    "fan-out": (fan(16, "out"), fan(4, "out")),
    "npo-new-large-deposit": (npo(10, 20000), npo(200, 20000)),
    "npo-high-risk-transfer": (npo_transfer("ml"), npo_transfer("be")),
    "npo-pass-through": (npo_conduit(19500), npo_conduit(6000)),
    "crypto-tagged-address": (crypto("1BadAddr"), crypto("1CleanAddr")),
    "crypto-peel-chain": (peel_hop(0.845), peel_hop(0.30)),
    "loan-cashout-travel": (loan_travel(True), loan_travel(False)),
    "loan-cash-out": (loan_cash(4000), loan_cash(1000)),
    "wallets-sharing-phone": (shared_phone(3), shared_phone(1)),
    "round-amounts": (round_amounts(7000), round_amounts(7013)),
    "high-risk-corridor": (corridor("sy"), corridor("de")),
    "sanctions-counterparty": (sanctions(True), sanctions(False)),
}


def test_every_library_rule_has_a_case() -> None:
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires_on_positive_and_not_on_negative(rule_id: str) -> None:
    positive, negative = CASES[rule_id]
    assert fired(rule_id, positive), f"{rule_id} did not fire on its positive case"
    assert not fired(rule_id, negative), f"{rule_id} fired on its negative case"


def test_structuring_fires_from_the_third_deposit_only() -> None:
    assert fired("structuring-cash", structuring(9500)) == {"t2", "t3"}


def test_pass_through_fires_on_the_outgoing_transfer() -> None:
    assert fired("pass-through", pass_through(23600)) == {"t2"}


def test_crypto_tagged_fires_on_payments_out_of_a_tagged_address() -> None:
    assert fired("crypto-tagged-address", crypto_from_tagged("1BadAddr")) == {"t0"}
    assert not fired("crypto-tagged-address", crypto_from_tagged("1CleanAddr"))


def test_peel_chain_fires_on_the_forward_not_the_peel() -> None:
    # the peel alone (0.15 of 1 BTC) is no pass-through; the forward of the rest completes it
    assert fired("crypto-peel-chain", peel_hop(0.845)) == {"t2"}


def test_peel_chain_near_misses() -> None:
    assert not fired("crypto-peel-chain", peel_hop(0.845, exchange=True)), "exchanges pass coins on all day"
    assert not fired("crypto-peel-chain", peel_hop(0.845, hours=30.0)), "outside the 24 h window"
    assert not fired("crypto-peel-chain", peel_hop(1.2)), "pays out more than it received in the window"


def test_npo_pass_through_fires_once_most_of_the_deposit_is_gone() -> None:
    # the first transfer (19,500 of 40,060) is under half; the second takes it over half
    assert fired("npo-pass-through", npo_conduit(19500)) == {"t3"}
    assert not fired("npo-pass-through", npo_conduit(19500, entity_type="company")), "only non-profits"
    assert not fired("npo-pass-through", npo_conduit(19500, days_later=9)), "paid out after the 7-day window"


def loan_then_cash(loan: float, cash: list[float]) -> ContextInputs:
    rows: list[dict[str, Any]] = [{"src": "1:LND", "dst": "1:L", "amount": loan, "h": 0, "fmt": "ACH"}]
    rows += [{"src": "1:L", "dst": "1:AGENT", "amount": c, "fmt": "Cash", "h": 24 + 24 * i} for i, c in enumerate(cash)]
    acc = accounts([{"account_id": "1:LND", "owner": "bank-x"}])
    par = parties([{"party_id": "bank-x", "schema": "Company", "entity_type": "lender"}])
    return ContextInputs(tx(rows), accounts=acc, parties=par)


def test_loan_cash_out_needs_one_large_withdrawal_of_a_real_loan() -> None:
    assert fired("loan-cash-out", loan_then_cash(5000, [200, 1500])) == {"t2"}
    # ten cash payments of 200 (2,000 in all, 40% of the loan): everyday spending, not a cash-out
    assert not fired("loan-cash-out", loan_then_cash(5000, [200] * 10))
    # a micro-loan withdrawn in full
    assert not fired("loan-cash-out", loan_then_cash(800, [800]))
