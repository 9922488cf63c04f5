"""A real headless Chromium (Debian's `chromium`, driven by Playwright through its executable path) against
the app served by uvicorn on loopback. Nothing may leave the machine: every request to another host is
refused and recorded, and the tests assert that none was made.

`GATEWAY_CHROMIUM` names the browser (default `/usr/bin/chromium`); `GATEWAY_SCREENSHOT_DIR` keeps the
screenshots (default `build/screenshots/` in this checkout) so a person can look at what every page showed.
Console pages are taken at 1366×768, the laptop screen an operations desk has.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Route, sync_playwright
from sqlalchemy import Engine

from gateway.api.app import create_app
from gateway.settings import Settings

CHROMIUM = Path(os.environ.get("GATEWAY_CHROMIUM", "/usr/bin/chromium"))
#: As root Chromium needs --no-sandbox; the rest keep it from calling out of a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(settings: Settings, engine: Engine) -> Iterator[str]:
    """The app on a real socket; its base URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One browser per test module. Not per session: Playwright's sync API runs an event loop in this thread
    while it is started, and later tests that call `asyncio.run` themselves must not find it there."""
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: install Debian's chromium (see .ci/run)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class OfflinePage:
    """A page that may only talk to the app: any other host is aborted and remembered."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.elsewhere: list[str] = []
        self.failed: list[str] = []
        allowed = urlsplit(base_url).netloc
        page.route("**/*", lambda route: self._only_the_app(route, allowed))
        page.on("requestfailed", lambda request: self.failed.append(request.url))

    def _only_the_app(self, route: Route, allowed: str) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).netloc != allowed:
            self.elsewhere.append(url)
            route.abort()
        else:
            route.continue_()


SCREENSHOTS = Path(
    os.environ.get("GATEWAY_SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "build" / "screenshots")
)


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def offline_page(browser: Browser, served: str) -> Iterator[OfflinePage]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield OfflinePage(page, served)
    context.close()


@pytest.fixture
def console_page(browser: Browser, served: str) -> Iterator[OfflinePage]:
    """A console tab at 1366×768 that may only talk to the app."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    yield OfflinePage(page, served)
    context.close()


def sign_in(tab: OfflinePage, email: str, password: str) -> None:
    """Through the real form, by keyboard: type, Tab, type, Enter."""
    page = tab.page
    page.goto(f"{tab.base_url}/console/login")
    page.get_by_label("E-mail").fill(email)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")


def unlabelled_fields(page: Page) -> list[str]:
    """Every visible form field without a label a screen reader would read: what the page must not have."""
    found: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.getAttribute('aria-labelledby'))
            .map(el => el.name || el.id || el.outerHTML.slice(0, 60))"""
    )
    return found
