"""The deviations inbox over HTTP: filters, keyset pages, the actions per row, and bulk resend / resolve
with a confirmation step, each item through the same services as the API, refused for viewers, forged
forms and other tenants' deviations.

The deviations are made by the code paths that make them: the worker failing a folder delivery that is too
big and a document that fails EHF validation, and the reason texts a DSN, an overdue EDI acknowledgement, a
negative CONTRL and a print house's returned-mail file write when they move a sent delivery to deviation.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlmodel import col

from db.engine import session_scope
from db.models import Delivery, Deviation, InvoiceRecord
from gateway.console.pages import deviations as inbox_page
from gateway.samples import sample_invoice_json
from gateway.services.outbound import deviations as service
from gateway.settings import Settings
from gateway.worker import Worker
from outbox.states import DeliveryStatus as S
from tests.acceptance.test_ehf_delivery import RULES
from tests.console.helpers import ConsoleClient, make_user
from tests.outbox_helpers import delivery_events, delivery_row
from tests.services.test_deviations import _accept, _deviating

_INVOICE_LINK = re.compile(r'href="/console/invoices/([^"]+)"')


@dataclass
class Inbox:
    """The deliveries that deviate, by invoice number."""

    deliveries: dict[str, str]

    def deviation(self, engine: Engine, number: str) -> str:
        """The id of the invoice's newest deviation."""
        with session_scope(engine) as session:
            return str(
                session.execute(
                    select(col(Deviation.id))
                    .where(col(Deviation.delivery_id) == self.deliveries[number])
                    .order_by(col(Deviation.opened_at).desc())
                )
                .scalars()
                .first()
            )


def make_inbox(engine: Engine, settings: Settings, *, validation: bool = True) -> Inbox:
    """Seven open deviations across five causes and four channels, for tenant acme; one for globex."""
    settings.channels = {"folder": {"max_document_bytes": 100}}
    deliveries: dict[str, str] = {}
    for n in (5, 6):  # the worker: a folder delivery too big for the folder → undeliverable
        _accept(engine, sample_invoice_json(n))
    if validation:  # the worker: EHF rule NO-R-001 fails → validation-failed
        settings.rules_dir = RULES
        invoice = sample_invoice_json(7)
        invoice["seller"]["vat_id"] = "NO987654321MVA"
        invoice["routing"] = {"format": "ehf"}
        _accept(engine, invoice)
    Worker(engine, settings, worker_id="worker-1").run(once=True)
    with session_scope(engine) as session:
        for delivery_id, number in session.execute(
            select(col(Deviation.delivery_id), col(InvoiceRecord.number)).join(
                InvoiceRecord, col(InvoiceRecord.id) == col(Deviation.invoice_id)
            )
        ).all():
            deliveries[number] = delivery_id
    reported = [
        (
            1,
            "email",
            "e-mail bounced (DSN: failed) from mta.hub.test: post@nordlys.test 5.1.1 (smtp; 550 5.1.1 "
            "user unknown)",
            {"kind": "dsn"},
        ),
        (2, "edi", "no acknowledgement from ica within 24 h (interchange 17)", {"kind": "edi-ack-overdue"}),
        (
            3,
            "print",
            "returned mail (MOVED: Flyttet, ukjent adresse), returned on 2026-12-01; the buyer's postal "
            "address needs checking",
            None,
        ),
        (
            4,
            "edi",
            "CONTRL from ica (interchange 18): rejected: segment 5 element 2 component 1: code 12 "
            "(invalid value)",
            {"kind": "edi-ack", "ack_kind": "CONTRL"},
        ),
    ]
    for n, channel, reason, details in reported:
        deliveries[f"INV-{n:06d}"] = _deviating(engine, n, reason, channel=channel, details=details)
    _deviating(engine, 9, "e-mail bounced (DSN: failed): x@globex.test 5.1.1", tenant="globex")
    return Inbox(deliveries)


def listed(user: ConsoleClient, query: str = "") -> list[str]:
    """The invoice numbers the inbox lists (in its order) for `query`."""
    answer = user.get(f"/console/deviations{query}")
    assert answer.status_code == 200, answer.text
    return _INVOICE_LINK.findall(answer.text)


def _deviation_row(engine: Engine, deviation_id: str) -> Deviation:
    with session_scope(engine) as session:
        row = session.get(Deviation, deviation_id)
        assert row is not None
        return row


def _all_closures(engine: Engine) -> list[tuple[Any, ...]]:
    """Every deviation of every tenant with how it stands: to show that a refused request changed nothing."""
    with session_scope(engine) as session:
        columns = (Deviation.id, Deviation.closure, Deviation.closed_by, Deviation.closed_at)
        return sorted(tuple(row) for row in session.execute(select(*map(col, columns))).all())


# --- the list --------------------------------------------------------------------------------------------


