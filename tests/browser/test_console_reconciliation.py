"""Bank reconciliation in a real Chromium: credit control goes from Reports to the reconciliation page,
uploads a camt.053 file by keyboard and sees the verdict, counts, differences and balances; a file that is not
a statement is refused on the same page. Screenshots of the result and the refusal."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.api.app import create_app
from gateway.settings import Settings
from tests.browser.conftest import OfflinePage, sign_in, unlabelled_fields
from tests.console.helpers import PASSWORD, api_auth, make_user
from tests.console.test_reconciliation import notification, statement
from tests.services.reports.test_reconciliation import book


def test_credit_control_reconciles_a_statement(
    console_page: OfflinePage, settings: Settings, engine: Engine, screenshots: Path, tmp_path: Path
) -> None:
    with TestClient(create_app(settings, engine)) as client:
        entries = [("1000.00", "R-1", "CRDT"), ("55.00", "R-DIFF", "CRDT"), ("70.00", "R-EXTRA", "CRDT")]
        book(client, api_auth(engine), notification(entries, "N1"), "n.xml")
    good, bad = tmp_path / "statement-2026-11-20.xml", tmp_path / "not-a-statement.xml"
    good.write_bytes(statement())
    bad.write_bytes(b"<Document><unclosed>")
    make_user(engine, "kari@acme.example", "credit")
    sign_in(console_page, "kari@acme.example", PASSWORD)
    page = console_page.page
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Reports").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("link", name="Bank reconciliation", exact=False).click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Bank reconciliation", level=1).is_visible()
    assert unlabelled_fields(page) == []

    page.get_by_label("camt.053 file").set_input_files(str(bad))
    with page.expect_navigation():
        page.get_by_role("button", name="Reconcile").press("Enter")
    assert "not a camt.052 / camt.053 / camt.054 Document" in page.get_by_role("alert").inner_text()
    page.screenshot(path=str(screenshots / "console-reconciliation-refused.png"), full_page=True)

    page.get_by_label("camt.053 file").set_input_files(str(good))
    with page.expect_navigation():
        page.get_by_role("button", name="Reconcile").press("Enter")
    assert page.get_by_role("alert").count() == 0
    verdict = page.get_by_role("heading", level=2, name="statement-2026-11-20.xml")
    assert "4 differences" in verdict.inner_text()
    differences = page.locator("table.differences tbody tr")
    assert differences.count() == 4
    text = page.locator("table.differences").inner_text()
    for shown in ("R-MISSING", "R-DIFF", "Missing on the statement", "Movements"):
        assert shown in text, shown
    page.screenshot(path=str(screenshots / "console-reconciliation.png"), full_page=True)
    assert console_page.elsewhere == []
