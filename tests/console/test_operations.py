"""The operational pages over HTTP: print batches, EDI partners, webhooks and the tenant's settings, on
data made by the real services and worker (`operations_data`), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.services.net_policy import AddressPolicy
from gateway.services.tenancy import webhooks
from gateway.services.tenancy.edi_partners import put_partner
from gateway.services.tenancy.history import tenant_events
from gateway.services.tenancy.tenants import (
    ensure_tenant,
    put_receiver,
    put_tenant_settings,
    tenant_settings,
)
from gateway.settings import Settings
from schemas.canonical import ReceiverProfile
from schemas.kid import KidAgreement
from schemas.tenant import TenantSettings
from tests.console import operations_data as data
from tests.console.helpers import ConsoleClient, make_user


def _text(html: str) -> str:
    """The page's words, tags dropped and spaces folded, for asserting what a person reads."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _row(html: str, marker: str) -> str:
    """The words of the table row that contains `marker`."""
    for row in re.findall(r"<tr>.*?</tr>", html, flags=re.S):
        if marker in row:
            return _text(row)
    raise AssertionError(f"no row with {marker!r}")


# --- print batches -----------------------------------------------------------------------------------------


def test_print_batches_list_and_batch_page(
    operator: ConsoleClient, engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    data.use_print_and_edi(settings, tmp_path)
    mine = data.print_batch(engine, settings, "acme", range(1, 4))
    theirs = data.print_batch(engine, settings, "other", range(1, 3), answer=False)
    data.waiting_print_documents(engine, settings, "acme", range(4, 6))

    listing = operator.get("/console/print-batches")
    assert listing.status_code == 200
    row = _row(listing.text, mine.batch_id)
    assert "accepted" in row
    assert " 3 " in row  # documents
    assert "2 files" in row and "2 posted" in row  # the receipt and the production report
    assert re.search(r"\d[\d\u202f]*\.\d{2} NOK", row), row  # the invoices' amount
    assert theirs.batch_id not in listing.text  # another tenant's batch is never listed
    waiting = _row(listing.text, "default")
    assert waiting.strip().endswith("2"), waiting

    detail = operator.get(f"/console/print-batches/{mine.batch_id}")
    assert detail.status_code == 200
    for number in mine.numbers:
        assert f'href="/console/invoices/{number}"' in detail.text
    words = _text(detail.text)
    assert "Receipt — accepted" in words
    assert "Production report" in words and "2 applied" in words
    assert "2 posted" in words
    # the production report named the first two documents of the batch (by sequence) as posted
    outcomes = sorted(_row(detail.text, f">{number}<").split()[-2:][-1] for number in mine.numbers)
    assert outcomes == ["posted", "posted", "report"], outcomes  # "no report" for the third

    assert operator.get(f"/console/print-batches/{theirs.batch_id}").status_code == 404
    assert operator.get("/console/print-batches?status=failed").status_code == 200
    assert "No batch is in this state." in operator.get("/console/print-batches?status=failed").text
    bad = operator.get("/console/print-batches?status=lost")
    assert bad.status_code == 400 and "status" in bad.text


def test_print_batches_empty_state(operator: ConsoleClient) -> None:
    page = operator.get("/console/print-batches")
    assert page.status_code == 200
    assert "No paper invoice is waiting for a cut-off." in page.text
    assert "No print batch has closed yet." in page.text


# --- EDI partners ------------------------------------------------------------------------------------------


def test_partners_list_and_partner_page_with_ack_states(
    operator: ConsoleClient, engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    data.use_print_and_edi(settings, tmp_path)
    edi = data.edi_interchanges(engine, settings, tmp_path)
    with session_scope(engine) as session:
        ensure_tenant(session, "other")
        put_partner(session, "other", data.edi_partner(tmp_path, "coop", name="Coop Norge"))

    listing = operator.get("/console/partners")
    assert listing.status_code == 200
    row = _row(listing.text, "ICA Sverige AB")
    assert "EDIFACT INVOIC D96A" in row and "within 24 h" in row
    assert "1 overdue" in row and "1 rejected" in row and "1 accepted" in row
    assert " 3 " in row  # interchanges sent
    assert "Coop Norge" not in listing.text and "coop" not in listing.text

    detail = operator.get(f"/console/partners/{edi.partner_id}")
    assert detail.status_code == 200
    accepted = _row(detail.text, f'<td class="mono">{edi.accepted}')
    assert "accepted" in accepted and "CONTRL: accepted" in accepted
    rejected = _row(detail.text, f'<td class="mono">{edi.rejected}')
    assert "CONTRL: rejected" in rejected
    assert "segment 5 element 2 component 1: code 12 (invalid value)" in rejected, rejected
    overdue = _row(detail.text, f'<td class="mono">{edi.overdue}')
    assert "overdue" in overdue and "No acknowledgement by" in overdue
    assert "INV-000011" in detail.text  # the invoice the interchange carried, linked

    assert operator.get("/console/partners/coop").status_code == 404  # another tenant's partner
    assert operator.get("/console/partners/nobody").status_code == 404


def test_partner_interchanges_page_by_keyset(
    operator: ConsoleClient, engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    from gateway.console.pages import partners

    data.use_print_and_edi(settings, tmp_path)
    edi = data.edi_interchanges(engine, settings, tmp_path)
    original = partners.PAGE_SIZE
    partners.PAGE_SIZE = 2
    try:
        first = operator.get(f"/console/partners/{edi.partner_id}")
        after = re.search(r'href="\?after=([^"]+)">Next page', first.text)
        assert after is not None
        second = operator.get(f"/console/partners/{edi.partner_id}?after={after.group(1)}")
    finally:
        partners.PAGE_SIZE = original
    refs = {edi.accepted, edi.rejected, edi.overdue}
    shown_first = {r for r in refs if f'<td class="mono">{r}<' in first.text}
    shown_second = {r for r in refs if f'<td class="mono">{r}<' in second.text}
    assert len(shown_first) == 2 and shown_first | shown_second == refs
    assert not shown_first & shown_second
    assert "Next page" not in second.text and "First page" in second.text


def test_partners_empty_state(operator: ConsoleClient) -> None:
    page = operator.get("/console/partners")
    assert page.status_code == 200 and "No EDI trading partner yet." in page.text


# --- webhooks ----------------------------------------------------------------------------------------------


def test_webhooks_show_backlog_and_last_error_without_secrets(
    operator: ConsoleClient, viewer: ConsoleClient, engine: Engine, settings: Settings
) -> None:
    hooks = data.webhook_endpoints(engine, settings)
    with session_scope(engine) as session:
        theirs, _, _ = webhooks.put_endpoint(
            session, "other", url="https://other.example/hooks", secret="s", actor="test",
            addresses=AddressPolicy(allow_private=True),
        )  # fmt: skip
        their_id = theirs.id

    listing = operator.get("/console/webhooks")
    assert listing.status_code == 200
    assert "very-secret-token" not in listing.text and "whsec_" not in listing.text
    assert "other.example" not in listing.text
    healthy = _row(listing.text, "https://erp.nordlys.example/gateway/events")
    assert "never" not in healthy and "none" in healthy  # a last success, no error
    assert re.search(r"active\s+0\s", healthy), healthy  # nothing waiting
    failing = _row(listing.text, "https://hooks.nordlys.example:8443/in …")
    assert f" {hooks.events_each} " in failing  # backlog: every event still waiting
    assert "HTTP 503: maintenance until 06:00" in failing
    assert "never" in failing  # no success yet

    page = operator.get(f"/console/webhooks/{hooks.failing_id}")
    assert page.status_code == 200
    assert "very-secret-token" not in page.text
    assert page.text.count("HTTP 503: maintenance until 06:00") >= hooks.events_each
    assert operator.get(f"/console/webhooks/{their_id}").status_code == 404

    # a viewer sees no switch and may not use one
    assert "Deactivate" not in viewer.get(f"/console/webhooks/{hooks.failing_id}").text
    assert viewer.post(f"/console/webhooks/{hooks.failing_id}/deactivate").status_code == 403
    # an operator switches the endpoint off and on; another tenant's is a 404
    assert "Deactivate" in page.text
    answer = operator.post(f"/console/webhooks/{hooks.failing_id}/deactivate")
    assert answer.status_code == 303
    after = operator.get(answer.headers["location"])
    assert "gets no new events" in after.text and "inactive" in after.text
    with session_scope(engine) as session:
        assert webhooks.get_endpoint(session, "acme", hooks.failing_id).active is False  # type: ignore[union-attr]
    assert operator.post(f"/console/webhooks/{hooks.failing_id}/activate").status_code == 303
    assert operator.post(f"/console/webhooks/{their_id}/deactivate").status_code == 404
    with session_scope(engine) as session:
        assert webhooks.get_endpoint(session, "acme", hooks.failing_id).active is True  # type: ignore[union-attr]
        assert webhooks.get_endpoint(session, "other", their_id).active is True  # type: ignore[union-attr]


def test_webhooks_empty_state(operator: ConsoleClient) -> None:
    page = operator.get("/console/webhooks")
    assert page.status_code == 200 and "No webhook endpoint yet." in page.text


# --- settings ----------------------------------------------------------------------------------------------


def _settings_form(**changes: str) -> dict[str, object]:
    form: dict[str, object] = {
        "hold_for_review": "on",
        "hold_channels": "print, email",
        "window_enabled": "on",
        "window_start": "08:00",
        "window_end": "15:30",
        "window_timezone": "Europe/Oslo",
        "window_weekdays": ["0", "2", "4"],
        "window_channels": "",
        "print_profile": "nordlys",
        "matching_auto_threshold": "0.95",
        "matching_margin": "0.2",
        "matching_write_off_limit": "25.50",
        "matching_write_off_percent": "1",
        "matching_approval_above": "",
        "matching_deductions_need_approval": "on",
        "matching_subset_max_items": "20",
        "matching_due_date_window_days": "60",
        "matching_suggestions": "3",
    }
    form.update(changes)
    return form


def test_settings_read_only_for_an_operator_and_a_forged_post_is_refused(
    operator: ConsoleClient, engine: Engine
) -> None:
    with session_scope(engine) as session:
        put_receiver(session, "acme", ReceiverProfile(receiver_id="b1", preferred_channel="email"))
        put_receiver(session, "acme", ReceiverProfile(receiver_id="b2", preferred_channel="print"))
    make_user(engine, "boss@acme.example", "admin", tenants=("acme", "other"))
    make_user(engine, "elsewhere@other.example", "viewer", tenants=("other",))
    page = operator.get("/console/settings")
    assert page.status_code == 200
    words = _text(page.text)
    assert "Hold for review no" in words
    assert "Sending window none" in words
    assert "2 receiver profiles" in words
    assert "ops@acme.example operator active" in words and "boss@acme.example admin active" in words
    assert "elsewhere@other.example" not in words
    assert "argon2" not in page.text and "password" not in page.text.lower()
    assert "Only an administrator can change them." in words
    assert 'action="/console/settings"' not in page.text

    forged = operator.post("/console/settings", _settings_form())
    assert forged.status_code == 403
    with session_scope(engine) as session:
        assert tenant_settings(session, "acme") == TenantSettings()


def test_settings_saved_by_an_admin(web: TestClient, engine: Engine) -> None:
    with session_scope(engine) as session:
        put_tenant_settings(
            session, "acme", TenantSettings(kid=KidAgreement(length=12, generate=True)), actor="test"
        )
    admin = ConsoleClient(web, make_user(engine, "boss@acme.example", "admin"))
    form_page = admin.get("/console/settings")
    assert 'action="/console/settings"' in form_page.text
    answer = admin.post("/console/settings", {**_settings_form(), "reason": "the print house closes at 16"})
    assert answer.status_code == 303
    with session_scope(engine) as session:
        saved = tenant_settings(session, "acme")
        latest = tenant_events(session, "acme")[0]
    assert (latest.actor, latest.action, latest.reason) == (
        "console:boss@acme.example",
        "settings changed",
        "the print house closes at 16",
    )
    assert latest.changes is not None and latest.changes["hold_for_review"] == [False, True]
    assert saved.hold_for_review and saved.hold_channels == ["print", "email"]
    assert saved.send_window is not None and saved.send_window.weekdays == [0, 2, 4]
    assert (saved.send_window.start.isoformat(), saved.send_window.end.isoformat()) == (
        "08:00:00",
        "15:30:00",
    )
    assert saved.window_channels is None and saved.print_profile == "nordlys"
    assert str(saved.matching.write_off_limit) == "25.50" and saved.matching.auto_threshold == 0.95
    assert saved.matching.book_advices is False and saved.matching.approval_above is None
    assert saved.kid is not None and saved.kid.length == 12  # kept as stored
    shown = _text(admin.get(answer.headers["location"]).text)
    assert "Settings of acme saved." in shown
    assert "08:00–15:30 Europe/Oslo, Monday, Wednesday, Friday" in shown
    assert "console:boss@acme.example" in shown and "the print house closes at 16" in shown  # the history


def test_settings_invalid_values_name_the_field_and_save_nothing(web: TestClient, engine: Engine) -> None:
    admin = ConsoleClient(web, make_user(engine, "boss@acme.example", "admin"))
    answer = admin.post(
        "/console/settings",
        _settings_form(window_end="07:00", matching_margin="2", window_timezone="Mars/Base"),
    )
    assert answer.status_code == 422
    html = answer.text
    margin = re.search(r'id="matching_margin-error">([^<]+)<', html)
    assert margin is not None and "less than or equal to 1" in margin.group(1)
    zone = re.search(r'id="window_timezone-error">([^<]+)<', html)
    assert zone is not None and "Unknown time zone &#39;Mars/Base&#39;" in zone.group(1)
    assert '<a href="#matching_margin">Margin</a>' in html  # the fields the page names, by their labels
    assert 'value="2"' in html  # what was typed stays in the form
    with session_scope(engine) as session:
        assert tenant_settings(session, "acme") == TenantSettings()

    window = admin.post("/console/settings", _settings_form(window_end="07:00"))
    assert window.status_code == 422
    assert "The window must end after it starts" in window.text
    not_a_number = admin.post("/console/settings", _settings_form(matching_suggestions="three"))
    assert not_a_number.status_code == 422 and 'id="matching_suggestions-error"' in not_a_number.text
    with session_scope(engine) as session:
        assert tenant_settings(session, "acme") == TenantSettings()
