"""kill -9 in the middle of an ingest leaves no partial file in the store; a rerun completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from filiere.config import load_settings
from filiere.io import ingest_files
from filiere.store import open_store

ROWS = 20_000
CHILD = r"""
import sys, time
from pathlib import Path
import filiere.io.amlworld as aml
from filiere.config import load_settings
from filiere.io import ingest_files
from filiere.store import open_store
aml.CHUNK_BYTES = 32 * 1024  # many small pieces, so that the kill lands in the middle
def progress(path, done, total):
    print(f"progress {done} {total}", flush=True)
    time.sleep(0.05)
with open_store(load_settings(sys.argv[1])) as store:
    ingest_files(store, [sys.argv[2]], "amlworld", progress=progress)
print("finished", flush=True)
"""


def _big_file(path: Path) -> None:
    lines = [
        "Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,"
        "Amount Paid,Payment Currency,Payment Format,Is Laundering"
    ]
    for i in range(ROWS):
        lines.append(
            f"2022/09/{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d},{i % 97:03d},A{i % 5000:05d},{i % 89:03d},"
            f"B{i % 7000:05d},{i % 1000}.5,US Dollar,{i % 1000}.5,US Dollar,Wire,0"
        )
    lines.append("garbage line")
    path.write_text("\n".join(lines) + "\n")


def test_kill_9_mid_ingest(workspace: Path, tmp_path: Path) -> None:
    data = tmp_path / "big.csv"
    _big_file(data)
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(workspace), str(data)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    seen = 0
    deadline = time.monotonic() + 120
    while seen < 3 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        assert line, "the ingest ended before it could be killed"
        if line.startswith("progress"):
            seen += 1
    assert seen == 3
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    settings = load_settings(workspace)
    with open_store(settings) as store:
        counts = store.counts()
        assert counts["transactions"] == counts["source_files"] == counts["quarantine"] == counts["accounts"] == 0
        rep = ingest_files(store, [data], "amlworld")
        assert (rep.read, rep.stored, rep.quarantined, rep.duplicates) == (ROWS + 1, ROWS, 1, 0)
        assert store.scalar("SELECT count(*) FROM transactions") == ROWS
        assert store.scalar("SELECT rows_stored FROM source_files") == ROWS
