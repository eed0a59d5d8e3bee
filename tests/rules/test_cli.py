"""``filiere rules list`` and ``filiere rules backtest`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from filiere.cli import app

HEADER = (
    "Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,"
    "Amount Paid,Payment Currency,Payment Format,Is Laundering"
)


def write_file(tmp_path: Path) -> Path:
    rows = [
        # pass-through at 0002:P: 27,000 + 9,000 in, 35,400 out within hours (laundering)
        "2022/09/01 08:00,001,X1,002,P,27000.00,US Dollar,27000.00,US Dollar,Wire,1",
        "2022/09/01 09:00,001,X2,002,P,9000.00,US Dollar,9000.00,US Dollar,Wire,1",
        "2022/09/01 13:00,002,P,003,Z,35400.00,US Dollar,35400.00,US Dollar,Wire,1",
        # ordinary payments
        "2022/09/01 10:00,001,A,003,B,120.00,US Dollar,120.00,US Dollar,Cheque,0",
        "2022/09/02 10:00,003,B,001,A,80.00,US Dollar,80.00,US Dollar,Credit Card,0",
    ]
    p = tmp_path / "tx.csv"
    p.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    return p


def test_rules_list_json() -> None:
    res = CliRunner().invoke(app, ["rules", "list", "--json"])
    assert res.exit_code == 0, res.output
    rules = json.loads(res.stdout)
    assert {"structuring-cash", "pass-through", "crypto-tagged-address"} <= {r["id"] for r in rules}
    assert all("indicators" in r and "severity" in r for r in rules)


def test_rules_backtest_json(tmp_path: Path) -> None:
    path = write_file(tmp_path)
    res = CliRunner().invoke(app, ["rules", "backtest", str(path), "--format", "amlworld", "--json", "--no-graph"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["rows"] == 5 and out["positives"] == 3
    pt = next(r for r in out["rules"] if r["rule_id"] == "pass-through")
    assert (pt["alerts"], pt["tx_flagged"], pt["tx_true"]) == (1, 1, 1)
    assert pt["precision"] == 1.0 and abs(pt["recall"] - 1 / 3) < 1e-9
