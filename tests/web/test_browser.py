"""End to end in Debian's headless Chromium: log in, open an alert, see its network, disposition it,
open the case, see the audit entry. Screenshots go to test-artifacts/ (CI keeps them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from browser_env import ARGS, ARTIFACTS, BROWSER_MARKS, CHROMIUM

pytestmark = BROWSER_MARKS


def test_investigation_loop(live_server: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.set_default_timeout(60_000)
        try:
            _investigate(page, live_server)
        except Exception as exc:
            page.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
            raise AssertionError(f"{exc}\nbrowser errors: {errors}\npage: {page.inner_text('body')[:800]}") from exc
        finally:
            browser.close()
    assert not errors, errors


def _investigate(page: Any, live_server: dict[str, Any]) -> None:
    url = live_server["url"]
    fan_out = live_server["ids"]["alerts"][1]  # the scatter to 206 mobile-money agents
    page.goto(url + "/alerts")
    assert page.url.endswith("/login")
    page.screenshot(path=str(ARTIFACTS / "login.png"))
    page.fill("input[name=username]", live_server["user"])
    page.fill("input[name=password]", live_server["password"])
    page.click("button[type=submit]")
    page.wait_for_url("**/alerts")
    rows = page.locator("#alert-table tbody tr")
    assert rows.count() == 4
    page.screenshot(path=str(ARTIFACTS / "alert-queue.png"), full_page=True)

    page.click(f"a[href='/alerts/{fan_out}']")
    page.wait_for_selector("#cy[data-nodes]")
    n_nodes = int(page.get_attribute("#cy", "data-nodes") or 0)
    assert n_nodes >= 200  # front company, 206 agents, the cell, the NPO
    assert page.locator("#cy canvas").count() >= 1
    assert page.locator("#tx-table tbody tr").count() == int(page.get_attribute("#cy", "data-edges") or -1)
    assert "Features pushing the score" in page.content()
    page.screenshot(path=str(ARTIFACTS / "alert.png"))

    page.select_option("select[name=disposition]", "true_positive")
    page.fill("textarea[name=comment]", "Agents cash out to a listed person; escalate.")
    page.click("#disposition-form button[type=submit]")
    page.wait_for_selector("#triage-msg:has-text('Decision recorded')")
    assert "true_positive" in page.inner_text("#alert-status")

    page.click("#create-case")
    page.wait_for_url("**/cases/C-*")
    page.wait_for_selector("#cy[data-nodes]")
    assert int(page.get_attribute("#cy", "data-nodes") or 0) >= 200
    assert page.locator("#timeline .tick").count() > 200
    history = page.inner_text("#history")
    assert "alert.disposition" in history and "case.create" in history and "ana" in history
    page.screenshot(path=str(ARTIFACTS / "case.png"), full_page=True)

    # the case becomes a goAML report from the UI (validated before it is served)
    with page.expect_download() as dl:
        page.click("#case-exports a:has-text('goAML')")
    xml = Path(dl.value.path()).read_text(encoding="utf-8")
    assert "<report" in xml and "<transaction>" in xml

    page.click("button.transition[data-to=under_review]")
    page.wait_for_selector("#case-status:has-text('under_review')")

    page.goto(url + "/trace?subject=020:NPO001&hops=3&direction=both")
    page.wait_for_selector("#cy[data-nodes]")
    assert int(page.get_attribute("#cy", "data-nodes") or 0) > 10
    assert page.locator("#trace-table tbody tr").count() > 10
    page.screenshot(
        path=str(ARTIFACTS / "trace.png"), clip={"x": 0, "y": 0, "width": 1440, "height": 1500}, full_page=True
    )

    page.goto(url + "/screening?q=Oumar")
    page.wait_for_selector("#party-results tbody tr")
    assert "Oumar Ag Hamid" in page.inner_text("#party-results")
    page.screenshot(path=str(ARTIFACTS / "screening.png"), full_page=True)
