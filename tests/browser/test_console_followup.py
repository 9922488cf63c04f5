"""Follow-up in a real Chromium: the notice list and a notice approved and then cancelled by credit control, a
dry-run preview, the server refusing a viewer's and a token-less POST, a dispute's thread with a note and an
attachment, a credit proposed by one person and approved by another (four eyes shown on the page), the
customer's receivables reached from the invoice page. Every page is screenshotted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import session_scope
from db.models import Dispute, FollowUpState, ReminderNotice
from gateway.api.app import create_app
from gateway.services.followup.run import tenant_today
from gateway.settings import Settings
from tests.browser.conftest import OfflinePage, sign_in, unlabelled_fields
from tests.console.followup_scenario import LONG_NAME, FollowUpTenant, follow_up_tenant
from tests.console.helpers import PASSWORD, api_auth, make_user
from tests.services.test_resend_with_pod import photo

CREDIT = "kari@acme.example"
ADMIN = "ola@acme.example"
VIEWER = "look@acme.example"
OPERATOR = "ops@acme.example"


@pytest.fixture
def acme(settings: Settings, engine: Engine) -> Iterator[FollowUpTenant]:
    with TestClient(create_app(settings, engine), base_url="http://testserver") as api:
        yield follow_up_tenant(api, engine, api_auth(engine))


@pytest.fixture
def users(engine: Engine) -> None:
    for email, role in ((CREDIT, "credit"), (ADMIN, "admin"), (VIEWER, "viewer"), (OPERATOR, "operator")):
        make_user(engine, email, role)


def _status(engine: Engine, notice_id: str) -> str:
    with session_scope(engine) as session:
        notice = session.get(ReminderNotice, notice_id)
        assert notice is not None
        return notice.status


def _shot(tab: OfflinePage, screenshots: Path, name: str) -> None:
    tab.page.screenshot(path=str(screenshots / f"console-followup-{name}.png"), full_page=True)


def test_credit_control_approves_then_cancels_a_notice_and_previews_a_run(
    console_page: OfflinePage, acme: FollowUpTenant, users: None, engine: Engine, screenshots: Path
) -> None:
    sign_in(console_page, CREDIT, PASSWORD)
    page = console_page.page
    page.get_by_role("link", name="Follow-up").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Last run").is_visible()
    rows = page.locator("table.notices tbody tr")
    assert rows.count() == 1
    assert "awaiting approval" in rows.first.inner_text()
    assert unlabelled_fields(page) == []
    _shot(console_page, screenshots, "reminders")

    rows.first.get_by_role("link").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="This notice waits for approval").is_visible()
    assert "FU-000001" in page.locator("#invoices ~ .table-wrap").first.inner_text()
    assert unlabelled_fields(page) == []
    _shot(console_page, screenshots, "notice-awaiting")

    with page.expect_navigation():
        page.get_by_role("button", name="Approve notice").click()
    assert "Notice approved" in page.get_by_role("status").inner_text()
    assert _status(engine, acme.notice_id) != "awaiting_approval"
    assert page.get_by_role("button", name="Approve notice").count() == 0
    _shot(console_page, screenshots, "notice-approved")

    page.get_by_label("Reason").fill("The customer paid at the counter this morning")
    with page.expect_navigation():
        page.get_by_role("button", name="Cancel notice").click()
    assert "Notice cancelled" in page.get_by_role("status").inner_text()
    assert _status(engine, acme.notice_id) == "cancelled"
    assert "The customer paid at the counter" in page.locator("main").inner_text()
    _shot(console_page, screenshots, "notice-cancelled")

    page.goto(f"{console_page.base_url}/console/follow-up/reminders")
    page.get_by_label("Day").fill("2026-07-20")
    with page.expect_navigation():
        page.get_by_role("button", name="Preview the run").click()
    assert page.get_by_role("heading", name="Run preview for 2026-07-20").is_visible()
    assert "disputed" in page.locator("main").inner_text()
    assert _status(engine, acme.notice_id) == "cancelled"  # a dry run wrote nothing
    _shot(console_page, screenshots, "run-preview")
    assert console_page.elsewhere == []


def test_the_server_refuses_a_viewer_and_a_post_without_its_token(
    console_page: OfflinePage, acme: FollowUpTenant, users: None, engine: Engine, screenshots: Path
) -> None:
    sign_in(console_page, VIEWER, PASSWORD)
    page = console_page.page
    page.goto(f"{console_page.base_url}/console/follow-up/reminders/{acme.notice_id}")
    assert page.get_by_role("button", name="Approve notice").count() == 0
    assert "your role is viewer" in page.locator("main").inner_text()
    _shot(console_page, screenshots, "notice-viewer")
    token = page.locator('header input[name="csrf_token"]').first.get_attribute("value")
    approve = f"{console_page.base_url}/console/follow-up/reminders/{acme.notice_id}/approve"
    as_viewer = page.request.post(approve, form={"csrf_token": token or ""})
    assert as_viewer.status == 403 and "may not do this" in as_viewer.text()
    page.request.post(f"{console_page.base_url}/console/logout", form={"csrf_token": token or ""})

    sign_in(console_page, ADMIN, PASSWORD)
    without_token = page.request.post(approve, form={})
    assert without_token.status == 403 and "security token" in without_token.text()
    assert _status(engine, acme.notice_id) == "awaiting_approval"


def test_a_dispute_thread_and_a_credit_approved_by_a_second_person(
    console_page: OfflinePage,
    acme: FollowUpTenant,
    users: None,
    engine: Engine,
    screenshots: Path,
    tmp_path: Path,
) -> None:
    sign_in(console_page, CREDIT, PASSWORD)
    page = console_page.page
    page.goto(f"{console_page.base_url}/console/follow-up/disputes?view=overdue")
    assert page.locator("table.disputes tbody tr").count() == 1
    _shot(console_page, screenshots, "disputes-overdue")
    page.goto(f"{console_page.base_url}/console/follow-up/disputes")
    _shot(console_page, screenshots, "disputes")
    page.get_by_role("link", name="FU-000003").click()
    page.wait_for_load_state("networkidle")
    assert unlabelled_fields(page) == []

    picture = tmp_path / "broken-pallet.png"
    picture.write_bytes(photo())
    page.get_by_label("Message").fill("The buyer sent a photo of the broken pallets.")
    page.get_by_label("From").select_option("customer")
    page.get_by_label("Attachment").set_input_files(str(picture))
    with page.expect_navigation():
        page.get_by_role("button", name="Add", exact=True).click()
    thread = page.locator("ol.thread")
    assert "broken-pallet.png" in thread.inner_text()
    assert thread.locator("li.msg-customer").count() == 2
    href = page.get_by_role("link", name="broken-pallet.png").get_attribute("href") or ""
    download = page.request.get(console_page.base_url + href)
    assert download.status == 200 and download.body()[:4] == b"\x89PNG"

    page.get_by_role("textbox", name="Owner").fill("ola@acme.example")
    page.get_by_label("Due date", exact=True).fill("2026-12-31")
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    assert "owner kari@acme.example → ola@acme.example" in thread.inner_text()

    page.get_by_label("Outcome").select_option("credited")
    page.get_by_label("Credit amount (NOK)").fill("400.00")
    page.get_by_label("Note").fill("Agreed by phone: 400 off for the broken pallets")
    with page.expect_navigation():
        page.get_by_role("button", name="Resolve").click()
    assert page.get_by_role("heading", name="Credit of 400.00 NOK awaits approval").is_visible()
    assert page.get_by_role("button", name="Approve credit note").count() == 0
    assert "four eyes" in page.locator(".why-no-approve").inner_text()
    _shot(console_page, screenshots, "dispute-four-eyes")

    page.request.post(
        f"{console_page.base_url}/console/logout",
        form={"csrf_token": page.locator('input[name="csrf_token"]').first.get_attribute("value") or ""},
    )
    sign_in(console_page, ADMIN, PASSWORD)
    page.goto(f"{console_page.base_url}/console/follow-up/disputes/{acme.dispute_id}")
    with page.expect_navigation():
        page.get_by_role("button", name="Approve credit note").click()
    assert "Credit approved" in page.get_by_role("status").inner_text()
    with session_scope(engine) as session:
        dispute = session.get(Dispute, acme.dispute_id)
        assert dispute is not None and dispute.status == "credited" and dispute.credit_note_invoice_id
    _shot(console_page, screenshots, "dispute-credited")
    assert console_page.elsewhere == []


def test_the_invoice_follow_up_card_leads_to_the_customers_receivables(
    console_page: OfflinePage, acme: FollowUpTenant, users: None, screenshots: Path
) -> None:
    sign_in(console_page, OPERATOR, PASSWORD)
    page = console_page.page
    page.goto(f"{console_page.base_url}/console/invoices/{acme.invoice('FU-000001')['id']}")
    card = page.get_by_role("region", name="Follow-up")
    assert "Level 1" in card.inner_text() and "awaiting approval" in card.inner_text()
    card.screenshot(path=str(screenshots / "console-followup-invoice-card.png"))
    _shot(console_page, screenshots, "invoice")
    page.get_by_role("link", name="receivables").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name=LONG_NAME, exact=True).is_visible()
    text = page.locator("main").inner_text()
    assert "50\u202f000.00 NOK" in text and "risk: watch" in text
    _shot(console_page, screenshots, "customer")
    page.get_by_role("link", name="Customers").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("table.customers tbody tr").count() == 2
    _shot(console_page, screenshots, "customers")
    page.goto(f"{console_page.base_url}/console/invoices/{acme.invoice('FU-000003')['id']}")
    assert "goods" in page.get_by_role("region", name="Follow-up").inner_text()
    _shot(console_page, screenshots, "invoice-disputed")
    assert console_page.elsewhere == []


def test_credit_control_adds_a_promise_and_holds_follow_up_on_the_invoice_card(
    console_page: OfflinePage, acme: FollowUpTenant, users: None, engine: Engine, screenshots: Path
) -> None:
    sign_in(console_page, CREDIT, PASSWORD)
    page = console_page.page
    page.goto(f"{console_page.base_url}/console/invoices/{acme.invoice('FU-000002')['id']}")
    card = page.locator("section.follow-up-card")
    card.get_by_label("Amount (NOK)").fill("99999999.00")
    card.get_by_label("Pays by").fill((tenant_today() + dt.timedelta(days=10)).isoformat())
    with page.expect_navigation():
        card.get_by_role("button", name="Add promise").click()
    assert "more than the open amount" in card.get_by_role("alert").inner_text()  # beside the field, a 422
    card.get_by_label("Amount (NOK)").fill("500.00")
    with page.expect_navigation():
        card.get_by_role("button", name="Add promise").click()
    assert "Promise to pay 500.00" in page.get_by_role("status").inner_text()
    assert card.get_by_role("button", name="Cancel promise").is_visible()
    card.get_by_label("Reason").fill("The buyer is in administration; the administrator answers by mail")
    with page.expect_navigation():
        card.get_by_role("button", name="Hold follow-up").click()
    assert "Follow-up held" in page.get_by_role("status").inner_text()
    assert "held by kari@acme.example: The buyer is in administration" in card.inner_text()
    assert card.get_by_role("button", name="Resume follow-up").is_visible()
    assert unlabelled_fields(page) == []
    card.scroll_into_view_if_needed()
    _shot(console_page, screenshots, "invoice-promise-held")
    with page.expect_navigation():  # its own action, without the promise form's required fields
        card.get_by_role("button", name="Cancel promise").click()
    assert "Promise cancelled" in page.get_by_role("status").inner_text()
    assert card.get_by_role("button", name="Add promise").is_visible()
    with session_scope(engine) as session:
        state = session.get(FollowUpState, acme.invoice("FU-000002")["id"])
        assert state is not None and state.held
