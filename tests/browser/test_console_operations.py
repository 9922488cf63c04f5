"""The operational pages in a real Chromium: print batches, EDI partners, webhooks and settings, on data
the real services and worker made; an admin changes the settings by keyboard. Screenshots of every page."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.services.tenancy.edi_partners import put_partner
from gateway.services.tenancy.tenants import put_receiver, tenant_settings
from gateway.settings import Settings
from schemas.canonical import ReceiverProfile
from tests.browser.conftest import OfflinePage, sign_in, unlabelled_fields
from tests.console import operations_data as data
from tests.console.helpers import PASSWORD, make_user


def _visit(tab: OfflinePage, path: str, shot: Path | None = None) -> None:
    page = tab.page
    page.goto(f"{tab.base_url}{path}")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(path), page.url
    assert unlabelled_fields(page) == []
    overflow = page.evaluate(
        """() => document.documentElement.scrollWidth > window.innerWidth
              || [...document.querySelectorAll('.table-wrap')].some(t => t.scrollWidth > t.clientWidth + 1)"""
    )
    assert not overflow, f"{path} (or one of its tables) scrolls sideways at 1366 px"
    if shot is not None:
        page.screenshot(path=str(shot), full_page=True)


def test_operational_pages_and_an_admin_changing_the_settings(
    console_page: OfflinePage, engine: Engine, settings: Settings, tmp_path: Path, screenshots: Path
) -> None:
    data.use_print_and_edi(settings, tmp_path)
    batch = data.print_batch(engine, settings, "acme", range(1, 5))
    data.print_batch(engine, settings, "acme", range(5, 7), answer=False)
    data.waiting_print_documents(engine, settings, "acme", range(7, 9))
    edi = data.edi_interchanges(engine, settings, tmp_path)
    hooks = data.webhook_endpoints(engine, settings)
    walmart = data.edi_partner(
        tmp_path,
        "walmart",
        name="Walmart Supplier Hub",
        message_format="x12-810",
        us={"id": "NORDLYS", "qualifier": "ZZ"},
        them={"id": "925485US00", "qualifier": "08"},
        ack_requested=False,
        ack_deadline_hours=None,
    )
    with session_scope(engine) as session:
        put_partner(session, "acme", walmart)
        for receiver, channel in (("nordlys-1", "email"), ("nordlys-2", "print"), ("ica", "edi")):
            put_receiver(session, "acme", ReceiverProfile(receiver_id=receiver, preferred_channel=channel))
    make_user(engine, "ops@acme.example", "operator")
    make_user(engine, "boss@acme.example", "admin")
    make_user(engine, "look@acme.example", "viewer")
    page = console_page.page

    sign_in(console_page, "ops@acme.example", PASSWORD)
    _visit(console_page, "/console/print-batches", screenshots / "console-print-batches.png")
    page.locator(f'a[href="/console/print-batches/{batch.batch_id}"]').click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Print batch")
    assert page.get_by_role("link", name=batch.numbers[0]).get_attribute("href") == (
        f"/console/invoices/{batch.numbers[0]}"
    )
    _visit(console_page, f"/console/print-batches/{batch.batch_id}", screenshots / "console-print-batch.png")

    _visit(console_page, "/console/partners", screenshots / "console-partners.png")
    page.get_by_role("link", name="ICA Sverige AB").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/console/partners/{edi.partner_id}")
    assert page.locator("table").get_by_text("overdue", exact=True).count() == 1
    _visit(console_page, f"/console/partners/{edi.partner_id}", screenshots / "console-partner.png")

    _visit(console_page, "/console/webhooks", screenshots / "console-webhooks.png")
    assert "very-secret-token" not in page.content()
    page.get_by_role("link", name="https://hooks.nordlys.example:8443/in …").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Deactivate").focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert "gets no new events" in page.get_by_role("status").inner_text()
    page.screenshot(path=str(screenshots / "console-webhook.png"), full_page=True)
    assert page.url.endswith(f"/console/webhooks/{hooks.failing_id}")

    _visit(console_page, "/console/settings", screenshots / "console-settings-readonly.png")
    assert page.get_by_role("button", name="Save settings").count() == 0
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state("networkidle")

    sign_in(console_page, "boss@acme.example", PASSWORD)
    _visit(console_page, "/console/settings", screenshots / "console-settings.png")
    page.get_by_label("Send only inside a window").check()
    page.get_by_label("Opens").fill("09:00")
    page.get_by_label("Closes").fill("08:00")
    page.get_by_label("Margin").fill("1.5")
    page.get_by_role("button", name="Save settings").focus()
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert "The window must end after it starts" in page.locator("#window_enabled-error").inner_text()
    assert "1" in page.locator("#matching_margin-error").inner_text()
    page.screenshot(path=str(screenshots / "console-settings-invalid.png"), full_page=True)
    with session_scope(engine) as session:
        assert tenant_settings(session, "acme").send_window is None

    page.get_by_label("Closes").fill("16:00")
    page.get_by_label("Margin").fill("0.2")
    page.get_by_label("Sat").check()
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_load_state("networkidle")
    assert "Settings of acme saved." in page.get_by_role("status").inner_text()
    with session_scope(engine) as session:
        saved = tenant_settings(session, "acme")
    assert saved.send_window is not None and saved.send_window.weekdays == [0, 1, 2, 3, 4, 5]
    assert saved.matching.margin == 0.2
    assert console_page.elsewhere == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_operational_pages_read_well_when_empty(
    console_page: OfflinePage, engine: Engine, screenshots: Path
) -> None:
    make_user(engine, "look@acme.example", "viewer")
    sign_in(console_page, "look@acme.example", PASSWORD)
    for path, name, words in (
        ("/console/print-batches", "print-batches", "No print batch has closed yet."),
        ("/console/partners", "partners", "No EDI trading partner yet."),
        ("/console/webhooks", "webhooks", "No webhook endpoint yet."),
        ("/console/settings", "settings", "Only an administrator can change them."),
    ):
        _visit(console_page, path, screenshots / f"console-operations-empty-{name}.png")
        assert words in console_page.page.content()
    assert console_page.elsewhere == []
