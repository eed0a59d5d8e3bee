from __future__ import annotations

import copy
from pathlib import Path

import pytest
from lxml import etree

from filiere.config import Settings
from filiere.report.bundle import CaseBundle, load_case_bundle
from filiere.report.goaml import (
    GoamlValidationError,
    build_goaml,
    count_goaml,
    load_schema,
    schema_for,
    validate_goaml,
)
from filiere.report.profile import GoamlProfile, load_profile
from filiere.store import open_store

from .conftest import CASE_ID, PARTIES, seed_case


def _bundle(settings: Settings, case_id: str) -> CaseBundle:
    with open_store(settings) as store:
        return load_case_bundle(store, case_id)


@pytest.fixture()
def demo() -> GoamlProfile:
    return load_profile("demo")


def test_bundle_closes_over_alerts_and_accounts(settings: Settings, case_id: str) -> None:
    b = _bundle(settings, case_id)
    assert [t.tx_id for t in b.transactions] == ["T-1", "T-2", "T-3", "T-4", "T-5"]  # items + alerts' tx_ids
    assert {p.party_id for p in b.parties} == {"P-1", "P-2", "P-3", "P-4"}  # items, alerts, account owners
    assert {a.account_id for a in b.accounts} == {"010:1001", "010:2002", "020:3003", "030:4004"}
    assert [h.entity_id for h in b.screening_hits] == ["un-QDi.999"]
    assert b.screening_hits[0].party_id == "P-3"
    assert b.indicator_codes() == ["SPTSA", "SPOEQ", "SPOSI"]
    assert b.owner("010:2002") is not None and b.owner("010:2002").name == "Sahel Négoce SARL"  # type: ignore[union-attr]


def test_demo_report_validates_and_counts_survive(settings: Settings, case_id: str, demo: GoamlProfile) -> None:
    b = _bundle(settings, case_id)
    schema = schema_for(demo, settings.shared_data)
    report = build_goaml(b, demo, schema)
    assert validate_goaml(report.xml, schema) == []
    counts = count_goaml(report.xml)
    assert counts["transactions"] == len(b.transactions) == 5
    persons = sum(1 for p in b.parties if p.is_person)
    assert counts["persons"] == persons == 2
    assert counts["entities"] == len(b.parties) - persons == 2
    assert counts["accounts"] == len(b.accounts) == 4
    root = etree.fromstring(report.xml)
    assert root.findtext("report_code") == "STR"
    assert root.findtext("rentity_id") == "1001"
    assert [i.text for i in root.iterfind("report_indicators/indicator")] == ["SPTSA", "SPOEQ", "SPOSI"]
    # every transaction keeps both sides; the EUR receiving side carries its foreign amount
    for tx in root.iterfind("transaction"):
        assert tx.find("t_from") is not None and tx.find("t_to") is not None
    t4 = root.xpath("transaction[transactionnumber='T-4']")[0]
    assert t4.findtext("amount_local") == "880000.00"
    assert t4.findtext("t_to/to_foreign_currency/foreign_currency_code") == "EUR"
    # the screening hit is told on the person
    assert "un-QDi.999" in (root.xpath("//t_person[last_name='Ibrahim']")[0].findtext("comments") or "")


def test_my_client_forms_validate_when_the_case_has_the_data(
    settings: Settings, case_id: str, demo: GoamlProfile
) -> None:
    prof = demo.model_copy(update={"my_banks": ["010"]})
    schema = schema_for(prof, settings.shared_data)
    report = build_goaml(_bundle(settings, case_id), prof, schema, report_code="SAR")
    assert validate_goaml(report.xml, schema) == []
    root = etree.fromstring(report.xml)
    assert root.findtext("report_code") == "SAR"
    t3 = root.xpath("transaction[transactionnumber='T-3']")[0]  # 010 -> 010: both sides are clients
    assert t3.find("t_from_my_client") is not None and t3.find("t_to_my_client") is not None
    assert t3.findtext("t_from_my_client/from_account/signatory/t_person/birthdate") == "1979-03-14T00:00:00"
    assert t3.findtext("t_from_my_client/from_account/opened") == "2018-01-10T00:00:00"
    # the company's account is signed by its director, who is a party of the case
    assert t3.findtext("t_to_my_client/to_account/signatory/t_person/last_name") == "Diallo"
    t1 = root.xpath("transaction[transactionnumber='T-1']")[0]  # mobile-money agent elsewhere -> client
    assert t1.find("t_from") is not None and t1.find("t_to_my_client") is not None


