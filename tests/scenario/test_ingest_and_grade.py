"""The world's files ingest with nothing quarantined; grading scores a known answer set exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from filiere.errors import UserInputError
from filiere.scenario import grade


def test_files_ingest_without_quarantine(sahel_world: Path) -> None:
    from filiere.io import read_transactions
    from filiere.io.amlworld import read_accounts

    truth = json.loads((sahel_world / "truth.json").read_text())
    tx = read_transactions(sahel_world / "transactions.csv", "amlworld")
    assert tx.quarantine.num_rows == 0
    assert tx.read == tx.transactions.num_rows == truth["rows"]
    assert sum(tx.transactions.column("is_laundering").to_pylist()) == truth["illicit_rows"]
    assert set(tx.transactions.column("payment_currency").to_pylist()) >= {"XOF"}
    accounts, _parties, quarantine, read = read_accounts(sahel_world / "accounts.csv", "test")
    assert quarantine.num_rows == 0 and read == accounts.num_rows == truth["accounts"]
    ftm = read_transactions(sahel_world / "parties.ftm.jsonl", "ftm")
    assert ftm.quarantine.num_rows == 0
    assert ftm.parties.num_rows == truth["entities"]
    assert ftm.accounts.num_rows == truth["accounts"]


def test_parties_are_valid_followthemoney(sahel_world: Path) -> None:
    from followthemoney import model

    with (sahel_world / "parties.ftm.jsonl").open() as f:
        for i, line in enumerate(f):
            data = json.loads(line)
            schema = model.get(data["schema"])
            assert schema is not None
            for prop in data["properties"]:
                assert schema.get(prop) is not None, (i, data["schema"], prop)
            if i > 20_000:
                break


def _answers(path: Path, rows: list[int], accounts: list[str], vector: str | None = None) -> Path:
    with path.open("w") as f:
        f.write("tx_row,account,vector\n")
        for r in rows:
            f.write(f"{r},,{vector or ''}\n")
        for a in accounts:
            f.write(f",{a},{vector or ''}\n")
    return path


def test_grade_known_answers(sahel_world: Path, tmp_path: Path) -> None:
    truth = json.loads((sahel_world / "truth.json").read_text())
    typed = [s for s in truth["schemes"] if s["typed"]]
    found, missed = typed[::2], typed[1::2]
    illicit = {r for s in truth["schemes"] for r in s["rows"]}
    good = sorted({r for s in found for r in s["rows"]})
    false = [r for r in range(1, 400) if r not in illicit][:50]
    res = grade(sahel_world, _answers(tmp_path / "a.csv", good + false, []))
    tx = res["transactions"]
    assert tx["true_positives"] == len(good)
    assert tx["precision"] == pytest.approx(len(good) / (len(good) + len(false)), abs=1e-6)
    assert tx["recall"] == pytest.approx(len(good) / len(illicit), abs=1e-6)
    p, r = tx["precision"], tx["recall"]
    assert tx["f1"] == pytest.approx(2 * p * r / (p + r), abs=1e-5)
    assert {m["id"] for m in res["missed"]} == {s["id"] for s in missed}
    assert res["schemes_detected"] == len(found)
    by_id = {g["id"]: g for g in res["schemes"]}
    assert all(by_id[s["id"]]["row_recall"] == 1.0 for s in found)
    assert res["accounts"]["flagged"] == 0  # the column is there, empty


def test_grade_accounts_and_vector_precision(sahel_world: Path, tmp_path: Path) -> None:
    truth = json.loads((sahel_world / "truth.json").read_text())
    drugs = [s for s in truth["schemes"] if s["vector"] == "drugs" and s["typed"]]
    accts = sorted({a for s in drugs for a in s["accounts"]})
    res = grade(sahel_world, _answers(tmp_path / "b.csv", [], accts, vector="drugs"))
    assert res["accounts"]["true_positives"] == len(accts)
    assert res["accounts"]["precision"] == 1.0
    assert res["vectors"]["drugs"]["account_precision"] == 1.0
    assert res["vectors"]["drugs"]["account_recall"] > 0
    assert res["vectors"]["drugs"]["row_recall"] == 0.0  # the tx_row column is empty


def test_grade_rejects_bad_answers(sahel_world: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("row\n1\n")
    with pytest.raises(UserInputError, match="tx_row"):
        grade(sahel_world, bad)
    bad.write_text("tx_row\n1\n999999999\n")
    with pytest.raises(UserInputError, match="line 3"):
        grade(sahel_world, bad)


def test_cli_generate_and_grade(tmp_path: Path) -> None:
    from filiere.cli import app

    runner = CliRunner()
    out = tmp_path / "w"
    res = runner.invoke(
        app,
        [
            "scenario",
            "generate",
            "--template",
            "amlworld-li",
            "--rows",
            "20000",
            "--seed",
            "4",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    info = json.loads(res.stdout.strip().splitlines()[-1])
    assert info["rows"] == 20000
    truth = json.loads((out / "truth.json").read_text())
    rows = [r for s in truth["schemes"] for r in s["rows"]]
    answers = _answers(tmp_path / "a.csv", rows, [])
    res = runner.invoke(app, ["scenario", "grade", "--truth", str(out), "--answers", str(answers), "--json"])
    assert res.exit_code == 0, res.output
    g = json.loads(res.stdout)
    assert g["transactions"]["f1"] == 1.0
    res = runner.invoke(app, ["scenario", "grade", "--truth", str(out), "--answers", str(answers)])
    assert res.exit_code == 0 and "transactions" in res.stdout
