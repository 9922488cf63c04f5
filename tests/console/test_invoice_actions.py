"""The actions on one invoice over HTTP: resend, correct and resend, cancel, and its proofs of delivery.

For each: the preview changes nothing (the database is compared before and after), the confirmation does
it through the services with `console:<email>` and the reason in the event history, a viewer's forged POST
is a 403 and changes nothing, a POST without the CSRF token is a 403, and another tenant's invoice is a 404.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from db.engine import session_scope
from db.models import Delivery, InvoiceRecord, PodLink
from gateway.console.templating import ENVIRONMENT
from gateway.settings import Settings
from mappings.invoice import canonical_json
from tests.console.helpers import ConsoleClient, api_auth, make_user, push_invoices
from tests.console.invoice_fixtures import InvoiceWithPod, database_state, events_of, invoice_with_pod
from tests.services.test_resend_with_pod import photo

OPERATOR = "console:ops@acme.example"


@pytest.fixture
def acme(web: TestClient, engine: Engine, settings: Settings) -> InvoiceWithPod:
    return invoice_with_pod(web, engine, settings)


def _base(acme: InvoiceWithPod) -> str:
    return f"/console/invoices/{acme.invoice_id}"


def _delivery(engine: Engine, delivery_id: str) -> Delivery:
    with session_scope(engine) as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        session.expunge(row)
        return row


def _deliveries_of(engine: Engine, invoice_id: str) -> list[Delivery]:
    with session_scope(engine) as session:
        rows = list(
            session.execute(
                select(Delivery).where(Delivery.invoice_id == invoice_id).order_by(Delivery.created_at)
            ).scalars()
        )
        session.expunge_all()
        return rows


# --- resend ----------------------------------------------------------------------------------------------


def test_resend_form_offers_the_deliveries_channels_and_pods(
    operator: ConsoleClient, acme: InvoiceWithPod
) -> None:
    form = operator.get(f"{_base(acme)}/resend")
    assert form.status_code == 200
    assert f"Resend {acme.number}" in form.text
    assert f'value="{acme.delivery_id}" selected' in form.text
    assert '<option value="email"' in form.text
    assert f'value="{acme.pod_id}"' in form.text and acme.pod_filename in form.text
    assert 'name="reason"' in form.text


def test_resend_preview_changes_nothing_and_confirm_sends_with_the_pod_elsewhere(
    operator: ConsoleClient, acme: InvoiceWithPod, engine: Engine
) -> None:
    values = {
        "delivery": acme.delivery_id,
        "channel": "email",
        "to": "kari@buyer.example",
        "pods": [acme.pod_id],
        "reason": "buyer says the goods never arrived",
    }
    before = database_state(engine)
    preview = operator.post(f"{_base(acme)}/resend", {**values, "step": "preview"})
    assert preview.status_code == 200, preview.text
    assert "What will happen" in preview.text
    assert "a new delivery via email" in preview.text
    assert "kari@buyer.example" in preview.text
    assert acme.pod_filename in preview.text
    assert "Confirm resend" in preview.text
    assert database_state(engine) == before

    done = operator.post(f"{_base(acme)}/resend", {**values, "step": "confirm"})
    assert done.status_code == 303
    assert done.headers["location"] == f"/console/invoices/{acme.invoice_id}"
    new = [row for row in _deliveries_of(engine, acme.invoice_id) if row.id != acme.delivery_id]
    assert len(new) == 1
    resent = new[0]
    assert (resent.channel, resent.address, resent.status) == ("email", "kari@buyer.example", "queued")
    assert resent.extra_documents and len(resent.extra_documents) == 1
    [event] = events_of(engine, resent.id)
    assert event.actor == OPERATOR
    assert "buyer says the goods never arrived" in (event.reason or "")
    assert event.details and event.details["pod_ids"] == [acme.pod_id]
    assert event.details["resend_of"] == acme.delivery_id
    assert _delivery(engine, acme.delivery_id).status == "delivered"  # the old delivery stays as it was
    notice = operator.client.cookies.get("gw_console_notice")
    assert notice  # the invoice page shows it once


def test_resend_on_the_same_channel_is_the_next_attempt_and_names_it(
    operator: ConsoleClient, acme: InvoiceWithPod, engine: Engine, web: TestClient
) -> None:
    values = {"delivery": acme.delivery_id, "reason": "lost in the buyer's mail room", "step": "confirm"}
    done = operator.post(f"{_base(acme)}/resend", values)
    assert done.status_code == 303
    row = _delivery(engine, acme.delivery_id)
    assert (row.status, row.attempt) == ("queued", 2)
    last = events_of(engine, acme.delivery_id)[-1]
    assert (last.actor, last.to_status, last.attempt) == (OPERATOR, "queued", 2)
    assert last.reason == "lost in the buyer's mail room"
    overview = operator.get("/console/")
    assert f"delivery {acme.delivery_id[:8]} via folder" in overview.text and "attempt 2" in overview.text


def test_resend_preview_says_when_it_cannot_be_done(
    operator: ConsoleClient, web: TestClient, engine: Engine
) -> None:
    [waiting] = push_invoices(web, api_auth(engine), 1, start=40)  # queued, not yet sent
    before = database_state(engine)
    preview = operator.post(
        f"/console/invoices/{waiting['invoice_id']}/resend",
        {"reason": "again", "step": "preview"},
    )
    assert preview.status_code == 409
    assert "This cannot be done" in preview.text and "cannot go from queued to queued" in preview.text
    assert "Confirm resend" not in preview.text
    forged = operator.post(
        f"/console/invoices/{waiting['invoice_id']}/resend", {"reason": "again", "step": "confirm"}
    )
    assert forged.status_code == 409
    assert "cannot go from queued to queued" in forged.text
    assert database_state(engine) == before


def test_resend_names_the_waiting_siblings_and_cancels_them_when_asked(
    operator: ConsoleClient, acme: InvoiceWithPod, engine: Engine
) -> None:
    with session_scope(engine) as session:  # a print letter of the same invoice still waiting
        letter = Delivery(invoice_id=acme.invoice_id, tenant_id="acme", channel="print", status="held")
        session.add(letter)
        session.flush()
        letter_id = letter.id
    values = {"delivery": acme.delivery_id, "reason": "send it once, by e-mail", "cancel_others": "true"}
    preview = operator.post(f"{_base(acme)}/resend", {**values, "step": "preview"})
    assert preview.status_code == 200
    assert f'delivery <span class="mono">{letter_id[:8]}</span> via print' in preview.text
    assert "will be cancelled" in preview.text
    assert _delivery(engine, letter_id).status == "held"
    assert operator.post(f"{_base(acme)}/resend", {**values, "step": "confirm"}).status_code == 303
    assert _delivery(engine, letter_id).status == "cancelled"
    last = events_of(engine, letter_id)[-1]
    assert last.actor == OPERATOR and "send it once, by e-mail" in (last.reason or "")


def test_resend_asks_for_a_reason_and_names_bad_fields(
    operator: ConsoleClient, acme: InvoiceWithPod, engine: Engine
) -> None:
    before = database_state(engine)
    no_reason = operator.post(f"{_base(acme)}/resend", {"reason": "  ", "step": "confirm"})
    assert no_reason.status_code == 422
    assert "Say why" in no_reason.text
    bad_step = operator.post(f"{_base(acme)}/resend", {"reason": "x", "step": "now"})
    assert bad_step.status_code == 422 and "step" in bad_step.text
    unknown = operator.post(f"{_base(acme)}/resend", {"reason": "x", "channel": "pigeon", "step": "preview"})
    assert unknown.status_code == 422 and "unknown channel &#39;pigeon&#39;" in unknown.text
    forged_unknown = operator.post(
        f"{_base(acme)}/resend", {"reason": "x", "channel": "pigeon", "step": "confirm"}
    )
    assert forged_unknown.status_code == 422 and "channel" in forged_unknown.text
    foreign_pod = operator.post(
        f"{_base(acme)}/resend", {"reason": "x", "pods": ["0" * 32], "step": "preview"}
    )
    assert foreign_pod.status_code == 409 and "is not linked to invoice" in foreign_pod.text
    too_long = operator.post(f"{_base(acme)}/resend", {"reason": "x" * 1001, "step": "preview"})
    assert too_long.status_code == 422 and "reason" in too_long.text
    assert database_state(engine) == before


# --- correct delivery data --------------------------------------------------------------------------------


def test_correct_preview_shows_old_and_new_and_changes_nothing_then_confirm_corrects_and_resends(
    operator: ConsoleClient, acme: InvoiceWithPod, engine: Engine
) -> None:
    form = operator.get(f"{_base(acme)}/correct")
    assert form.status_code == 200
    with session_scope(engine) as session:
        record = session.get(InvoiceRecord, acme.invoice_id)
        assert record is not None
        buyer = canonical_json.parse(record.payload).buyer
    old_email = buyer.contact.email if buyer.contact else None
    assert buyer.address is not None
    fields: dict[str, Any] = {
        "buyer_email": "invoices@moved.example",
        "address_lines": "\n".join(buyer.address.lines),
        "city": buyer.address.city or "",
        "postal_code": buyer.address.postal_code or "",
        "subdivision": buyer.address.subdivision or "",
        "country": buyer.address.country,
        "endpoint_scheme": (buyer.endpoint.scheme or "") if buyer.endpoint else "",
        "endpoint_value": buyer.endpoint.value if buyer.endpoint else "",
        "resend": "true",
        "reason": "bounce: the buyer changed address",
    }
    assert f'value="{buyer.address.city}"' in form.text

    before = database_state(engine)
    preview = operator.post(f"{_base(acme)}/correct", {**fields, "step": "preview"})
    assert preview.status_code == 200, preview.text
    assert "E-mail" in preview.text and "invoices@moved.example" in preview.text
    assert f"<del>{old_email or '(none)'}</del>" in preview.text
    assert "Postal address" not in preview.text.split("What will happen")[1].split("</table>")[0]
    assert f'attempt 2 of delivery <span class="mono">{acme.delivery_id[:8]}</span>' in preview.text
    assert database_state(engine) == before

    done = operator.post(f"{_base(acme)}/correct", {**fields, "step": "confirm"})
    assert done.status_code == 303 and done.headers["location"] == _base(acme)
    with session_scope(engine) as session:
        record = session.get(InvoiceRecord, acme.invoice_id)
        assert record is not None
        corrected = canonical_json.parse(record.payload).buyer
    assert corrected.contact is not None and corrected.contact.email == "invoices@moved.example"
    assert corrected.address == buyer.address  # what the form left as it was stays
    events = events_of(engine, acme.delivery_id)
    noted = [event for event in events if event.details and event.details.get("corrected")]
    assert noted and noted[0].actor == OPERATOR
    assert noted[0].details and noted[0].details["after"] == {"buyer.contact.email": "invoices@moved.example"}
    assert events[-1].to_status == "queued" and events[-1].actor == OPERATOR
    assert "bounce: the buyer changed address" in (events[-1].reason or "")
    assert _delivery(engine, acme.delivery_id).attempt == 2


def test_correct_names_an_invalid_value_and_nothing_to_change(
    operator: ConsoleClient, acme: InvoiceWithPod, engine: Engine
) -> None:
    before = database_state(engine)
    base = {"reason": "typo", "step": "preview", "country": "NO"}
    invalid = operator.post(f"{_base(acme)}/correct", {**base, "buyer_email": "not an address"})
    assert invalid.status_code == 422
    assert "buyer_email" in invalid.text
    country = operator.post(f"{_base(acme)}/correct", {**base, "country": "NOR"})
    assert country.status_code == 422 and "country" in country.text
    assert database_state(engine) == before


# --- cancel ----------------------------------------------------------------------------------------------


def test_cancel_preview_names_the_deliveries_and_confirm_cancels_them(
    operator: ConsoleClient, web: TestClient, engine: Engine
) -> None:
    [waiting] = push_invoices(web, api_auth(engine), 1, start=50)
    delivery_id = waiting["delivery_ids"][0]
    base = f"/console/invoices/{waiting['invoice_id']}/cancel"
    form = operator.get(base)
    assert form.status_code == 200
    assert f'value="{delivery_id}" checked' in form.text
    before = database_state(engine)
    values = {"deliveries": [delivery_id], "reason": "the order was withdrawn"}
    preview = operator.post(base, {**values, "step": "preview"})
    assert preview.status_code == 200
    assert f'delivery <span class="mono">{delivery_id[:8]}</span> via folder' in preview.text
    assert "no further attempt" in preview.text and "Confirm cancellation" in preview.text
    assert database_state(engine) == before

    done = operator.post(base, {**values, "step": "confirm"})
    assert done.status_code == 303
    assert _delivery(engine, delivery_id).status == "cancelled"
    last = events_of(engine, delivery_id)[-1]
    assert (last.actor, last.reason, last.to_status) == (OPERATOR, "the order was withdrawn", "cancelled")


def test_cancelling_a_delivered_delivery_is_refused_in_the_preview_and_on_confirm(
    operator: ConsoleClient, acme: InvoiceWithPod, engine: Engine
) -> None:
    form = operator.get(f"{_base(acme)}/cancel")
    assert (
        f'value="{acme.delivery_id}"  disabled' in form.text
        or f'value="{acme.delivery_id}" disabled' in form.text
    )
    before = database_state(engine)
    values = {"deliveries": [acme.delivery_id], "reason": "too late"}
    preview = operator.post(f"{_base(acme)}/cancel", {**values, "step": "preview"})
    assert preview.status_code == 409
    assert "cannot go from delivered to cancelled" in preview.text
    assert "Confirm cancellation" not in preview.text
    forged = operator.post(f"{_base(acme)}/cancel", {**values, "step": "confirm"})
    assert forged.status_code == 409
    nothing = operator.post(f"{_base(acme)}/cancel", {"reason": "x", "step": "preview"})
    assert nothing.status_code == 422 and "Choose at least one delivery" in nothing.text
    someone_elses = operator.post(
        f"{_base(acme)}/cancel",
        {"deliveries": [acme.others[0]["delivery_ids"][0]], "reason": "x", "step": "confirm"},
    )
    assert someone_elses.status_code == 404  # a delivery of another invoice is not this invoice's
    assert database_state(engine) == before


# --- proofs of delivery ----------------------------------------------------------------------------------


def test_pods_page_shows_the_linked_pod_and_its_file(operator: ConsoleClient, acme: InvoiceWithPod) -> None:
    listing = operator.get(f"{_base(acme)}/pods")
    assert listing.status_code == 200
    assert acme.pod_filename in listing.text and "Kari Nordmann" in listing.text
    assert f"{_base(acme)}/pods/{acme.pod_id}/file" in listing.text
    document = operator.get(f"{_base(acme)}/pods/{acme.pod_id}/file")
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/pdf"
    assert document.headers["content-disposition"].startswith("inline;")
    assert document.content.startswith(b"%PDF")


def test_unlink_link_and_upload_pods(
    operator: ConsoleClient, acme: InvoiceWithPod, engine: Engine, settings: Settings
) -> None:
    pods = f"{_base(acme)}/pods"
    unlinked = operator.post(f"{pods}/{acme.pod_id}/unlink")
    assert unlinked.status_code == 303 and unlinked.headers["location"] == pods
    assert database_state(engine)["links"] == []
    page = operator.get(pods).text
    assert "No proof of delivery is linked to this invoice yet." in page
    assert f'name="pod" value="{acme.pod_id}"' in page  # waiting unlinked, one button away

    linked = operator.post(f"{pods}/link", {"pod": acme.pod_id})
    assert linked.status_code == 303
    with session_scope(engine) as session:
        link = session.get(PodLink, (acme.pod_id, acme.invoice_id))
        assert link is not None and (link.linked_by, link.actor) == ("operator", OPERATOR)
    assert operator.post(f"{pods}/link", {"pod": "no-such-pod"}).status_code == 404

    picture = photo("PNG", (320, 200))
    uploaded = operator.post(
        f"{pods}/upload",
        {"signer_name": "Ola Mottaker", "signed_at": "2026-11-05T14:30"},
        files={"file": ("doorstep.png", picture, "image/png")},
    )
    assert uploaded.status_code == 303, uploaded.text
    assert len(database_state(engine)["links"]) == 2
    listing = operator.get(pods).text
    assert "doorstep.png" in listing and "Ola Mottaker" in listing

    again = operator.post(f"{pods}/upload", files={"file": ("again.png", picture, "image/png")})
    assert again.status_code == 303 and len(database_state(engine)["links"]) == 2


def test_upload_checks_the_file_in_the_parse_pool(
    web: TestClient, operator: ConsoleClient, acme: InvoiceWithPod, engine: Engine, parse_pool_for_tests: Any
) -> None:
    """The POD's check (a PDF's pages, an image's header) runs in the app's parse pool, not the request's
    thread (issue 18): a good photo is kept and linked, a broken one refused as in place."""
    web.app.state.parse_pool = parse_pool_for_tests  # type: ignore[attr-defined]
    ran = len(parse_pool_for_tests.readers)
    pods = f"{_base(acme)}/pods"
    uploaded = operator.post(
        f"{pods}/upload", files={"file": ("door.png", photo("PNG", (320, 200)), "image/png")}
    )
    assert uploaded.status_code == 303, uploaded.text
    broken = operator.post(
        f"{pods}/upload", files={"file": ("fake.pdf", b"%PDF-1.7 broken", "application/pdf")}
    )
    assert broken.status_code == 422 and "file: not a readable PDF" in broken.text
    examine = "gateway.services.inbound.pods.examine"
    assert parse_pool_for_tests.readers[ran:] == [examine, examine]
    assert parse_pool_for_tests.ran_in_a_process()
    assert len(database_state(engine)["links"]) == 2


def test_upload_refuses_what_post_pods_refuses_naming_the_field(
    operator: ConsoleClient, acme: InvoiceWithPod, engine: Engine
) -> None:
    pods = f"{_base(acme)}/pods"
    before = database_state(engine)
    text = operator.post(f"{pods}/upload", files={"file": ("notes.txt", b"hello", "text/plain")})
    assert text.status_code == 415 and "file:" in text.text
    disguised = operator.post(
        f"{pods}/upload", files={"file": ("fake.pdf", b"hello there", "application/pdf")}
    )
    assert disguised.status_code == 415 and "file:" in disguised.text
    bad_date = operator.post(
        f"{pods}/upload", {"signed_at": "yesterday"}, files={"file": ("p.png", photo(), "image/png")}
    )
    assert bad_date.status_code == 422 and "signed_at" in bad_date.text
    missing = operator.post(f"{pods}/upload", {"signer_name": "x"})
    assert missing.status_code == 422 and "file" in missing.text
    assert database_state(engine) == before


def test_upload_over_the_size_limit_is_413(web: TestClient, engine: Engine, settings: Settings) -> None:
    settings.max_pod_bytes = 2_000  # the app reads its settings object on every request
    [invoice] = push_invoices(web, api_auth(engine), 1)
    user = ConsoleClient(web, make_user(engine, "ops@acme.example"))
    before = database_state(engine)
    too_big = photo("PNG", (64, 64)) + b"\0" * 3_000
    answer = user.post(
        f"/console/invoices/{invoice['invoice_id']}/pods/upload",
        files={"file": ("big.png", too_big, "image/png")},
    )
    assert answer.status_code == 413 and "file:" in answer.text
    assert database_state(engine) == before


# --- who may ---------------------------------------------------------------------------------------------

ACTION_POSTS = [
    ("resend", {"reason": "x", "step": "confirm"}),
    ("correct", {"reason": "x", "buyer_email": "a@b.example", "step": "confirm"}),
    ("cancel", {"reason": "x", "step": "confirm"}),
    ("pods/link", {"pod": "x"}),
]


def test_a_viewer_sees_no_action_and_a_forged_post_is_403(
    viewer: ConsoleClient, acme: InvoiceWithPod, engine: Engine
) -> None:
    for action in ("resend", "correct", "cancel"):
        assert viewer.get(f"{_base(acme)}/{action}").status_code == 403
    pods = viewer.get(f"{_base(acme)}/pods")
    assert pods.status_code == 200 and acme.pod_filename in pods.text
    assert "Unlink" not in pods.text and "Upload" not in pods.text
    before = database_state(engine)
    for action, values in ACTION_POSTS:
        assert (
            viewer.post(f"{_base(acme)}/{action}", {**values, "deliveries": [acme.delivery_id]}).status_code
            == 403
        )
    assert viewer.post(f"{_base(acme)}/pods/{acme.pod_id}/unlink").status_code == 403
    upload = viewer.post(f"{_base(acme)}/pods/upload", files={"file": ("p.png", photo(), "image/png")})
    assert upload.status_code == 403
    assert database_state(engine) == before


def test_the_actions_panel_shows_actions_only_to_those_who_may() -> None:
    class Someone:
        def __init__(self, role: str) -> None:
            self.role = role

        def may(self, permission: str) -> bool:
            return self.role == "operator"

    panel = ENVIRONMENT.get_template("invoice/actions.html")
    context = {"invoice_id": "abc", "invoice_number": "INV-1", "deliveries": [], "pods": [1, 2]}
    for_operator = panel.render(**context, identity=Someone("operator"))
    assert "/console/invoices/abc/resend" in for_operator and "/console/invoices/abc/cancel" in for_operator
    assert "Proofs of delivery (2)" in for_operator
    for_viewer = panel.render(**context, identity=Someone("viewer"))
    assert "/resend" not in for_viewer and "/correct" not in for_viewer and "/cancel" not in for_viewer
    assert "/console/invoices/abc/pods" in for_viewer


def test_a_post_without_the_csrf_token_is_403(
    operator: ConsoleClient, acme: InvoiceWithPod, engine: Engine
) -> None:
    before = database_state(engine)
    for action, values in ACTION_POSTS:
        answer = operator.post(
            f"{_base(acme)}/{action}", {**values, "deliveries": [acme.delivery_id]}, csrf=False
        )
        assert answer.status_code == 403, action
    assert operator.post(f"{_base(acme)}/pods/{acme.pod_id}/unlink", csrf=False).status_code == 403
    assert database_state(engine) == before


def test_another_tenants_invoice_is_404(
    web: TestClient, engine: Engine, settings: Settings, acme: InvoiceWithPod
) -> None:
    globex = ConsoleClient(web, make_user(engine, "ops@globex.example", "operator", tenants=("globex",)))
    before = database_state(engine)
    for action in ("resend", "correct", "cancel", "pods"):
        assert globex.get(f"{_base(acme)}/{action}").status_code == 404
    assert globex.get(f"{_base(acme)}/pods/{acme.pod_id}/file").status_code == 404
    for action, values in ACTION_POSTS:
        answer = globex.post(f"{_base(acme)}/{action}", {**values, "deliveries": [acme.delivery_id]})
        assert answer.status_code == 404, action
    assert globex.post(f"{_base(acme)}/pods/{acme.pod_id}/unlink").status_code == 404
    upload = globex.post(f"{_base(acme)}/pods/upload", files={"file": ("p.png", photo(), "image/png")})
    assert upload.status_code == 404
    assert database_state(engine) == before


def test_an_invoice_is_found_by_its_number_too(operator: ConsoleClient, acme: InvoiceWithPod) -> None:
    answer = operator.get(f"/console/invoices/{acme.number}/resend")
    assert answer.status_code == 200 and f"Resend {acme.number}" in answer.text
    done = operator.post(
        f"/console/invoices/{acme.number}/resend", {"reason": "by number", "step": "confirm"}
    )
    assert done.headers["location"] == _base(acme)  # the invoice page by its id: never ambiguous
