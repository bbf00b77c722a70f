"""End to end in a real browser: Playwright driving Debian's chromium (/usr/bin/chromium).

Log in, open the map, drill down, open a warning, open the profile, follow an evidence
link, export, and the public check — saving a screenshot of each step under
``var/test-artifacts/screenshots/`` for a reviewer. Skipped with the reason when chromium
is absent; ``FENGYAN_REQUIRE_BROWSER=1`` (CI) makes that a failure instead.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from fengyan.web.app import create_app
from tests.web.conftest import PASSWORD, TEST_SETTINGS, add_user
from tests.web.test_pages_city import PublishedCity, published_city, resolved_city

__all__ = ["published_city", "resolved_city"]
CHROMIUM = Path(os.environ.get("FENGYAN_CHROMIUM", "/usr/bin/chromium"))
SHOTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "screenshots"


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "the playwright package is not installed"
    else:
        if CHROMIUM.is_file():
            return None
        reason = f"{CHROMIUM} is absent (apt-get install chromium)"
    if os.environ.get("FENGYAN_REQUIRE_BROWSER") == "1":
        pytest.fail(f"FENGYAN_REQUIRE_BROWSER=1 but {reason}")
    return reason


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(published_city: PublishedCity) -> Iterator[tuple[str, FastAPI]]:
    """The app on a real port (plain HTTP on the loopback: cookies without Secure)."""
    app = create_app(published_city.ws, dataclasses.replace(TEST_SETTINGS, secure_cookies=False))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(timeout=10)


def test_workbench_in_a_browser(live_server: tuple[str, FastAPI], tmp_path: Path) -> None:
    reason = _browser_missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    base, app = live_server
    add_user(app, "e2e_analyst", "analyst", "4403", password=PASSWORD)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1366, "height": 900}, accept_downloads=True)
        errors: list[str] = []
        # Name the page and the stack: a script error is only useful with where it came from.
        page.on("pageerror", lambda e: errors.append(f"{page.url}: {e} {e.stack or ''}"))

        page.goto(f"{base}/login?next=/")
        page.fill("input[name=username]", "e2e_analyst")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        expect(page.get_by_test_id("graded-total")).not_to_have_text("0")
        page.screenshot(path=str(SHOTS / "01-overview.png"), full_page=True)

        page.goto(f"{base}/map")
        page.wait_for_selector("#region-map[data-ready='1']", timeout=20_000)
        page.wait_for_timeout(500)  # let the map finish its first paint
        page.screenshot(path=str(SHOTS / "02-map-city.png"), full_page=True)

        page.locator("a.drill").first.click()
        page.wait_for_url("**/map?*region=*")
        expect(page.get_by_test_id("crumbs")).to_contain_text("›")
        page.screenshot(path=str(SHOTS / "03-map-district.png"), full_page=True)

        page.goto(f"{base}/warnings?grade=red")
        expect(page.get_by_test_id("warnings-table")).to_be_visible()
        page.screenshot(path=str(SHOTS / "04-warnings.png"), full_page=True)

        with page.expect_download() as info:
            page.get_by_test_id("export-csv").click()
        saved = tmp_path / "warnings.csv"
        info.value.save_as(saved)
        text = saved.read_text(encoding="utf-8-sig")
        assert text.splitlines()[0].startswith("企业标识,企业名称")
        assert len(text.splitlines()) > 1

        page.locator("a.firm-link").first.click()
        page.wait_for_url("**/firm/**")
        expect(page.get_by_test_id("firm-name")).to_be_visible()
        page.wait_for_selector("#graph-chart[data-nodes]", timeout=20_000)
        page.wait_for_timeout(1500)  # the force layout settles
        page.screenshot(path=str(SHOTS / "05-profile.png"), full_page=True)

        link = page.locator("a.evidence-link").first
        if link.count():
            link.click()
            page.wait_for_url("**/evidence/**")
            expect(page.get_by_test_id("evidence-fields")).to_be_visible()
            page.screenshot(path=str(SHOTS / "06-evidence.png"), full_page=True)

        page.set_viewport_size({"width": 820, "height": 1180})  # tablet, portrait
        page.goto(f"{base}/warnings?lang=en")
        expect(page.get_by_test_id("warnings-table")).to_be_visible()
        page.screenshot(path=str(SHOTS / "07-warnings-tablet-en.png"), full_page=True)

        public = browser.new_page(viewport={"width": 1024, "height": 768})
        name = page.locator("a.firm-link").first.inner_text()
        public.goto(f"{base}/check?q={name}")
        expect(public.get_by_test_id("check-answer")).to_be_visible()
        public.screenshot(path=str(SHOTS / "08-public-check.png"), full_page=True)
        browser.close()
    assert errors == [], errors
