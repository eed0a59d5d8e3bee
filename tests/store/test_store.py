from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from filiere.cases.alerts import AlertRecord, insert_alerts
from filiere.config import load_settings
from filiere.errors import UserInputError
from filiere.store import open_store
from filiere.store.base import load_migrations


def test_migrations_are_numbered_uniquely() -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == sorted(set(versions))
    assert versions[0] == 1


def test_init_creates_versioned_store(workspace: Path) -> None:
    with open_store(load_settings(workspace)) as store:
        assert store.schema_version() == load_migrations()[-1].version
        assert store.counts()["transactions"] == 0
        # migrating again applies nothing
        assert store.migrate() == []


def test_open_missing_workspace_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="filiere init"):
        open_store(load_settings(tmp_path / "nope"))


def test_transaction_rolls_back(workspace: Path) -> None:
    with open_store(load_settings(workspace)) as store:
        with pytest.raises(RuntimeError), store.transaction():
            store.execute("INSERT INTO parties (party_id, schema, name) VALUES ('p1', 'Person', 'A')")
            raise RuntimeError("boom")
        assert store.counts()["parties"] == 0


def test_insert_alerts_is_idempotent(workspace: Path) -> None:
    alerts = [
        AlertRecord(
            source="rule",
            title="Structuring",
            score=0.8,
            dedup_key="r1|acct1",
            indicator_codes=["SPTSA"],
            account_ids=["001:1"],
        ),
        AlertRecord(source="rule", title="Structuring", score=0.8, dedup_key="r1|acct2"),
    ]
    with open_store(load_settings(workspace)) as store:
        assert insert_alerts(store, alerts) == 2
        assert insert_alerts(store, alerts) == 0
        row = store.query_dicts("SELECT * FROM alerts ORDER BY alert_id")[0]
        assert row["severity"] == "high"
        assert store.query_arrow("SELECT indicator_codes FROM alerts").column(0).type == pa.list_(pa.string())
