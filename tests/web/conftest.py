from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def live_server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """``filiere serve`` on a free loopback port over a seeded workspace (hundreds of accounts in one alert)."""
    from filiere.api import auth
    from filiere.cases.sample import seed_sample
    from filiere.config import load_settings
    from filiere.store import init_workspace, open_store

    ws = tmp_path / "ws"
    init_workspace(ws)
    with open_store(load_settings(ws)) as store:
        ids = seed_sample(store, extra_agents=200)
        auth.add_user(store, "ana", "analyst", "analyst-password", "Ana Lyst")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "filiere.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "-w", str(ws)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start: " + (tmp_path / "server.log").read_text())
            time.sleep(0.2)
        yield {"url": url, "workspace": ws, "ids": ids, "user": "ana", "password": "analyst-password"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
