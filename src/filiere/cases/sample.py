"""A small, seeded investigation world for tests, screenshots and a demo without the generator.

Pharmacies in Niamey and Gao pay a front NPO (fan-in of tramadol proceeds); the NPO pays a
trading company, which scatters the money to mobile-money agents who cash it out to a cell
(fan-out), amid ordinary background payments. Alerts are inserted through ``insert_alerts`` with
explanations shaped like the detectors' (features, rules, patterns, matches).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from filiere.cases.alerts import AlertRecord, insert_alerts
from filiere.model.schemas import ACCOUNT_SCHEMA, PARTY_SCHEMA, TRANSACTION_SCHEMA
from filiere.store.base import Store

T0 = datetime(2024, 3, 1, 9, 0)


def seed_sample(store: Store, *, seed: int = 7, background: int = 150, extra_agents: int = 0) -> dict[str, Any]:
    """Insert the sample world; returns ids the tests use (``alerts``, ``npo``, ``front``, ``agents``…).

    ``extra_agents`` widens the fan-out so that the alert network has hundreds of nodes.
    """
    rng = random.Random(seed)
    parties: list[dict[str, Any]] = []
    accounts: list[dict[str, Any]] = []
    txs: list[dict[str, Any]] = []

    def party(pid: str, schema: str, name: str, country: str, entity_type: str | None = None) -> str:
        parties.append(
            {
                "party_id": pid,
                "schema": schema,
                "name": name,
                "country": country,
                "nationality": country,
                "entity_type": entity_type,
                "properties": None,
                "source_file_id": "sample",
            }
        )
        return pid

    def account(bank: str, number: str, owner: str, kind: str = "bank", currency: str = "XOF") -> str:
        aid = f"{bank}:{number}"
        accounts.append(
            {
                "account_id": aid,
                "bank": bank,
                "account_number": number,
                "bank_name": f"Bank {bank}",
                "currency": currency,
                "kind": kind,
                "owner_party_id": owner,
                "properties": None,
                "source_file_id": "sample",
            }
        )
        return aid

    def pay(src: str, dst: str, amount: float, ts: datetime, fmt: str = "Wire", laundering: bool = True) -> str:
        tx_id = f"T{len(txs) + 1:05d}"
        txs.append(
            {
                "tx_id": tx_id,
                "ts": ts,
                "from_bank": src.split(":")[0],
                "from_account": src,
                "to_bank": dst.split(":")[0],
                "to_account": dst,
                "amount_received": amount,
                "receiving_currency": "XOF",
                "amount_paid": amount,
                "payment_currency": "XOF",
                "payment_format": fmt,
                "is_laundering": laundering,
                "source_file_id": "sample",
                "source_row": len(txs) + 1,
                "properties": json.dumps({"remittance": "don"}),
            }
        )
        return tx_id

    pharmacies = [
        account("010", f"PH{i:03d}", party(f"P-PH{i}", "Company", f"Pharmacie {n}", "ne", "pharmacy"))
        for i, n in enumerate(["du Fleuve", "Al Nour", "de Gao", "Espoir", "Sahel Santé"])
    ]
    npo = account("020", "NPO001", party("P-NPO", "Organization", "Association Bienfaisance du Sahel", "ml", "npo"))
    front = account("030", "TR001", party("P-TRADE", "Company", "Sahara Négoce SARL", "ml", "trading"))
    n_agents = 6 + extra_agents
    agents = [
        account("MM1", f"AG{i:04d}", party(f"P-AG{i}", "Person", f"Agent {i} Moussa", "ml", "mm_agent"), "mobile")
        for i in range(n_agents)
    ]
    cell = account("MM1", "CELL01", party("P-CELL", "Person", "Oumar Ag Hamid", "ml"), "mobile")
    others = [account("040", f"C{i:03d}", party(f"P-C{i}", "Person", f"Client {i}", "ne")) for i in range(20)]

    fan_in, fan_out, layering = [], [], []
    for day in range(10):
        for ph in pharmacies:
            fan_in.append(
                pay(
                    ph,
                    npo,
                    round(rng.uniform(400_000, 900_000), -3),
                    T0 + timedelta(days=day, hours=rng.randint(0, 8)),
                    "Cash",
                )
            )
    # mixed funds: ordinary donations into the NPO
    for i in range(10):
        pay(others[i], npo, round(rng.uniform(50_000, 150_000), -3), T0 + timedelta(days=i, hours=3), "Wire", False)
    layering.append(pay(npo, front, 25_000_000.0, T0 + timedelta(days=11)))
    layering.append(pay(npo, front, 5_000_000.0, T0 + timedelta(days=12)))
    for i, ag in enumerate(agents):
        fan_out.append(
            pay(
                front,
                ag,
                round(rng.uniform(200_000, 400_000), -3),
                T0 + timedelta(days=13, hours=i % 24, minutes=i),
                "Mobile Money",
            )
        )
    cash_out = [
        pay(ag, cell, 150_000.0, T0 + timedelta(days=15, minutes=i), "Mobile Money") for i, ag in enumerate(agents[:6])
    ]
    for _ in range(background):
        a, b = rng.sample(others, 2)
        pay(a, b, round(rng.uniform(5_000, 300_000), -2), T0 + timedelta(days=rng.uniform(0, 20)), "ACH", False)

    store.insert_arrow("parties", pa.Table.from_pylist(parties, schema=PARTY_SCHEMA))
    store.insert_arrow("accounts", pa.Table.from_pylist(accounts, schema=ACCOUNT_SCHEMA))
    store.insert_arrow("transactions", pa.Table.from_pylist(txs, schema=TRANSACTION_SCHEMA))

    alerts = [
        AlertRecord(
            source="rule",
            title="Fan-in from 5 pharmacies into an NPO",
            score=0.93,
            dedup_key=f"fan-in:{npo}",
            typology="fan-in",
            vector="drugs",
            indicator_codes=["SPOSI", "NPOFR"],
            rule_ids=["R-FANIN-NPO"],
            tx_ids=fan_in,
            account_ids=[npo, *pharmacies],
            party_ids=["P-NPO"] + [f"P-PH{i}" for i in range(5)],
            event_ts=T0 + timedelta(days=9),
            explanation={
                "summary": "50 cash deposits from 5 pharmacies into a charity within 10 days",
                "features": [
                    {"name": "fan_in_degree_7d", "value": 5, "contribution": 0.31},
                    {"name": "cash_share", "value": 0.82, "contribution": 0.22},
                    {"name": "npo_counterparty", "value": 1, "contribution": 0.12},
                    {"name": "amount_roundness", "value": 0.9, "contribution": -0.03},
                ],
                "rules": [{"id": "R-FANIN-NPO", "name": "Pharmacies paying an NPO", "detail": "5 pharmacies ≥ 3"}],
                "patterns": [{"type": "FAN-IN", "center": npo, "degree": 5}],
                "matches": [],
            },
        ),
        AlertRecord(
            source="model",
            title="Scatter from a trading company to mobile-money agents",
            score=0.87,
            dedup_key=f"fan-out:{front}",
            typology="fan-out",
            vector="cell",
            indicator_codes=["SPOEQ"],
            rule_ids=["R-FANOUT-MM"],
            tx_ids=layering + fan_out + cash_out,
            account_ids=[front, *agents, cell],
            party_ids=["P-TRADE", "P-CELL"],
            event_ts=T0 + timedelta(days=13),
            model_version="lgbm-sample",
            explanation={
                "summary": f"{len(fan_out)} mobile-money payments from one company in a day, cashed out to one person",
                "features": [
                    {"name": "fan_out_degree_1d", "value": len(fan_out), "contribution": 0.35},
                    {"name": "mobile_money_share", "value": 1.0, "contribution": 0.18},
                ],
                "rules": [{"id": "R-FANOUT-MM", "name": "Scatter to mobile money", "detail": "≥ 5 agents in 24 h"}],
                "patterns": [{"type": "SCATTER-GATHER", "center": front}],
                "matches": [],
            },
        ),
        AlertRecord(
            source="screening",
            title="Counterparty matches a sanctioned person",
            score=0.78,
            dedup_key="screen:P-CELL",
            typology="sanctions-match",
            vector="cell",
            indicator_codes=["SPOSL"],
            rule_ids=[],
            tx_ids=cash_out,
            account_ids=[cell],
            party_ids=["P-CELL"],
            event_ts=T0 + timedelta(days=15),
            explanation={
                "summary": "Oumar Ag Hamid ~ OUMAR AG HAMID (UN 1267)",
                "matches": [{"list": "un_sc", "entity": "QDi.999", "name": "OUMAR AG HAMID", "score": 0.78}],
            },
        ),
        AlertRecord(
            source="rule",
            title="Structuring below the reporting threshold",
            score=0.35,
            dedup_key="struct:040:C001",
            typology="structuring",
            vector="financial-crime",
            indicator_codes=["SPOST"],
            rule_ids=["R-STRUCT"],
            tx_ids=[t["tx_id"] for t in txs if t["from_account"] == others[1]][:8],
            account_ids=[others[1]],
            party_ids=["P-C1"],
            event_ts=T0 + timedelta(days=5),
            explanation={"summary": "8 payments just under the threshold", "rules": [{"id": "R-STRUCT"}]},
        ),
    ]
    insert_alerts(store, alerts)
    return {
        "alerts": [a.alert_id for a in alerts],
        "npo": npo,
        "front": front,
        "pharmacies": pharmacies,
        "agents": agents,
        "cell": cell,
        "fan_in": fan_in,
        "layering": layering,
    }
