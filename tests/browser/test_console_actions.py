"""An operator's actions on one invoice in a real Chromium: resend with its proof of delivery to another
channel and address by keyboard, the previews of a correction and a cancellation, and the PODs page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from db.engine import session_scope
from db.models import Delivery, DeliveryEvent
from gateway.api.app import create_app
from gateway.settings import Settings
from tests.browser.conftest import OfflinePage, sign_in, unlabelled_fields
from tests.console.helpers import PASSWORD, api_auth, make_user, push_invoices
from tests.console.invoice_fixtures import InvoiceWithPod, database_state, invoice_with_pod
from tests.services.test_resend_with_pod import photo

OPERATOR = "ops@acme.example"


@pytest.fixture
def api(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The API beside the served app, to push invoices and PODs as an ERP and a carrier would."""
    with TestClient(create_app(settings, engine), base_url="http://testserver") as client:
        yield client


@pytest.fixture
def acme(api: TestClient, engine: Engine, settings: Settings) -> InvoiceWithPod:
    return invoice_with_pod(api, engine, settings)


def _signed_in(tab: OfflinePage, engine: Engine) -> None:
    make_user(engine, OPERATOR, "operator")
    sign_in(tab, OPERATOR, PASSWORD)


def test_resend_with_pod_to_another_channel_and_address_by_keyboard_shows_on_the_timeline(
    console_page: OfflinePage, acme: InvoiceWithPod, engine: Engine, screenshots: Path
) -> None:
    """The main flow: form, preview (nothing changes), confirm; the invoice page then shows the new delivery
    on its timeline, with who asked for it and why."""
    _signed_in(console_page, engine)
    page = console_page.page
    page.goto(f"{console_page.base_url}/console/invoices/{acme.invoice_id}/resend")
    assert page.get_by_role("heading", name=f"Resend {acme.number}").is_visible()
    assert unlabelled_fields(page) == []
    page.screenshot(path=str(screenshots / "console-action-resend-form.png"), full_page=True)

    page.get_by_label("Channel").focus()
    page.keyboard.type("email")  # a closed select takes type-ahead
    page.keyboard.press("Tab")
    page.keyboard.type("kari.nordmann@buyer.example")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # the POD's checkbox
    page.keyboard.press("Tab")  # past "cancel the others"
    page.keyboard.press("Tab")
    page.keyboard.type("Buyer says the goods never arrived; sending the signed delivery note")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Preview"
    before = database_state(engine)
    with page.expect_navigation():
        page.keyboard.press("Enter")

    preview = page.get_by_role("region", name="What will happen")
    assert preview.is_visible()
    text = preview.inner_text()
    assert "a new delivery via email" in text
    assert "kari.nordmann@buyer.example" in text
    assert acme.pod_filename in text
    assert f"console:{OPERATOR}" in text
    assert database_state(engine) == before  # the preview changed nothing
    assert unlabelled_fields(page) == []
    page.screenshot(path=str(screenshots / "console-action-resend-preview.png"), full_page=True)

    page.get_by_role("button", name="Confirm resend").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{console_page.base_url}/console/invoices/{acme.invoice_id}"
    with session_scope(engine) as session:
        resent = session.execute(
            select(Delivery).where(Delivery.invoice_id == acme.invoice_id, Delivery.channel == "email")
        ).scalar_one()
        assert (resent.address, resent.status, resent.attempt) == ("kari.nordmann@buyer.example", "queued", 1)
        assert resent.extra_documents and len(resent.extra_documents) == 1
        event = session.execute(
            select(DeliveryEvent).where(DeliveryEvent.delivery_id == resent.id)
        ).scalar_one()
        assert event.actor == f"console:{OPERATOR}"
        assert event.details and event.details["pod_ids"] == [acme.pod_id]
    newest = page.locator("ol.timeline > li").last.inner_text()
    assert "email" in newest and OPERATOR in newest, newest
    assert "Buyer says the goods never arrived" in newest, newest
    assert "kari.nordmann@buyer.example" in page.locator("table", has_text="Address").first.inner_text()
    page.screenshot(path=str(screenshots / "console-action-resend-done.png"), full_page=True)
    assert console_page.elsewhere == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_correction_and_cancellation_previews(
    console_page: OfflinePage, acme: InvoiceWithPod, api: TestClient, engine: Engine, screenshots: Path
) -> None:
    _signed_in(console_page, engine)
    page = console_page.page
    page.goto(f"{console_page.base_url}/console/invoices/{acme.invoice_id}/correct")
    assert unlabelled_fields(page) == []
    page.get_by_label("E-mail (for the e-mail channel)").fill("faktura@nordlys-bygg.example")
    page.get_by_label("Reason").fill("Bounced: the buyer's invoice address changed")
    with page.expect_navigation():
        page.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("region", name="What will happen")
    assert "faktura@nordlys-bygg.example" in preview.inner_text()
    assert "sent again" in preview.inner_text()
    page.screenshot(path=str(screenshots / "console-action-correct-preview.png"), full_page=True)

    [waiting] = push_invoices(api, api_auth(engine), 1, start=7)  # not sent yet: queued
    with session_scope(engine) as session:
        session.add(
            Delivery(invoice_id=waiting["invoice_id"], tenant_id="acme", channel="print", status="held")
        )
    page.goto(f"{console_page.base_url}/console/invoices/{waiting['invoice_id']}/cancel")
    assert unlabelled_fields(page) == []
    page.get_by_label("Reason").fill("The order was withdrawn by the buyer")
    with page.expect_navigation():
        page.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("region", name="What will happen")
    assert preview.inner_text().count("no further attempt") == 2
    page.screenshot(path=str(screenshots / "console-action-cancel-preview.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm cancellation").click()
    with session_scope(engine) as session:
        statuses = session.execute(
            select(Delivery.status).where(Delivery.invoice_id == waiting["invoice_id"])
        ).scalars()
        assert set(statuses) == {"cancelled"}
    assert console_page.elsewhere == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_pods_page_links_and_unlinks(
    console_page: OfflinePage, acme: InvoiceWithPod, api: TestClient, engine: Engine, screenshots: Path
) -> None:
    waiting = api.post(  # a carrier's photo that names no invoice: it waits to be linked
        "/pods",
        content=photo("JPEG", (800, 600)),
        params={"filename": "doorstep-photo.jpg", "place": "Sjøgata 12, Tromsø"},
        headers={**api_auth(engine), "Content-Type": "image/jpeg"},
    )
    assert waiting.status_code == 201, waiting.text
    _signed_in(console_page, engine)
    page = console_page.page
    page.goto(f"{console_page.base_url}/console/invoices/{acme.invoice_id}/pods")
    assert unlabelled_fields(page) == []
    assert page.get_by_role("link", name=acme.pod_filename).is_visible()
    page.screenshot(path=str(screenshots / "console-pods.png"), full_page=True)

    with page.expect_navigation():
        page.get_by_role("button", name="Link doorstep-photo.jpg").click()
    assert "Linked doorstep-photo.jpg" in page.get_by_role("status").inner_text()
    with page.expect_navigation():
        page.get_by_role("button", name=f"Unlink {acme.pod_filename}").click()
    assert f"Unlinked {acme.pod_filename}" in page.get_by_role("status").inner_text()
    assert console_page.elsewhere == []
