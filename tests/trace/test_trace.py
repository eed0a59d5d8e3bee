"""Follow-the-money: expansion, time-respecting hops, pro-rata attribution through a mixed account."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest

from filiere.config import load_settings
from filiere.errors import NotFoundError, UserInputError
from filiere.model.schemas import TRANSACTION_SCHEMA
from filiere.store import open_store
from filiere.trace.engine import TraceQuery, trace

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _tx(tx_id: str, ts: str, src: str, dst: str, amount: float) -> dict[str, object]:
    return {
        "tx_id": tx_id,
        "ts": datetime.fromisoformat(ts),
        "from_bank": src.split(":")[0],
        "from_account": src,
        "to_bank": dst.split(":")[0],
        "to_account": dst,
        "amount_received": amount,
        "receiving_currency": "EUR",
        "amount_paid": amount,
        "payment_currency": "EUR",
        "payment_format": "Wire",
        "is_laundering": None,
        "source_file_id": None,
        "source_row": None,
        "properties": None,
    }


@pytest.fixture()
def mixed(workspace: Path) -> Path:
    """S pays 100 into M, which also holds 300 from a clean source C; M pays 200 to X, then 50 to Y.

    An earlier payment M→Z (before S's money arrives) must carry nothing.
    """
    rows = [
        _tx("t0", "2024-01-01 08:00", "b:C", "b:M", 300),
        _tx("t1", "2024-01-01 09:00", "b:M", "b:Z", 40),
        _tx("t2", "2024-01-02 09:00", "b:S", "b:M", 100),
        _tx("t3", "2024-01-03 09:00", "b:M", "b:X", 200),
        _tx("t4", "2024-01-04 09:00", "b:M", "b:Y", 50),
        _tx("t5", "2024-01-05 09:00", "b:X", "b:W", 200),
        _tx("t6", "2024-02-01 09:00", "b:W", "b:V", 10),
    ]
    with open_store(load_settings(workspace)) as store:
        store.insert_arrow("transactions", pa.Table.from_pylist(rows, schema=TRANSACTION_SCHEMA))
    return workspace


def test_forward_pro_rata_through_mixed_account(mixed: Path) -> None:
    with open_store(load_settings(mixed)) as store:
        r = trace(store, TraceQuery("b:S", hops=3))
    by = {e["tx_id"]: e for e in r["timeline"]}
    assert set(by) == {"t2", "t3", "t4", "t5"}  # t1 precedes the arrival; t6 is hop 4
    assert by["t2"]["traced_amount"] == 100
    # M holds 260 + 100 = 360 of which 100 traced: 200 out carries 200·100/360
    assert by["t3"]["traced_amount"] == pytest.approx(200 * 100 / 360, abs=0.01)
    # after t3: balance 160, traced 100 − 55.56 = 44.44; 50 out carries 50·44.44/160
    assert by["t4"]["traced_amount"] == pytest.approx(50 * (100 - 200 * 100 / 360) / 160, abs=0.01)
    assert by["t5"]["traced_amount"] == pytest.approx(by["t3"]["traced_amount"], abs=0.01)  # X passes it all on
    assert [e["hop"] for e in r["timeline"]] == [1, 2, 2, 3]
    rests = {e["account"]: e["amount"] for e in r["endpoints"]}
    assert rests["b:W"] == pytest.approx(55.56, abs=0.01)
    assert sum(rests.values()) == pytest.approx(100, abs=0.05)  # conservation: the 100 ends somewhere
    assert {n["data"]["id"] for n in r["graph"]["nodes"]} == {"b:S", "b:M", "b:X", "b:Y", "b:W"}


def test_time_window_and_hops(mixed: Path) -> None:
    with open_store(load_settings(mixed)) as store:
        r = trace(store, TraceQuery("b:S", hops=1))
        assert [e["tx_id"] for e in r["timeline"]] == ["t2"]
        r = trace(store, TraceQuery("b:S", hops=3, until=datetime(2024, 1, 3, 12)))
        assert [e["tx_id"] for e in r["timeline"]] == ["t2", "t3"]
        with pytest.raises(UserInputError):
            trace(store, TraceQuery("b:S", hops=0))
        with pytest.raises(NotFoundError):
            trace(store, TraceQuery("b:nobody"))


def test_backward_attributes_origins(mixed: Path) -> None:
    with open_store(load_settings(mixed)) as store:
        r = trace(store, TraceQuery("b:X", direction="backward", hops=2))
    origins = {e["account"]: e["amount"] for e in r["origins"]}
    # the 200 X received came from M, which held 260 of C's money (300 less its share of the 40 paid to Z)
    # and 100 of S's: the same split as forward tracing from each of them (the two directions agree)
    assert set(origins) == {"b:C", "b:S"}
    assert origins["b:S"] == pytest.approx(200 * 100 / 360, abs=0.01)
    assert origins["b:C"] == pytest.approx(200 * 260 / 360, abs=0.01)


def test_trace_cli_json(mixed: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "filiere.cli", "trace", "b:S", "--hops", "2", "--json", "-w", str(mixed)],
        capture_output=True,
        text=True,
        check=True,
    )
    doc = json.loads(out.stdout)
    assert doc["transactions"] == 3 and doc["seeds"] == ["b:S"]