def test_filters_return_exactly_the_right_rows(
    operator: ConsoleClient, engine: Engine, settings: Settings
) -> None:
    inbox = make_inbox(engine, settings)
    everything = {f"INV-{n:06d}" for n in (1, 2, 3, 4, 5, 6, 7)}
    assert set(listed(operator)) == everything  # globex's INV-000009 is not acme's
    assert listed(operator, "?cause=bounced") == ["INV-000001"]
    assert set(listed(operator, "?cause=undeliverable")) == {"INV-000005", "INV-000006"}
    assert listed(operator, "?cause=validation-failed") == ["INV-000007"]
    assert set(listed(operator, "?channel=edi")) == {"INV-000002", "INV-000004"}
    assert listed(operator, "?channel=edi&cause=negative-ack") == ["INV-000004"]
    assert listed(operator, "?channel=print") == ["INV-000003"]

    with session_scope(engine) as session:  # two days pass for one of them
        session.execute(
            update(Deviation)
            .where(col(Deviation.delivery_id) == inbox.deliveries["INV-000003"])
            .values(opened_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))
        )
    assert listed(operator, "?age=1d") == ["INV-000003"]
    assert listed(operator, "?age=7d") == []
    assert listed(operator, "?age=1h") == ["INV-000003"]

    resolved = inbox.deviation(engine, "INV-000002")
    answer = operator.post(
        f"/console/deviations/{resolved}/resolve", {"reason": "ICA confirmed receipt by phone"}
    )
    assert answer.status_code == 303
    assert set(listed(operator)) == everything - {"INV-000002"}
    assert listed(operator, "?state=closed") == ["INV-000002"]
    assert set(listed(operator, "?state=all")) == everything
    assert listed(operator, "?state=covered") == []

    page = operator.get("/console/deviations").text  # counts per cause beside the filter
    assert "E-mail bounced (1)" in page and "Undeliverable (2)" in page and "No acknowledgement (0)" in page
    assert "Select deviation for invoice INV-000005" in page
    assert page.count("checked") == 0
    selected = operator.get("/console/deviations?cause=undeliverable&select=all").text  # without JavaScript
    assert selected.count('name="ids"') == selected.count(" checked") == 2
    assert 'name="back" value="cause=undeliverable"' in selected


def test_next_page_continues_where_the_last_ended(
    operator: ConsoleClient, engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_inbox(engine, settings, validation=False)
    monkeypatch.setattr(inbox_page, "PAGE_SIZE", 4)
    first = operator.get("/console/deviations?channel=&state=open")
    numbers = _INVOICE_LINK.findall(first.text)
    [next_link] = re.findall(r'href="(\?[^"]*after=[^"]+)"', first.text)
    second = _INVOICE_LINK.findall(operator.get("/console/deviations" + next_link.replace("&amp;", "&")).text)
    assert len(numbers) == 4 and len(second) == 2
    assert set(numbers) | set(second) == {f"INV-{n:06d}" for n in (1, 2, 3, 4, 5, 6)}
    assert "Next page" not in operator.get("/console/deviations" + next_link.replace("&amp;", "&")).text


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?cause=melted", "cause"),
        ("?age=3y", "age"),
        ("?state=shut", "state"),
        ("?channel=%3Cscript%3E", "channel"),
        ("?after=yesterday_x", "after"),
    ],
)
def test_a_malformed_filter_is_a_4xx_page_naming_the_field(
    operator: ConsoleClient, query: str, field: str
) -> None:
    answer = operator.get(f"/console/deviations{query}")
    assert answer.status_code == 422
    assert f"{field}:" in answer.text and "<script>" not in answer.text


def test_empty_inbox_says_so(operator: ConsoleClient) -> None:
    page = operator.get("/console/deviations").text
    assert "No open deviations" in page and 'id="bulk"' not in page


# --- one at a time -----------------------------------------------------------------------------------------


