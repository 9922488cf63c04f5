"""The deviations inbox in a real Chromium: bulk-resend two deviations by keyboard alone (Tab to their
boxes, Space, the reason, Enter, then confirm) and see them leave the open list; the empty inbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page
from sqlalchemy import Engine

from gateway.settings import Settings
from tests.browser.conftest import OfflinePage, sign_in, unlabelled_fields
from tests.console.helpers import PASSWORD, make_user
from tests.console.test_deviations import make_inbox


def _tab_to(page: Page, selector: str, label: str = "", limit: int = 250) -> None:
    """Press Tab until the focused element matches `selector` (and its label says `label`), as a keyboard
    user would."""
    focused = """([selector, label]) => {
        const el = document.activeElement;
        const named = [...(el.labels || [])].map(l => l.textContent).join(" ");
        return el.matches(selector) && named.includes(label);
    }"""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(focused, [selector, label]):
            return
    raise AssertionError(f"Tab never reached {selector} {label}")


def _open_numbers(page: Page) -> list[str]:
    return page.locator("table.deviations td.invoice a").all_inner_texts()


def test_bulk_resend_two_deviations_by_keyboard(
    console_page: OfflinePage, engine: Engine, settings: Settings, screenshots: Path
) -> None:
    make_user(engine, "ops@acme.example", "operator")
    make_inbox(engine, settings)
    page = console_page.page
    sign_in(console_page, "ops@acme.example", PASSWORD)
    page.goto(f"{console_page.base_url}/console/deviations")
    assert sorted(_open_numbers(page)) == [f"INV-{n:06d}" for n in range(1, 8)]
    assert unlabelled_fields(page) == []
    assert page.get_by_label("Select all on this page").is_visible()  # the script showed the box
    page.screenshot(path=str(screenshots / "console-deviations.png"))

    page.locator("tr", has_text="INV-000003").get_by_text("Actions").click()
    page.screenshot(path=str(screenshots / "console-deviations-actions.png"))
    page.keyboard.press("Escape")
    page.goto(f"{console_page.base_url}/console/deviations")

    page.locator("main").focus()
    for number in ("INV-000005", "INV-000006"):
        _tab_to(page, "input[name=ids]", f"invoice {number}")
        page.keyboard.press("Space")
    assert page.get_by_label("Select deviation for invoice INV-000005").is_checked()
    assert page.get_by_label("Select deviation for invoice INV-000006").is_checked()
    _tab_to(page, "#bulk-reason")
    page.keyboard.type("folder size limit raised")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert page.get_by_role("heading", level=1).inner_text() == "Resend 2 deviations?"
    assert page.get_by_text("attempt 2 on folder").count() == 2
    page.screenshot(path=str(screenshots / "console-deviations-confirm.png"))
    _tab_to(page, "button[type=submit]:not(.small)")
    assert page.evaluate("document.activeElement.textContent").strip() == "Confirm: resend 2"
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert page.url == f"{console_page.base_url}/console/deviations"
    assert page.get_by_role("status").inner_text() == "Resent 2, resolved 0, skipped 0."
    assert sorted(_open_numbers(page)) == [
        "INV-000001",
        "INV-000002",
        "INV-000003",
        "INV-000004",
        "INV-000007",
    ]
    page.goto(f"{console_page.base_url}/console/deviations?state=closed")
    assert sorted(_open_numbers(page)) == ["INV-000005", "INV-000006"]
    assert page.get_by_text("by console:ops@acme.example").count() == 2
    assert console_page.elsewhere == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_empty_inbox(console_page: OfflinePage, engine: Engine, screenshots: Path) -> None:
    make_user(engine, "ops@acme.example", "operator")
    page = console_page.page
    sign_in(console_page, "ops@acme.example", PASSWORD)
    page.goto(f"{console_page.base_url}/console/deviations")
    assert "No open deviations" in page.locator("main").inner_text()
    assert unlabelled_fields(page) == []
    page.screenshot(path=str(screenshots / "console-deviations-empty.png"))
    assert console_page.elsewhere == []
