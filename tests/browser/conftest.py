"""A real headless Chromium (Debian's `chromium`, driven by Playwright through its executable path) against
the app served by uvicorn on loopback. Nothing may leave the machine: every request to another host is
refused and recorded, and the tests assert that none was made.

`GATEWAY_CHROMIUM` names the browser (default `/usr/bin/chromium`); `GATEWAY_SCREENSHOT_DIR` keeps the
screenshots (default: the test's tmp_path) so a person can look at what the page showed.
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


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("GATEWAY_SCREENSHOT_DIR", tmp_path / "screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def offline_page(browser: Browser, served: str) -> Iterator[OfflinePage]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield OfflinePage(page, served)
    context.close()