def test_the_actions_fit_the_cause_and_resend_elsewhere_covers_it(
    operator: ConsoleClient, engine: Engine, settings: Settings
) -> None:
    inbox = make_inbox(engine, settings, validation=False)
    page = operator.get("/console/deviations").text
    returned = inbox.deviation(engine, "INV-000003")
    rejected_row = page.split(f'id="pick-{inbox.deviation(engine, "INV-000004")}"')[1].split("</tr>")[0]
    returned_row = page.split(f'id="pick-{returned}"')[1].split("</tr>")[0]
    assert "Resend on another channel" in returned_row and "fixing the buyer" in returned_row
    assert "Resend on another channel" in rejected_row  # a negative ack may go elsewhere
    answer = operator.post(
        f"/console/deviations/{returned}/resend",
        {
            "channel": "email",
            "address": "post@nordlys.test",
            "reason": "switch to e-mail",
            "back": "state=all",
        },
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/deviations?state=all"
    row = _deviation_row(engine, returned)
    assert (row.closure, row.closed_by) == ("fallback", "console:ops@acme.example")
    covered = operator.get("/console/deviations?state=covered").text
    assert _INVOICE_LINK.findall(covered) == ["INV-000003"] and "by the email delivery (queued)" in covered


def test_resolve_needs_a_reason(operator: ConsoleClient, engine: Engine, settings: Settings) -> None:
    inbox = make_inbox(engine, settings, validation=False)
    deviation_id = inbox.deviation(engine, "INV-000001")
    answer = operator.post(f"/console/deviations/{deviation_id}/resolve", {"reason": "  "})
    assert answer.status_code == 422 and "reason:" in answer.text
    assert _deviation_row(engine, deviation_id).closed_at is None


# --- bulk ------------------------------------------------------------------------------------------------


def test_bulk_resend_of_two_confirms_then_resends_both_with_actor_and_reason(
    operator: ConsoleClient, engine: Engine, settings: Settings
) -> None:
    inbox = make_inbox(engine, settings, validation=False)
    chosen = [inbox.deviation(engine, "INV-000005"), inbox.deviation(engine, "INV-000006")]
    before = _all_closures(engine)
    form = {
        "ids": chosen,
        "action": "resend",
        "reason": "folder size limit raised",
        "back": "cause=undeliverable",
    }
    confirm = operator.post("/console/deviations/bulk", form)
    assert confirm.status_code == 200
    assert "Resend 2 deviations?" in confirm.text
    assert confirm.text.count("attempt 2 on folder") == 2
    assert _all_closures(engine) == before  # the confirmation page changes nothing

    done = operator.post("/console/deviations/bulk/confirm", form)
    assert done.status_code == 303 and done.headers["location"] == "/console/deviations?cause=undeliverable"
    after = operator.get(done.headers["location"]).text
    assert "Resent 2, resolved 0, skipped 0." in after
    assert _INVOICE_LINK.findall(after) == []  # they left the open list
    for deviation_id in chosen:
        row = _deviation_row(engine, deviation_id)
        assert (row.closure, row.closed_by, row.closure_reason) == (
            "resent",
            "console:ops@acme.example",
            "folder size limit raised",
        )
        delivery = delivery_row(engine, row.delivery_id)
        assert (delivery.status, delivery.attempt) == (S.QUEUED, 2)
        last = delivery_events(engine, row.delivery_id)[-1]
        assert (last.actor, last.reason, last.to_status) == (
            "console:ops@acme.example",
            "folder size limit raised",
            "queued",
        )
    settings.channels = {}  # the limit really is raised: the worker delivers the new attempts
    Worker(engine, settings, worker_id="worker-2").run(once=True)
    for deviation_id in chosen:
        assert delivery_row(engine, _deviation_row(engine, deviation_id).delivery_id).status == S.DELIVERED


def test_bulk_resolve_skips_and_reports_one_closed_already(
    operator: ConsoleClient, engine: Engine, settings: Settings
) -> None:
    inbox = make_inbox(engine, settings, validation=False)
    closed, open_one = inbox.deviation(engine, "INV-000001"), inbox.deviation(engine, "INV-000002")
    with session_scope(engine) as session:
        service.resolve_deviation(session, "acme", closed, actor="api:erp", reason="sent by post")
    form = {"ids": [closed, open_one], "action": "resolve", "reason": "partner confirmed by phone"}
    confirm = operator.post("/console/deviations/bulk", form)
    assert "Resolve 1 deviation?" in confirm.text
    assert "already closed (resolved by api:erp)" in confirm.text
    done = operator.post("/console/deviations/bulk/confirm", form)
    notice = operator.get(done.headers["location"]).text
    assert "Resent 0, resolved 1, skipped 1 (already closed: invoice INV-000001)." in notice
    assert _deviation_row(engine, closed).closed_by == "api:erp"  # untouched
    row = _deviation_row(engine, open_one)
    assert (row.closure, row.closed_by, row.closure_reason) == (
        "resolved",
        "console:ops@acme.example",
        "partner confirmed by phone",
    )
    last = delivery_events(engine, row.delivery_id)[-1]
    assert last.actor == "console:ops@acme.example" and "partner confirmed by phone" in (last.reason or "")


def test_one_failing_item_does_not_undo_the_others(
    operator: ConsoleClient, engine: Engine, settings: Settings
) -> None:
    inbox = make_inbox(engine, settings, validation=False)
    taken, fine = inbox.deviation(engine, "INV-000005"), inbox.deviation(engine, "INV-000006")
    form = {"ids": [taken, fine], "action": "resend", "reason": "limit raised"}
    operator.post("/console/deviations/bulk", form)
    with session_scope(engine) as session:  # between confirmation and confirm a worker takes one
        session.execute(
            update(Delivery)
            .where(col(Delivery.id) == inbox.deliveries["INV-000005"])
            .values(status=S.SENDING.value)
        )
    done = operator.post("/console/deviations/bulk/confirm", form)
    notice = operator.get(done.headers["location"]).text
    assert "Resent 1, resolved 0, skipped 0; failed 1 (invoice INV-000005: " in notice
    assert _deviation_row(engine, fine).closure == "resent"
    assert _deviation_row(engine, taken).closed_at is None


def test_bulk_input_is_checked(operator: ConsoleClient, engine: Engine, settings: Settings) -> None:
    inbox = make_inbox(engine, settings, validation=False)
    one = inbox.deviation(engine, "INV-000001")
    cases = [
        ({"ids": ["not-an-id"], "action": "resend"}, 422, "ids:"),
        ({"action": "resend"}, 422, "ids: select at least one deviation"),
        ({"ids": [one], "action": "explode"}, 422, "action:"),
        ({"ids": [one], "action": "resolve", "reason": ""}, 422, "reason:"),
    ]
    for form, status, words in cases:
        for path in ("/console/deviations/bulk", "/console/deviations/bulk/confirm"):
            answer = operator.post(path, form)
            assert (answer.status_code, words in answer.text) == (status, True), (path, form)
    malformed = operator.post("/console/deviations/..%2Fsettings/resolve", {"reason": "x"})
    assert malformed.status_code in (404, 422)
    answer = operator.post("/console/deviations/NOT-HEX/resolve", {"reason": "x"})
    assert answer.status_code == 422 and "deviation: &#39;NOT-HEX&#39; is not a deviation id" in answer.text
    settings.max_bulk_items = 1
    too_many = operator.post(
        "/console/deviations/bulk", {"ids": [one, inbox.deviation(engine, "INV-000002")], "action": "resend"}
    )
    assert too_many.status_code == 413 and "at most 1 per action" in too_many.text
    assert _deviation_row(engine, one).closed_at is None


def test_another_tenants_deviation_in_a_bulk_form_is_refused_and_nothing_is_done(
    operator: ConsoleClient, engine: Engine, settings: Settings
) -> None:
    inbox = make_inbox(engine, settings, validation=False)
    with session_scope(engine) as session:
        [theirs] = session.execute(
            select(col(Deviation.id)).where(col(Deviation.tenant_id) == "globex")
        ).scalars()
    before = _all_closures(engine)
    form = {"ids": [inbox.deviation(engine, "INV-000001"), theirs], "action": "resolve", "reason": "mine now"}
    for path in ("/console/deviations/bulk", "/console/deviations/bulk/confirm"):
        answer = operator.post(path, form)
        assert answer.status_code == 404 and f"deviation {theirs} not found" in answer.text
    assert operator.post(f"/console/deviations/{theirs}/resolve", {"reason": "x"}).status_code == 404
    assert _all_closures(engine) == before


def test_a_viewer_sees_no_actions_and_a_forged_post_is_403(
    viewer: ConsoleClient, engine: Engine, settings: Settings
) -> None:
    inbox = make_inbox(engine, settings, validation=False)
    page = viewer.get("/console/deviations").text
    assert len(_INVOICE_LINK.findall(page)) == 6
    assert 'name="ids"' not in page and "Resend" not in page and "Actions" not in page
    one = inbox.deviation(engine, "INV-000001")
    before = _all_closures(engine)
    for path, form in [
        ("/console/deviations/bulk", {"ids": [one], "action": "resend"}),
        ("/console/deviations/bulk/confirm", {"ids": [one], "action": "resolve", "reason": "x"}),
        (f"/console/deviations/{one}/resend", {}),
        (f"/console/deviations/{one}/resolve", {"reason": "x"}),
    ]:
        answer = viewer.post(path, form)
        assert answer.status_code == 403 and "may not do this" in answer.text
    assert _all_closures(engine) == before


def test_a_bulk_post_without_the_csrf_token_is_403(
    operator: ConsoleClient, engine: Engine, settings: Settings
) -> None:
    inbox = make_inbox(engine, settings, validation=False)
    before = _all_closures(engine)
    form = {"ids": [inbox.deviation(engine, "INV-000001")], "action": "resolve", "reason": "x"}
    assert operator.post("/console/deviations/bulk/confirm", form, csrf=False).status_code == 403
    forged = operator.post("/console/deviations/bulk/confirm", {**form, "csrf_token": "forged"})
    assert forged.status_code == 403
    assert _all_closures(engine) == before


def test_another_tenants_operator_sees_only_their_own(web: Any, engine: Engine, settings: Settings) -> None:
    make_inbox(engine, settings, validation=False)
    other = ConsoleClient(web, make_user(engine, "ops@globex.example", "operator", ("globex",)))
    assert listed(other) == ["INV-000009"]
