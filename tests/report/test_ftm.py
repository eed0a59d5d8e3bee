from __future__ import annotations

import json
from collections import Counter

from followthemoney import model

from filiere.config import Settings
from filiere.report.bundle import load_case_bundle
from filiere.report.ftm import export_ftm
from filiere.store import open_store


def test_ftm_export_reimports(settings: Settings, case_id: str) -> None:
    with open_store(settings) as store:
        b = load_case_bundle(store, case_id)
    text = export_ftm(b)
    entities = [model.get_proxy(json.loads(line)) for line in text.splitlines()]  # cleans: raises on bad data
    counts = Counter(e.schema.name for e in entities)
    assert counts == {
        "Person": 2,
        "Company": 1,
        "Organization": 1,
        "BankAccount": 4,
        "Ownership": 4,
        "Payment": 5,
        "Sanction": 1,
    }
    ids = {e.id for e in entities}
    assert len(ids) == len(entities)
    # every reference points to an entity of the export
    for e in entities:
        for prop, value in e.itervalues():
            if prop.type.name == "entity":
                assert value in ids, (e.schema.name, prop.name, value)
    pay = next(e for e in entities if e.schema.name == "Payment" and e.first("transactionNumber") == "T-4")
    assert pay.first("amount") == "880000.00" and pay.first("currency") == "XOF"
    sanction = next(e for e in entities if e.schema.name == "Sanction")
    assert sanction.first("authorityId") == "un-QDi.999" and sanction.first("program") == "1267"
    person = next(e for e in entities if e.first("name") == "Amadou Diallo")
    assert person.first("birthDate") == "1979-03-14" and person.first("nationality") == "ml"
    assert export_ftm(b) == text  # stable ids and order
