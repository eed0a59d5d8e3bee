"""The server does not hold the workspace: CLI commands succeed while ``filiere serve`` runs."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.request
from typing import Any

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _login(url: str, user: str, password: str) -> str:
    from urllib.parse import urlencode

    req = urllib.request.Request(
        url + "/login", data=urlencode({"username": user, "password": password}).encode(), method="POST"
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(req, timeout=30)
    except urllib.error.HTTPError as exc:  # the 303 arrives as an "error" without redirects
        cookie = exc.headers.get("set-cookie", "")
        return cookie.split(";", 1)[0]
    raise AssertionError("login did not redirect")


def test_cli_commands_run_while_the_server_is_busy(live_server: dict[str, Any]) -> None:
    url, ws = live_server["url"], str(live_server["workspace"])
    cookie = _login(url, live_server["user"], live_server["password"])
    stop = threading.Event()
    served: list[int] = []

    def hammer() -> None:  # keep the server busy with store-backed requests the whole time
        while not stop.is_set():
            req = urllib.request.Request(url + "/v1/alerts", headers={"Cookie": cookie})
            with urllib.request.urlopen(req, timeout=30) as r:
                served.append(r.status)

    t = threading.Thread(target=hammer, daemon=True)
    t.start()
    try:
        out = subprocess.run(
            [sys.executable, "-m", "filiere.cli", "alerts", "list", "--json", "-w", ws],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        alert_id = json.loads(out.stdout)["items"][0]["alert_id"]
        # a writing command too
        out = subprocess.run(
            [sys.executable, "-m", "filiere.cli", "cases", "create", "--from-alert", alert_id, "--json", "-w", ws],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        case_id = json.loads(out.stdout)["case_id"]
    finally:
        stop.set()
        t.join(timeout=30)
    assert served and set(served) == {200}
    # and the server sees what the CLI wrote
    req = urllib.request.Request(url + f"/v1/cases/{case_id}", headers={"Cookie": cookie})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert json.loads(r.read())["alerts"][0]["alert_id"] == alert_id