def test_missing_required_field_is_told_in_human_words(settings: Settings, demo: GoamlProfile) -> None:
    parties = copy.deepcopy(PARTIES)
    parties[0]["birth_date"] = None  # P-1, a client at bank 010
    with open_store(settings) as store:
        seed_case(store, parties=parties)
        b = load_case_bundle(store, CASE_ID)
    prof = demo.model_copy(update={"my_banks": ["010", "020"]})
    with pytest.raises(GoamlValidationError) as err:
        build_goaml(b, prof, schema_for(prof, settings.shared_data))
    msg = str(err.value)
    assert "party P-1 (Amadou Diallo), a client of the institution: birth date" in msg
    assert "party P-3 (Moussa Ag Ibrahim), a client of the institution: birth date" in msg
    assert "only known as '1985'" in msg
    assert "occupation" in msg  # P-3 has none
    assert "account 020:3003 of Moussa Ag Ibrahim, held at the institution: opening date" in msg
    assert "/report" not in msg and "t_person" not in msg  # no schema paths
    assert err.value.status_code == 422
    assert len(err.value.problems) == len(set(err.value.problems))


def test_schema_errors_are_mapped_back_to_the_transaction(settings: Settings, case_id: str, demo: GoamlProfile) -> None:
    prof = demo.model_copy(update={"transmodes": {**demo.transmodes, "Wire": "ZZ"}})
    with pytest.raises(GoamlValidationError) as err:
        build_goaml(_bundle(settings, case_id), prof, schema_for(prof, settings.shared_data))
    problems = err.value.problems
    assert any(p.startswith("transaction T-3 (2024-03-02 11:00") and "transaction mode" in p for p in problems)
    assert any(p.startswith("transaction T-4 ") for p in problems)
    assert all("'ZZ'" in p for p in problems)


def test_missing_exchange_rate_is_reported(settings: Settings, case_id: str, demo: GoamlProfile) -> None:
    prof = demo.model_copy(update={"currency_code_local": "USD", "exchange_rates": {}})
    with pytest.raises(GoamlValidationError, match="no exchange rate from either into USD"):
        build_goaml(_bundle(settings, case_id), prof, schema_for(prof, settings.shared_data))


def test_stock_schema_validates_without_custom_code_lists(settings: Settings, case_id: str, demo: GoamlProfile) -> None:
    prof = demo.model_copy(update={"code_lists": {}, "indicators": {}, "fallback_indicator": "-"})
    stock = load_schema(settings.shared_data / "goaml" / "goAMLSchema.xsd")
    report = build_goaml(_bundle(settings, case_id), prof, stock)
    assert report.indicators == ["-"]
    assert validate_goaml(report.xml, stock) == []
    # the demo FIU's indicators are not in the stock schema's list
    custom = build_goaml(_bundle(settings, case_id), demo, schema_for(demo, settings.shared_data))
    assert validate_goaml(custom.xml, stock) != []


def test_unmapped_indicators_without_fallback_fail(settings: Settings, case_id: str, demo: GoamlProfile) -> None:
    prof = demo.model_copy(update={"indicators": {}, "fallback_indicator": None})
    with pytest.raises(GoamlValidationError, match=r"SPTSA, SPOEQ, SPOSI\) are not in profile 'demo'"):
        build_goaml(_bundle(settings, case_id), prof, schema_for(prof, settings.shared_data))


def test_case_without_transactions_reports_an_activity(settings: Settings, demo: GoamlProfile) -> None:
    with open_store(settings) as store:
        seed_case(store)
        store.execute(
            "INSERT INTO cases (case_id, title, created_at, created_by) VALUES ('C-2', 'Listed NPO', now(), 'a')"
        )
        store.execute(
            "INSERT INTO case_items VALUES ('C-2', 'party', 'P-4', now(), 'a'),"
            " ('C-2', 'alert', 'A-scr-0002', now(), 'a')"
        )
        b = load_case_bundle(store, "C-2")
    assert b.transactions == []
    schema = schema_for(demo, settings.shared_data)
    report = build_goaml(b, demo, schema, report_code="SAR")
    assert validate_goaml(report.xml, schema) == []
    root = etree.fromstring(report.xml)
    assert len(root.findall("activity/report_parties/report_party")) == len(b.parties) + len(b.accounts)


def test_profile_errors_name_the_file(tmp_path: Path) -> None:
    from filiere.errors import UserInputError

    bad = tmp_path / "fiu.yml"
    bad.write_text("rentity_id: not-a-number\nrentity_branch: x\n", encoding="utf-8")
    with pytest.raises(UserInputError, match=r"fiu.yml: rentity_id"):
        load_profile(bad)
    with pytest.raises(UserInputError, match="unknown goAML profile 'nope'"):
        load_profile("nope")
