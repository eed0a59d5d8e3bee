"""The columnar FtM sidecar reader of ``filiere evaluate`` gives what the FtM reader gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from filiere.io import read_transactions
from filiere.scoring.evaluate import read_ftm_sidecar


@pytest.fixture(scope="module")
def sidecar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from filiere.scenario import generate

    d = tmp_path_factory.mktemp("sidecar")
    generate("amlworld-hi", 20_000, 3, d)
    return d / "parties.ftm.jsonl"


def _rows(tbl: object) -> list[dict[str, object]]:
    rows = tbl.to_pylist()  # type: ignore[attr-defined]
    for r in rows:
        if r.get("properties"):
            r["properties"] = json.loads(r["properties"])
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def test_sidecar_equals_the_ftm_reader(sidecar: Path) -> None:
    fast = read_ftm_sidecar(sidecar)
    assert fast is not None
    accounts, parties = fast
    ref = read_transactions(sidecar, "ftm")
    assert accounts.num_rows == ref.accounts.num_rows > 0
    assert parties.num_rows == ref.parties.num_rows > 0
    assert accounts.schema == ref.accounts.schema and parties.schema == ref.parties.schema
    assert _rows(accounts) == _rows(ref.accounts)
    assert _rows(parties) == _rows(ref.parties)
    assert accounts.column("owner_party_id").null_count < accounts.num_rows


def test_other_entities_fall_back(tmp_path: Path) -> None:
    p = tmp_path / "parties.ftm.jsonl"
    p.write_text(
        '{"id": "p1", "schema": "Person", "properties": {"name": ["A"]}}\n'
        '{"id": "pay", "schema": "Payment", "properties": {"amount": ["5"]}}\n',
        encoding="utf-8",
    )
    assert read_ftm_sidecar(p) is None
    p.write_text('{"id": "p1", "schema": "Person", "properties": {"name": ["A", "B"]}}\n', encoding="utf-8")
    assert read_ftm_sidecar(p) is None  # several values: the FtM reader's rules apply
    p.write_text("not json\n", encoding="utf-8")
    assert read_ftm_sidecar(p) is None


def test_context_reads_the_sidecar_instead_of_deriving_accounts(sidecar: Path) -> None:
    from filiere.scoring.evaluate import context_for_file, sort_by_time

    csv = sidecar.parent / "transactions.csv"
    ctx = context_for_file(csv, "amlworld")
    ref = read_transactions(csv, "amlworld")
    assert ctx.transactions.equals(sort_by_time(ref.transactions))
    fast = read_ftm_sidecar(sidecar)
    assert fast is not None
    # accounts come from the world's accounts file (keyed like the transactions), parties from the sidecar
    from filiere.io.amlworld import read_accounts

    listing = read_accounts(sidecar.parent / "accounts.csv", "x")[0]
    assert ctx.accounts is not None
    assert ctx.accounts.column("account_id").to_pylist() == listing.column("account_id").to_pylist()
    assert ctx.accounts.column("owner_party_id").to_pylist() == listing.column("owner_party_id").to_pylist()
    assert ctx.parties is not None and ctx.parties.equals(fast[1])
