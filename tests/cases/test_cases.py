"""Alert queue, triage, cases and the audit chain (library level)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from filiere.cases import audit, service
from filiere.cases.audit import SystemActor
from filiere.cases.sample import seed_sample
from filiere.config import load_settings
from filiere.errors import ConflictError, PermissionDeniedError, UserInputError
from filiere.store import open_store

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
ANALYST = SystemActor("ana", "analyst")
SUPERVISOR = SystemActor("sup", "supervisor")


@pytest.fixture()
def world(workspace: Path) -> Any:
    with open_store(load_settings(workspace)) as store:
        ids = seed_sample(store)
        yield store, ids


def test_queue_filters_and_sorting(world: Any) -> None:
    store, ids = world
    rows, total = service.list_alerts(store, service.AlertFilter())
    assert total == 4 and [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert service.list_alerts(store, service.AlertFilter(min_score=0.8))[1] == 2
    assert service.list_alerts(store, service.AlertFilter(indicator="SPOSL"))[0][0]["alert_id"] == ids["alerts"][2]
    assert service.list_alerts(store, service.AlertFilter(rule="R-FANIN-NPO"))[1] == 1
    assert service.list_alerts(store, service.AlertFilter(vector="cell"))[1] == 2
    asc, _ = service.list_alerts(store, service.AlertFilter(sort="score", descending=False))
    assert asc[0]["score"] == 0.35
    with pytest.raises(UserInputError):
        service.list_alerts(store, service.AlertFilter(sort="score; DROP TABLE alerts"))


def test_triage_case_workflow_and_audit(world: Any) -> None:
    store, ids = world
    a0, a1 = ids["alerts"][:2]
    service.assign_alert(store, ANALYST, a0, None)
    service.disposition_alert(store, ANALYST, a0, "true_positive", "confirmed fronts")
    alert = service.get_alert(store, ANALYST, a0)
    assert alert["status"] == "closed" and alert["disposition"] == "true_positive"
    assert len(alert["transactions"]) == 50 and alert["explanation"]["features"][0]["name"] == "fan_in_degree_7d"
    with pytest.raises(UserInputError):
        service.disposition_alert(store, ANALYST, a1, "true_positive", "  ")
    case_id = service.create_case(store, ANALYST, alert_ids=[a0])
    assert service.merge_alerts(store, ANALYST, case_id, [a1, a0]) == 1
    with pytest.raises(ConflictError):
        service.create_case(store, ANALYST, alert_ids=[a1])
    case = service.get_case(store, ANALYST, case_id)
    assert {a["alert_id"] for a in case["alerts"]} == {a0, a1}
    assert case["transitions"] == ["under_review"]
    assert len(case["timeline"]) == 50 + 2 + len(ids["agents"]) + 6
    net = service.case_network(store, case_id)
    assert len(net["nodes"]) >= 14 and len(net["edges"]) == len(case["timeline"])
    service.add_note(store, ANALYST, case_id, "asked the bank for KYC files")
    service.add_attachment(store, ANALYST, case_id, "kyc.txt", "text/plain", b"hello")
    with pytest.raises(ConflictError):
        service.transition_case(store, ANALYST, case_id, "reported")
    service.transition_case(store, ANALYST, case_id, "under_review")
    with pytest.raises(PermissionDeniedError):
        service.transition_case(store, ANALYST, case_id, "reported")
    service.transition_case(store, SUPERVISOR, case_id, "reported")
    actions = [e["action"] for e in audit.entries(store, limit=100)]
    for expected in (
        "alert.assign",
        "alert.disposition",
        "alert.view",
        "case.create",
        "alert.merge",
        "case.note",
        "case.attach",
        "case.status",
        "case.view",
    ):
        assert expected in actions
    disp = audit.entries(store, action="alert.disposition")[0]
    assert disp["before"]["status"] == "new" and disp["after"]["disposition"] == "true_positive"
    assert audit.verify(store).ok


def _some_entries(store: Any) -> None:
    for i in range(5):
        audit.record(store, ANALYST, "party.view", "party", f"P-{i}", detail={"i": i})


def test_audit_chain_detects_an_edited_row(world: Any) -> None:
    store, _ = world
    _some_entries(store)
    good = audit.verify(store)
    assert good.ok and good.rows == 5
    store.execute("UPDATE audit_log SET username = 'mallory' WHERE seq = 3")
    bad = audit.verify(store)
    assert not bad.ok and any("seq 3" in p and "edited" in p for p in bad.problems)


def test_audit_chain_detects_a_deleted_row_and_a_rehashed_edit(world: Any) -> None:
    store, _ = world
    _some_entries(store)
    store.execute("DELETE FROM audit_log WHERE seq = 2")
    assert not audit.verify(store).ok
    store.execute("DELETE FROM audit_log")
    _some_entries(store)
    # a forger who recomputes the edited row's own hash still breaks the next row's link
    row = store.query("SELECT prev_hash FROM audit_log WHERE seq = 2")[0][0]
    store.execute("UPDATE audit_log SET object_id = 'P-x', hash = ? WHERE seq = 2", ["f" * 64])
    res = audit.verify(store)
    assert not res.ok and any("seq 3" in p and "prev_hash" in p for p in res.problems)
    assert row


def test_audit_truncation_detected_with_recorded_head(world: Any) -> None:
    store, _ = world
    _some_entries(store)
    head = audit.verify(store).head
    store.execute("DELETE FROM audit_log WHERE seq = 5")
    assert audit.verify(store).ok  # a shorter valid chain…
    assert not audit.verify(store, expect_head=head).ok  # …caught against the recorded head
