"""The evaluate path joins an AMLworld world's accounts file, so party attributes reach the rules
and the model (the FollowTheMoney sidecar keys accounts by bank name, the transactions by bank id)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from filiere.scenario import generate
from filiere.scoring.evaluate import context_for_file


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("listing")
    generate("amlworld-hi", 8000, 5, out)
    return out


def _joined(ctx: object) -> tuple[int, int, int]:
    con = duckdb.connect()
    con.register("tx", ctx.transactions)  # type: ignore[attr-defined]
    con.register("acc", ctx.accounts)  # type: ignore[attr-defined]
    con.register("par", ctx.parties)  # type: ignore[attr-defined]
    row = con.execute(
        """SELECT count(*), count(a.account_id), count(p.country)
           FROM tx LEFT JOIN acc a ON a.account_id = tx.from_account
           LEFT JOIN par p ON p.party_id = a.owner_party_id"""
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def test_accounts_file_joins_every_sender_to_a_party_with_a_country(world: Path) -> None:
    n, with_account, with_country = _joined(context_for_file(world / "transactions.csv", "amlworld"))
    assert n > 7000
    assert with_account == n
    assert with_country == n


def test_without_the_accounts_file_the_sidecar_alone_joins_nothing(world: Path, tmp_path: Path) -> None:
    """The reason for the listing: the sidecar's accounts do not carry the bank id."""
    for f in ("transactions.csv", "parties.ftm.jsonl"):
        shutil.copy(world / f, tmp_path / f)
    n, with_account, _ = _joined(context_for_file(tmp_path / "transactions.csv", "amlworld"))
    assert n > 7000
    assert with_account == 0
