from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .rt_world import write_world

RT_CONFIG = "realtime:\n  drain_interval_s: 0.1\n  watch_model_s: 0.3\n"


@pytest.fixture(scope="session")
def rt_template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Built once: a small ingested world, a small trained model, tokens for machine/admin/analyst."""
    from filiere.api import auth
    from filiere.config import load_settings
    from filiere.io.ingest import ingest_files
    from filiere.scoring.detect import train_on_store
    from filiere.scoring.model import TrainConfig
    from filiere.store import init_workspace, open_store

    root = tmp_path_factory.mktemp("rt")
    path = write_world(root / "world")
    ws = root / "ws"
    init_workspace(ws)
    with (ws / "filiere.yml").open("a", encoding="utf-8") as fh:
        fh.write(RT_CONFIG)
    settings = load_settings(ws)
    with open_store(settings) as store:
        ingest_files(store, [path], "amlworld")
        tokens = {}
        for role in ("machine", "admin", "analyst"):
            auth.add_user(store, f"u_{role}", role, None)
            tokens[role] = auth.create_token(store, f"u_{role}")
    cfg = TrainConfig(n_estimators=30, early_stopping_rounds=10, num_leaves=15, oof_folds=2)
    model = train_on_store(settings, cfg, graph=True)
    return {"workspace": ws, "tokens": tokens, "model_version": model.version}


@pytest.fixture()
def workspace(rt_template: dict[str, Any], tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    shutil.copytree(rt_template["workspace"], ws)
    return ws


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``python -m filiere.realtime`` in a subprocess on loopback."""

    def __init__(self, workspace: Path, token: str) -> None:
        self.workspace = workspace
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> float:
        t0 = time.monotonic()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "filiere.realtime", "--workspace", str(self.workspace), "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"server exited: {err[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200:
                    return time.monotonic() - t0
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not start")

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else self.headers
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture()
def server(workspace: Path, rt_template: dict[str, Any]) -> Iterator[Server]:
    srv = Server(workspace, rt_template["tokens"]["machine"])
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
