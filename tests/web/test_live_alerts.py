"""The alert queue shows alerts arriving live from the real-time stream (real Chromium, real server)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from browser_env import ARGS, ARTIFACTS, BROWSER_MARKS, CHROMIUM, ROOT

pytestmark = BROWSER_MARKS


def _cli(ws: Path, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "filiere.cli", *args, "-w", str(ws)], capture_output=True, text=True, check=True
    )
    return out.stdout


def test_held_payment_appears_live_in_the_queue(live_server: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    url, ws = live_server["url"], live_server["workspace"]
    _cli(ws, "lists", "load", str(ROOT / "tests/fixtures/screening/un_v1.xml"), "--format", "un-xml")
    _cli(ws, "users", "add", "feed", "--role", "machine")
    token = _cli(ws, "tokens", "create", "--user", "feed", "--role", "machine").strip().split()[-1]

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(60_000)
        try:
            page.goto(url + "/login")
            page.fill("input[name=username]", live_server["user"])
            page.fill("input[name=password]", live_server["password"])
            page.click("button[type=submit]")
            page.wait_for_url("**/alerts*")
            page.wait_for_selector("#live-status:has-text('live')")
            tx = {
                "id": "LIVE-1",
                "timestamp": "2024-03-20T10:00:00Z",
                "from_bank": "020",
                "from_account": "LIVE001",
                "to_bank": "030",
                "to_account": "LIVE002",
                "amount": 9500.0,
                "currency": "XOF",
                "payment_format": "Mobile Money",
                "to_party": {"name": "Aiman Muhammed Rabi al-Zawahiri", "schema": "Person"},
            }
            req = urllib.request.Request(
                url + "/v1/transactions",
                data=json.dumps(tx).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(req, timeout=60) as r:
                answer = json.loads(r.read())
            assert answer["decision"] == "hold", answer
            page.wait_for_selector("#alert-table tr.live")
            row = page.inner_text("#alert-table tr.live")
            assert "LIVE001" in row and "Held" in row
            assert page.inner_text("#live-count") == "1"
            page.screenshot(path=str(ARTIFACTS / "alerts-live.png"), full_page=False)
        finally:
            browser.close()
