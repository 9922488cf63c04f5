"""The follow-up pages over the real services: who may approve and cancel a notice and a credit (enforced on
the server, whatever the page showed), CSRF on every form, tenant isolation, and what each action changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import Dispute, FollowUpState, ReminderNotice
from db.models.followup import PaymentPromise
from gateway.api.app import create_app
from gateway.services.followup.run import tenant_today
from gateway.settings import Settings
from tests.console.followup_scenario import LONG_NAME, FollowUpTenant, follow_up_tenant
from tests.console.helpers import ConsoleClient, api_auth, make_user


@pytest.fixture
def acme(web: TestClient, engine: Engine) -> FollowUpTenant:
    return follow_up_tenant(web, engine, api_auth(engine))


@pytest.fixture
def sign_in(settings: Settings, engine: Engine) -> Iterator[Callable[..., ConsoleClient]]:
    """Console users of any role, each in a client of their own (closed after the test)."""
    with ExitStack() as stack:

        def signed_in(email: str, role: str, tenants: tuple[str, ...] = ("acme",)) -> ConsoleClient:
            client = stack.enter_context(
                TestClient(create_app(settings, engine), base_url="http://testserver")
            )
            return ConsoleClient(client, make_user(engine, email, role, tenants))

        yield signed_in


@pytest.fixture
def credit(sign_in: Callable[..., ConsoleClient]) -> ConsoleClient:
    return sign_in("kari@acme.example", "credit")


@pytest.fixture
def admin(sign_in: Callable[..., ConsoleClient]) -> ConsoleClient:
    return sign_in("ola@acme.example", "admin")


def _notice(engine: Engine, notice_id: str) -> ReminderNotice:
    with session_scope(engine) as session:
        found = session.get(ReminderNotice, notice_id)
        assert found is not None
        session.expunge(found)
        return found


def _dispute(engine: Engine, dispute_id: str) -> Dispute:
    with session_scope(engine) as session:
        found = session.get(Dispute, dispute_id)
        assert found is not None
        session.expunge(found)
        return found


def test_every_follow_up_page_answers_for_a_viewer_without_action_buttons(
    acme: FollowUpTenant, viewer: ConsoleClient
) -> None:
    notice = viewer.get(f"/console/follow-up/reminders/{acme.notice_id}")
    assert notice.status_code == 200
    assert "Approve notice" not in notice.text and "your role is viewer" in notice.text
    listing = viewer.get("/console/follow-up/reminders")
    assert listing.status_code == 200 and LONG_NAME in listing.text and "awaiting approval" in listing.text
    assert "Run now (dry run)" in listing.text and "Preview the run" not in listing.text
    dispute = viewer.get(f"/console/follow-up/disputes/{acme.dispute_id}")
    assert dispute.status_code == 200 and "Three of ten pallets" in dispute.text
    assert 'action="/console/follow-up/disputes/' not in dispute.text
    inbox = viewer.get("/console/follow-up/disputes?view=overdue")
    assert inbox.status_code == 200 and "FU-000003" in inbox.text
    customer = viewer.get("/console/follow-up/customers/C-LONG")
    assert customer.status_code == 200 and "50\u202f000.00" in customer.text
    assert viewer.get("/console/follow-up/customers").status_code == 200
    invoice = viewer.get(f"/console/invoices/{acme.invoice('FU-000001')['id']}")
    assert (
        'id="h-follow-up"' in invoice.text
        and f"/console/follow-up/reminders/{acme.notice_id}" in invoice.text
    )
    assert "/console/follow-up/customers/C-LONG" in invoice.text
    disputed = viewer.get(f"/console/invoices/{acme.invoice('FU-000003')['id']}")
    assert f"/console/follow-up/disputes/{acme.dispute_id}" in disputed.text


def test_approving_a_notice_is_for_credit_and_admin_only_and_needs_the_csrf_token(
    acme: FollowUpTenant,
    viewer: ConsoleClient,
    operator: ConsoleClient,
    credit: ConsoleClient,
    engine: Engine,
) -> None:
    path = f"/console/follow-up/reminders/{acme.notice_id}/approve"
    assert viewer.post(path).status_code == 403
    assert operator.post(path).status_code == 403
    assert credit.post(path, csrf=False).status_code == 403
    assert _notice(engine, acme.notice_id).status == "awaiting_approval"
    done = credit.post(path)
    assert done.status_code == 303
    approved = _notice(engine, acme.notice_id)
    assert approved.status != "awaiting_approval" and approved.approved_by == "console:kari@acme.example"
    again = credit.post(path, follow_redirects=True)
    assert "Nothing done" in again.text


def test_cancelling_a_notice_needs_a_reason_and_puts_the_invoices_back(
    acme: FollowUpTenant, operator: ConsoleClient, admin: ConsoleClient, engine: Engine
) -> None:
    path = f"/console/follow-up/reminders/{acme.notice_id}/cancel"
    assert operator.post(path, {"reason": "paid"}).status_code == 403
    refused = admin.post(path, {"reason": "  "})
    assert refused.status_code == 422 and "reason" in refused.text
    assert admin.post(path, {"reason": "paid at the counter"}).status_code == 303
    cancelled = _notice(engine, acme.notice_id)
    assert cancelled.status == "cancelled" and cancelled.cancel_reason == "paid at the counter"
    with session_scope(engine) as session:
        state = session.get(FollowUpState, acme.invoice("FU-000001")["id"])
        assert state is not None and state.level == 0


def test_the_dry_run_preview_writes_nothing_and_is_for_credit_control(
    acme: FollowUpTenant, operator: ConsoleClient, credit: ConsoleClient, engine: Engine
) -> None:
    assert operator.post("/console/follow-up/run-preview", {"on": "2026-07-20"}).status_code == 403
    before = _notice(engine, acme.notice_id).status
    shown = credit.post("/console/follow-up/run-preview", {"on": "2026-07-20"})
    assert shown.status_code == 200 and "Run preview for 2026-07-20" in shown.text
    assert "disputed" in shown.text and "Level 2" in shown.text  # a skip reason, the next level
    assert _notice(engine, acme.notice_id).status == before
    assert credit.post("/console/follow-up/run-preview", {"on": "20-07-2026"}).status_code == 422


def test_a_dispute_note_owner_and_credit_with_four_eyes(
    acme: FollowUpTenant,
    viewer: ConsoleClient,
    operator: ConsoleClient,
    credit: ConsoleClient,
    admin: ConsoleClient,
    engine: Engine,
) -> None:
    base = f"/console/follow-up/disputes/{acme.dispute_id}"
    assert viewer.post(f"{base}/messages", {"text": "hi"}).status_code == 403
    assert operator.post(f"{base}/messages", {"text": "hi"}, csrf=False).status_code == 403
    assert (
        operator.post(f"{base}/messages", {"text": "Called the buyer.", "side": "internal"}).status_code
        == 303
    )
    assert (
        operator.post(f"{base}/owner", {"owner": "ola@acme.example", "due_date": "2026-07-01"}).status_code
        == 303
    )
    assert _dispute(engine, acme.dispute_id).owner == "ola@acme.example"
    bad = credit.post(f"{base}/resolve", {"outcome": "credited", "credit_amount": "1,5"})
    assert bad.status_code == 422 and "credit_amount" in bad.text
    assert (
        credit.post(f"{base}/resolve", {"outcome": "credited", "credit_amount": "400.00"}).status_code == 303
    )
    assert _dispute(engine, acme.dispute_id).status == "awaiting_approval"
    page = credit.get(base).text
    assert "Approve credit note" not in page and "four eyes" in page
    assert credit.post(f"{base}/approve-credit").status_code == 403  # the service refuses the proposer
    assert operator.post(f"{base}/approve-credit").status_code == 403
    assert "Approve credit note" in admin.get(base).text
    assert admin.post(f"{base}/approve-credit").status_code == 303
    credited = _dispute(engine, acme.dispute_id)
    assert credited.status == "credited" and credited.credit_note_invoice_id is not None
    history = viewer.get(base).text
    assert "Called the buyer." in history and "credit note" in history


def test_another_tenants_follow_up_is_not_found(
    acme: FollowUpTenant, sign_in: Callable[..., ConsoleClient], engine: Engine
) -> None:
    other = sign_in("eve@other.example", "admin", ("other",))
    assert other.get(f"/console/follow-up/reminders/{acme.notice_id}").status_code == 404
    assert other.get(f"/console/follow-up/disputes/{acme.dispute_id}").status_code == 404
    assert other.get("/console/follow-up/customers/C-LONG").status_code == 404
    assert other.post(f"/console/follow-up/reminders/{acme.notice_id}/approve").status_code == 404
    assert _notice(engine, acme.notice_id).status == "awaiting_approval"


def _promises(engine: Engine, invoice_id: str) -> list[PaymentPromise]:
    with session_scope(engine) as session:
        found = list(
            session.execute(
                select(PaymentPromise).where(col(PaymentPromise.invoice_id) == invoice_id)
            ).scalars()
        )
        session.expunge_all()
        return found


def test_a_promise_to_pay_is_added_inline_checked_and_cancelled_from_the_invoice_card(
    acme: FollowUpTenant, viewer: ConsoleClient, operator: ConsoleClient, engine: Engine
) -> None:
    invoice_id = acme.invoice("FU-000002")["id"]
    path = f"/console/follow-up/invoices/{invoice_id}/promise"
    soon = (tenant_today() + dt.timedelta(days=7)).isoformat()
    assert 'action="/console/follow-up/invoices/' not in viewer.get(f"/console/invoices/{invoice_id}").text
    assert viewer.post(path, {"date": soon, "amount": "100.00"}).status_code == 403
    assert operator.post(path, {"date": soon, "amount": "100.00"}, csrf=False).status_code == 403
    too_much = operator.post(path, {"date": soon, "amount": "99999999.00"})
    assert too_much.status_code == 422 and 'id="promise-amount-error"' in too_much.text
    assert "more than the open amount" in too_much.text and 'value="99999999.00"' in too_much.text
    past = operator.post(path, {"date": "2020-01-01", "amount": "100.00"})
    assert past.status_code == 422 and 'id="promise-date-error"' in past.text and "in the past" in past.text
    garbled = operator.post(path, {"date": "01.02.2027", "amount": "1,5"})
    assert garbled.status_code == 422 and "is not a date" in garbled.text
    assert _promises(engine, invoice_id) == []
    assert operator.post(path, {"date": soon, "amount": "100.00"}).status_code == 303
    [promise] = _promises(engine, invoice_id)
    assert (
        promise.status == "open"
        and promise.amount == "100.00"
        and promise.created_by == "console:ops@acme.example"
    )
    card = operator.get(f"/console/invoices/{invoice_id}").text
    assert "Cancel promise" in card and "Replace promise" in card
    cancel = f"/console/follow-up/invoices/{invoice_id}/promises/{promise.id}/cancel"
    assert viewer.post(cancel).status_code == 403
    other_invoice = acme.invoice("FU-000001")["id"]
    assert (
        operator.post(f"/console/follow-up/invoices/{other_invoice}/promises/{promise.id}/cancel").status_code
        == 404
    )
    assert operator.post(cancel).status_code == 303
    assert [p.status for p in _promises(engine, invoice_id)] == ["cancelled"]
    again = operator.post(cancel, follow_redirects=True)
    assert "Nothing done" in again.text


def test_holding_follow_up_is_for_credit_control_says_who_and_why_and_resumes(
    acme: FollowUpTenant, operator: ConsoleClient, credit: ConsoleClient, engine: Engine
) -> None:
    invoice_id = acme.invoice("FU-000002")["id"]
    path = f"/console/follow-up/invoices/{invoice_id}/hold"
    assert "Hold follow-up" not in operator.get(f"/console/invoices/{invoice_id}").text
    assert operator.post(path, {"step": "hold", "reason": "x"}).status_code == 403
    assert credit.post(path, {"step": "hold", "reason": "x"}, csrf=False).status_code == 403
    blank = credit.post(path, {"step": "hold", "reason": "  "})
    assert blank.status_code == 422 and 'id="hold-reason-error"' in blank.text
    assert credit.post(path, {"step": "hold", "reason": "Buyer is in administration"}).status_code == 303
    with session_scope(engine) as session:
        state = session.get(FollowUpState, invoice_id)
        assert state is not None and state.held
    card = credit.get(f"/console/invoices/{invoice_id}").text
    assert "held by kari@acme.example: Buyer is in administration" in card and "Resume follow-up" in card
    assert "follow-up held: Buyer is in administration" in card  # the line in the invoice's history
    assert (
        credit.post(path, {"step": "hold", "reason": "twice"}, follow_redirects=True).text.count(
            "Nothing done"
        )
        == 1
    )
    assert credit.post(path, {"step": "resume", "reason": "Administrator confirmed"}).status_code == 303
    with session_scope(engine) as session:
        state = session.get(FollowUpState, invoice_id)
        assert state is not None and not state.held
    assert "Hold follow-up" in credit.get(f"/console/invoices/{invoice_id}").text
