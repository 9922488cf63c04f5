"""E-mail delivery status notifications (RFC 3464): the real Postfix 3.7 samples, read and applied.

The samples come from a test rig that tagged mail with invoice numbers (ENVID `INV-1002`, envelope sender
`bounces+INV-1002@hub.test`), not with our delivery ids. The tests create invoices INV-1001… with an
`email` delivery taken to `sent` through the queue, feed the samples as they are (linked by invoice number,
the last resort), and feed copies re-tagged the way the e-mail channel tags mail
(`ENVID=<delivery>-<attempt>`, `bounces+<delivery>@…`, `Message-ID: <<delivery>-<attempt>@…>`) to check
every link key. The samples have CRLF line endings; the edits keep them.
"""

from __future__ import annotations

import json
import mailbox
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from db.engine import session_scope
from db.models import Delivery, InboundDocument
from gateway.cli import app as cli_app
from gateway.samples import sample_invoice_json
from gateway.services.inbound.bounces import BounceResult, receive_bounce
from gateway.services.outbound import deliveries as delivery_service
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.settings import Settings
from mappings import detect_format, inspect_file
from mappings.base import FormatError
from mappings.status import dsn as dsn_reports
from mappings.status.dsn import MAX_DSN_BYTES, DsnError, DsnTooLarge, sniff, verp_tag
from outbox.queue import enqueue_delivery
from outbox.states import DeliveryStatus
from tests.conftest import SHARED
from tests.outbox_helpers import delivery_events, delivery_row, take_to_sent

S = DeliveryStatus
SAMPLES = SHARED / "samples" / "email"
DSN_SAMPLES = sorted(SAMPLES.glob("postfix37_dsn_*.eml"))
DELIVERED_EMAIL = SAMPLES / "delivered_invoice_pdf_ubl_INV-1001.eml"
_NAME = re.compile(r"postfix37_dsn_\d+_(?P<number>INV-\d+)_(?P<action>[a-z]+)_(?P<status>\d\.\d\.\d)\.eml")


def _sample(number: str, action: str) -> bytes:
    [path] = [p for p in DSN_SAMPLES if f"_{number}_{action}_" in p.name]
    return path.read_bytes()


# --- reading the samples ---------------------------------------------------------------------------------


def test_the_samples_are_all_there() -> None:
    assert len(DSN_SAMPLES) == 5 and DELIVERED_EMAIL.is_file()


@pytest.mark.parametrize("path", DSN_SAMPLES, ids=lambda p: p.name)
def test_every_sample_is_classified_by_its_action(path: Path) -> None:
    expected = _NAME.match(path.name)
    assert expected is not None
    data = path.read_bytes()
    assert sniff(data) is True
    assert detect_format(data) == "dsn"
    dsn = dsn_reports.parse(data)
    assert dsn.classification == expected["action"]
    assert expected["status"] in [r.status for r in dsn.recipients if r.action == expected["action"]]
    assert dsn.report_type == "delivery-status"
    assert dsn.reporting_mta == "mta.hub.test"
    assert dsn.arrival_date is not None and dsn.arrival_date.year == 2026
    # The link keys the rig's DSNs carry: ENVID, the VERP address, the returned headers.
    number = expected["number"]
    assert dsn.original_envelope_id == number
    assert dsn.envelope_recipients == [f"bounces+{number}@hub.test"]
    assert dsn.original_sender == f"bounces+{number}@hub.test"
    assert [verp_tag(a) for a in dsn.verp_addresses()] == [number]
    assert dsn.returned is not None
    assert dsn.returned.return_path == f"bounces+{number}@hub.test"
    assert dsn.returned.subject is not None and number in dsn.returned.subject
    assert dsn.returned.message_id is not None
    assert dsn.returned.invoice_number is None and dsn.returned.delivery_id is None
    inspected = inspect_file(data)
    assert inspected["format"] == "dsn" and inspected["classification"] == expected["action"]
    json.dumps(inspected)  # JSON-ready for `gateway inspect --json`


def test_sample_details() -> None:
    failed = dsn_reports.parse(_sample("INV-1002", "failed"))
    assert [(r.final_recipient, r.action, r.status) for r in failed.recipients] == [
        ("full@ok.test", "failed", "5.2.2"),
        ("ukjent@ok.test", "failed", "5.1.1"),
    ]
    assert failed.recipients[0].diagnostic_type == "smtp"
    assert failed.recipients[0].diagnostic_code == "552 5.2.2 <full@ok.test>: Mailbox full"
    assert failed.recipients[1].diagnostic_code == (
        "550 5.1.1 <ukjent@ok.test>: Recipient address rejected: User unknown in virtual mailbox table"
    )
    assert failed.recipients[0].remote_mta == "127.0.0.1"
    assert failed.returned is not None and failed.returned.part == "text/rfc822-headers"
    assert failed.returned.message_id == "<179552274617.24089.12974312236107713092.INV-1002@hub.test>"
    assert failed.returned.to == ["kunde2@ok.test", "ukjent@ok.test", "full@ok.test", "treg@ok.test"]

    hard = dsn_reports.parse(_sample("INV-1003", "failed"))
    assert hard.returned is not None and hard.returned.part == "message/rfc822"
    assert hard.recipients[0].diagnostic_type == "x-postfix" and hard.recipients[0].remote_mta is None
    assert hard.returned.message_id == "<20261124121906.3C272178091@mta.hub.test>"

    delayed = dsn_reports.parse(_sample("INV-1004", "delayed"))
    [recipient] = delayed.recipients
    assert recipient.will_retry_until is not None
    assert recipient.will_retry_until.isoformat() == "2026-11-24T12:22:45+00:00"
    assert recipient.status == "4.3.0" and recipient.final_recipient == "treg2@ok.test"

    relayed = dsn_reports.parse(_sample("INV-1001", "relayed"))
    assert relayed.recipients[0].action == "relayed" and relayed.recipients[0].status == "2.0.0"


def test_verp_tags() -> None:
    assert verp_tag("bounces+abc123@hub.test") == "abc123"
    assert verp_tag("<Bounces+abc-2@hub.test>") == "abc-2"
    assert verp_tag("returns+abc@hub.test") is None
    assert verp_tag("returns+abc@hub.test", prefix=None) == "abc"
    assert verp_tag("bounces@hub.test") is None and verp_tag("bounces+@hub.test") is None
    assert verp_tag("not an address") is None


def test_the_delivered_invoice_email_is_not_a_dsn() -> None:
    data = DELIVERED_EMAIL.read_bytes()
    assert sniff(data) is False
    assert detect_format(data) is None
    with pytest.raises(DsnError) as caught:
        dsn_reports.parse(data)
    assert caught.value.where == "Content-Type"
    assert "multipart/mixed, not multipart/report" in caught.value.reason


def test_classification_is_by_action_not_status() -> None:
    # An expiry: the MTA gave up, with a 4.x.x status. That is a failure.
    expired = _sample("INV-1004", "delayed").replace(b"Action: delayed", b"Action: failed")
    expired = expired.replace(b"Status: 4.3.0", b"Status: 4.4.7")
    dsn = dsn_reports.parse(expired)
    assert dsn.classification == "failed" and dsn.recipients[0].status == "4.4.7"
    # "relayed" with a 2.0.0 status is not "delivered".
    assert dsn_reports.parse(_sample("INV-1001", "relayed")).classification == "relayed"
    # Mixed: one failed recipient makes the report a failure; delayed outranks delivered.
    mixed = _sample("INV-1002", "failed").replace(b"Action: failed", b"Action: delivered", 1)
    assert [r.action for r in dsn_reports.parse(mixed).recipients] == ["delivered", "failed"]
    assert dsn_reports.parse(mixed).classification == "failed"
    # An action's comment and letter case do not matter (RFC 3464 is case-insensitive).
    commented = _sample("INV-1001", "relayed").replace(b"Action: relayed", b"Action: Delivered (to mailbox)")
    assert dsn_reports.parse(commented).classification == "delivered"


_MDN = (
    b"From: a@b.test\r\nTo: c@d.test\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type=disposition-notification; boundary="x"\r\n\r\n'
    b"--x\r\nContent-Type: text/plain\r\n\r\nread\r\n--x--\r\n"
)


@pytest.mark.parametrize(
    ("data", "where", "kind"),
    [
        (b"", "message", FormatError),
        (b"   \n", "message", FormatError),
        (b"hello, this is not mail", "message", FormatError),
        (b"\x00\xff\xfe\x00 binary junk", "message", FormatError),
        (b'<?xml version="1.0"?><Invoice/>', "message", FormatError),
        (b"Subject: hi\r\n\r\nplain text", "Content-Type", DsnError),
        (_MDN, "Content-Type", DsnError),
        (
            _MDN.replace(b"disposition-notification", b"delivery-status"),
            "message/delivery-status",
            DsnError,
        ),
        (
            _sample("INV-1001", "relayed").replace(b"Action: relayed", b"Action: bounced"),
            "delivery-status/recipient[1]/Action",
            DsnError,
        ),
        (
            _sample("INV-1001", "relayed").replace(b"Action: relayed\r\n", b""),
            "delivery-status/recipient[1]/Action",
            DsnError,
        ),
        (
            _sample("INV-1001", "relayed").replace(b"Status: 2.0.0", b"Status: 250"),
            "delivery-status/recipient[1]/Status",
            DsnError,
        ),
    ],
)
def test_junk_is_rejected_clearly(data: bytes, where: str, kind: type[Exception]) -> None:
    assert sniff(data) is (b"delivery-status" in data)
    with pytest.raises(kind) as caught:
        dsn_reports.parse(data)
    assert isinstance(caught.value, FormatError)
    assert caught.value.where == where and caught.value.reason


def test_size_is_bounded() -> None:
    big = _sample("INV-1001", "relayed") + b"x" * MAX_DSN_BYTES
    with pytest.raises(DsnTooLarge):
        dsn_reports.parse(big)


# --- on a real outbox ------------------------------------------------------------------------------------


def _email_delivery(
    engine: Engine,
    number: str,
    *,
    tenant: str = "acme",
    n: int = 1,
    message_id: str | None = None,
    address: str = "kunde@ok.test",
) -> str:
    """Invoice `number` with an `email` delivery taken to `sent` by a worker; the e-mail delivery's id.

    The channel message id is `<<delivery id>-<attempt>@hub.test>`, as the e-mail channel sets it, unless
    `message_id` says otherwise.
    """
    with session_scope(engine) as session:
        ensure_tenant(session, tenant)
    data = sample_invoice_json(n)
    data["number"] = number
    [result] = accept_invoices(engine, tenant, [IntakeItem(data)], actor="test", default_channel="folder")
    assert result.outcome == "created", result.errors
    assert result.invoice_id is not None
    with session_scope(engine) as session:
        delivery = enqueue_delivery(
            session,
            invoice_id=result.invoice_id,
            tenant_id=tenant,
            channel="email",
            address=address,
            actor="test",
            reason="e-mail",
        )
        delivery_id = delivery.id
    _send(engine, delivery_id, message_id=message_id)
    return delivery_id


def _send(engine: Engine, delivery_id: str, *, message_id: str | None = None) -> None:
    """Claim the (queued) e-mail delivery and take it to `sent` the way a worker does."""
    take_to_sent(
        engine,
        delivery_id,
        lambda attempt: message_id or f"<{delivery_id}-{attempt}@hub.test>",
        channels=["email"],
    )


def _resend(engine: Engine, delivery_id: str) -> None:
    with session_scope(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        delivery_service.resend(session, delivery, actor="test", reason="customer lost it")
    _send(engine, delivery_id)


_delivery = delivery_row
_events = delivery_events


def _inbound(engine: Engine) -> list[InboundDocument]:
    with session_scope(engine) as session:
        return list(session.execute(select(InboundDocument)).scalars())


def _receive(engine: Engine, data: bytes, tenant: str | None = "acme") -> BounceResult:
    return receive_bounce(engine, data, actor="test", tenant_id=tenant)


def _retag(
    data: bytes,
    number: str,
    delivery_id: str,
    *,
    attempt: int = 1,
    envid: bool = True,
    verp: bool = True,
    message_id: bool = True,
) -> bytes:
    """A sample tagged the way the e-mail channel tags mail; each key can be left out (removed)."""
    if envid:
        data = data.replace(
            f"Original-Envelope-Id: {number}".encode(),
            f"Original-Envelope-Id: {delivery_id}-{attempt}".encode(),
        )
    else:
        data = re.sub(rb"Original-Envelope-Id: [^\r\n]*\r?\n", b"", data)
    new_verp = f"bounces+{delivery_id}@hub.test" if verp else "postmaster@hub.test"
    data = data.replace(f"bounces+{number}@hub.test".encode(), new_verp.encode())
    # The returned message's Message-ID (not the DSN's own, which comes first).
    start = re.search(rb"Content-Type: (text/rfc822-headers|message/rfc822)", data)
    assert start is not None
    head, returned = data[: start.start()], data[start.start() :]
    new_id = f"Message-ID: <{delivery_id}-{attempt}@hub.test>\r\n".encode() if message_id else b""
    returned = re.sub(rb"(?mi)^Message-ID: <[^>]*>\r?\n", new_id, returned)
    data = head + returned
    # Nothing else may still name the invoice: the link must come from the key under test.
    return data.replace(number.encode(), b"INV-X")


#: The address each sample's invoice was mailed to (a failed report names it among its recipients).
SAMPLE_ADDRESSES = {
    "INV-1001": "kunde@ok.test",
    "INV-1002": "full@ok.test",
    "INV-1003": "ukjent@bounce.test",
    "INV-1004": "treg2@ok.test",
}


def test_the_samples_as_they_are_link_by_invoice_number(engine: Engine) -> None:
    ids = {
        number: _email_delivery(engine, number, n=i, address=SAMPLE_ADDRESSES[number])
        for i, number in enumerate(["INV-1001", "INV-1002", "INV-1003", "INV-1004"], start=1)
    }
    results = {path.name: _receive(engine, path.read_bytes()) for path in DSN_SAMPLES}
    for name, result in results.items():
        expected = _NAME.match(name)
        assert expected is not None
        assert result.linked_by == "invoice-number", result.note
        assert result.delivery_id == ids[expected["number"]]
        assert result.classification == expected["action"] and result.applied is True

    # relayed 2.0.0: handed on, not delivered; the delivery stays sent, with an event saying so.
    inv1001 = _delivery(engine, ids["INV-1001"])
    assert inv1001.status == S.SENT
    last = _events(engine, ids["INV-1001"])[-1]
    assert last.from_status == last.to_status == "sent"
    assert (
        last.reason is not None and "relayed" in last.reason and "not a delivery confirmation" in last.reason
    )
    assert last.details is not None and last.details["classification"] == "relayed"

    # failed 5.2.2 and 5.1.1 → deviation with both diagnostics; the later relayed DSN is only an event.
    inv1002 = _delivery(engine, ids["INV-1002"])
    assert inv1002.status == S.DEVIATION
    assert inv1002.last_error is not None
    assert "full@ok.test 5.2.2 (552 5.2.2 <full@ok.test>: Mailbox full)" in inv1002.last_error
    assert "ukjent@ok.test 5.1.1" in inv1002.last_error and "User unknown" in inv1002.last_error
    events = _events(engine, ids["INV-1002"])
    deviation = next(e for e in events if e.to_status == "deviation" and e.from_status == "sent")
    assert deviation.details is not None
    assert [r["status"] for r in deviation.details["recipients"]] == ["5.2.2", "5.1.1"]
    assert deviation.details["linked_by"] == "invoice-number"
    assert events[-1].from_status == events[-1].to_status == "deviation"
    assert events[-1].reason is not None and "relayed" in events[-1].reason

    # failed 5.1.1 (hard bounce from Postfix itself)
    inv1003 = _delivery(engine, ids["INV-1003"])
    assert inv1003.status == S.DEVIATION
    assert inv1003.last_error is not None and "5.1.1" in inv1003.last_error
    assert "user unknown (simulated hard bounce)" in inv1003.last_error

    # delayed 4.3.0 → an event only, with the retry deadline.
    inv1004 = _delivery(engine, ids["INV-1004"])
    assert inv1004.status == S.SENT
    last = _events(engine, ids["INV-1004"])[-1]
    assert last.from_status == last.to_status == "sent"
    assert last.details is not None and last.details["will_retry_until"] == "2026-11-24T12:22:45+00:00"
    assert last.reason is not None and "4.3.0" in last.reason and "delayed" in last.reason

    stored = _inbound(engine)
    assert len(stored) == 5 and {row.kind for row in stored} == {"dsn"}
    assert all(row.applied and row.tenant_id == "acme" for row in stored)


@pytest.mark.parametrize(
    ("keys", "linked_by"),
    [
        ({}, "envid"),
        ({"envid": False}, "verp"),
        ({"envid": False, "verp": False}, "message-id"),
    ],
)
def test_each_link_key(engine: Engine, keys: dict[str, bool], linked_by: str) -> None:
    delivery_id = _email_delivery(engine, "INV-1003")
    data = _retag(_sample("INV-1003", "failed"), "INV-1003", delivery_id, **keys)
    result = _receive(engine, data)
    assert result.linked_by == linked_by and result.delivery_id == delivery_id
    assert result.applied is True and result.delivery_status == "deviation"
    assert result.attempt == 1  # from the ENVID or the Message-ID


def test_links_by_channel_message_id_and_x_delivery_id(engine: Engine) -> None:
    # A delivery whose channel message id is the sample's Message-ID (another sender's id format).
    sample_id = "<179552284562.24845.15859385912638181556.INV-1004@hub.test>"
    delivery_id = _email_delivery(engine, "INV-1004", message_id=sample_id)
    data = _sample("INV-1004", "delayed")
    data = re.sub(rb"Original-Envelope-Id: [^\r\n]*\r?\n", b"", data).replace(
        b"bounces+INV-1004@", b"bounces@"
    )
    result = _receive(engine, data)
    assert result.linked_by == "message-id" and result.delivery_id == delivery_id and result.attempt == 1

    other = _email_delivery(engine, "INV-1002", n=2)
    data = _retag(_sample("INV-1002", "failed"), "INV-1002", "x", envid=False, verp=False, message_id=False)
    data = data.replace(b"Subject: Faktura", f"X-Delivery-Id: {other}\r\nSubject: Faktura".encode())
    result = _receive(engine, data)
    assert result.linked_by == "x-delivery-id" and result.delivery_id == other
    assert _delivery(engine, other).status == S.DEVIATION


def test_links_by_x_invoice_number_to_the_latest_email_delivery(engine: Engine) -> None:
    delivery_id = _email_delivery(engine, "INV-1003")
    data = _retag(_sample("INV-1003", "failed"), "INV-1003", "x", envid=False, verp=False, message_id=False)
    data = data.replace(b"Subject: Faktura", b"X-Invoice-Number: INV-1003\r\nSubject: Faktura")
    result = _receive(engine, data)
    assert result.linked_by == "invoice-number" and result.delivery_id == delivery_id
    # Another tenant's invoice with the same number is not touched.
    assert _receive(engine, data.replace(b"Test", b"Test again"), tenant="globex").delivery_id is None


def test_a_failure_for_another_address_linked_by_number_is_recorded_not_applied(
    engine: Engine, client: TestClient, auth: dict[str, str], cli_env: Settings, tmp_path: Path
) -> None:
    # The rig's INV-1002 report names full@ok.test and ukjent@ok.test; this invoice went to kunde@ok.test.
    delivery_id = _email_delivery(engine, "INV-1002")
    before = len(_events(engine, delivery_id))
    response = client.post(
        "/bounces", content=_sample("INV-1002", "failed"), headers={**auth, "Content-Type": "message/rfc822"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["linked_by"], body["delivery_id"]) == ("invoice-number", delivery_id)
    assert (body["applied"], body["delivery_status"]) == (False, "sent")
    assert body["note"] == (
        "linked only by invoice number 'INV-1002', and it reports failed for full@ok.test, "
        "ukjent@ok.test, not the delivery's address kunde@ok.test: recorded, not applied"
    )
    assert _delivery(engine, delivery_id).status == S.SENT
    assert len(_events(engine, delivery_id)) == before
    [row] = _inbound(engine)
    assert (row.applied, row.note, row.delivery_id) == (False, body["note"], delivery_id)

    # The same through the CLI: INV-1003's report names ukjent@bounce.test, not kunde@ok.test.
    other = _email_delivery(engine, "INV-1003", n=2)
    eml = tmp_path / "dsn.eml"
    eml.write_bytes(_sample("INV-1003", "failed"))
    result = CliRunner().invoke(cli_app, ["bounces", str(eml), "--tenant", "acme"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "dsn.eml" in line)
    assert "invoice-number" in line and "recorded, not applied" in result.output
    assert _delivery(engine, other).status == S.SENT


def test_a_constructed_delivered_dsn_delivers(engine: Engine) -> None:
    delivery_id = _email_delivery(engine, "INV-1001")
    data = _retag(_sample("INV-1001", "relayed"), "INV-1001", delivery_id).replace(
        b"Action: relayed", b"Action: delivered"
    )
    result = _receive(engine, data)
    assert result.classification == "delivered" and result.applied is True
    assert _delivery(engine, delivery_id).status == S.DELIVERED
    last = _events(engine, delivery_id)[-1]
    assert last.from_status == "sent" and last.to_status == "delivered"
    # A later failure report still turns a delivered invoice into a deviation.
    failed = (
        _retag(_sample("INV-1001", "relayed"), "INV-1001", delivery_id)
        .replace(b"Action: relayed", b"Action: failed")
        .replace(b"Status: 2.0.0", b"Status: 5.7.1")
    )
    assert _receive(engine, failed).delivery_status == "deviation"


def test_expanded_and_expiry(engine: Engine) -> None:
    delivery_id = _email_delivery(engine, "INV-1001")
    expanded = _retag(_sample("INV-1001", "relayed"), "INV-1001", delivery_id).replace(
        b"Action: relayed", b"Action: expanded"
    )
    result = _receive(engine, expanded)
    assert result.classification == "expanded" and result.delivery_status == "sent" and result.applied

    other = _email_delivery(engine, "INV-1004", n=2)
    expired = _retag(_sample("INV-1004", "delayed"), "INV-1004", other)
    expired = expired.replace(b"Action: delayed", b"Action: failed").replace(
        b"Status: 4.3.0", b"Status: 4.4.7"
    )
    assert _receive(engine, expired).delivery_status == "deviation"
    assert "4.4.7" in (_delivery(engine, other).last_error or "")


def test_a_repeat_is_not_applied_twice(engine: Engine) -> None:
    delivery_id = _email_delivery(engine, "INV-1002")
    data = _retag(_sample("INV-1002", "failed"), "INV-1002", delivery_id)
    first = _receive(engine, data)
    again = _receive(engine, data)
    assert first.applied is True and first.duplicate is False
    assert again.duplicate is True and again.applied is False and again.inbound_id == first.inbound_id
    assert again.note is not None and "received before" in again.note
    assert again.delivery_id == delivery_id and again.classification == "failed"
    assert len([e for e in _events(engine, delivery_id) if e.to_status == "deviation"]) == 1
    assert len(_inbound(engine)) == 1
    # The same bytes for another tenant: nothing of acme's is shown.
    foreign = _receive(engine, data, tenant="globex")
    assert foreign.duplicate is True and foreign.delivery_id is None and foreign.applied is False


def test_an_older_attempts_dsn_is_recorded_not_applied(engine: Engine) -> None:
    delivery_id = _email_delivery(engine, "INV-1003", message_id="<old-format-id@hub.test>")
    _resend(engine, delivery_id)
    delivery = _delivery(engine, delivery_id)
    assert delivery.attempt == 2 and delivery.status == S.SENT
    assert delivery.channel_message_id == f"<{delivery_id}-2@hub.test>"
    before = len(_events(engine, delivery_id))

    by_envid = _receive(engine, _retag(_sample("INV-1003", "failed"), "INV-1003", delivery_id, attempt=1))
    assert by_envid.delivery_id == delivery_id and by_envid.attempt == 1
    assert by_envid.applied is False
    assert by_envid.note is not None and "attempt 1" in by_envid.note and "attempt 2" in by_envid.note

    # Only the old Message-ID (found in attempt 1's events), in a sender's own id format.
    data = _retag(_sample("INV-1002", "failed"), "INV-1002", "x", envid=False, verp=False, message_id=False)
    data = data.replace(b"Subject: Faktura", b"Message-ID: <old-format-id@hub.test>\r\nSubject: Faktura")
    by_event = _receive(engine, data)
    assert by_event.linked_by == "message-id" and by_event.attempt == 1 and by_event.applied is False

    assert _delivery(engine, delivery_id).status == S.SENT
    assert len(_events(engine, delivery_id)) == before
    # The current attempt's DSN applies.
    current = _receive(engine, _retag(_sample("INV-1003", "failed"), "INV-1003", delivery_id, attempt=2))
    assert current.applied is True and current.delivery_status == "deviation"


def test_unlinked_dsn_is_stored_with_a_note(engine: Engine) -> None:
    result = _receive(engine, _sample("INV-1002", "failed"))
    assert result.delivery_id is None and result.applied is False
    assert result.note is not None and "no delivery of tenant acme found" in result.note
    assert "ENVID 'INV-1002'" in result.note and "VERP 'INV-1002'" in result.note
    [row] = _inbound(engine)
    assert row.kind == "dsn" and row.note == result.note and row.response_code == "failed"
    assert row.document_id == "INV-1002" and row.tenant_id == "acme"
    assert [r["status"] for r in row.reasons] == ["5.2.2", "5.1.1"]
    assert "Mailbox full" in row.payload


def test_an_invoice_without_email_delivery_is_not_linked(engine: Engine) -> None:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
    data = sample_invoice_json(1)
    data["number"] = "INV-1002"
    accept_invoices(engine, "acme", [IntakeItem(data)], actor="test", default_channel="folder")
    result = _receive(engine, _sample("INV-1002", "failed"))
    assert result.delivery_id is None and "has no e-mail delivery" in (result.note or "")


def test_another_tenants_delivery_is_not_touched(engine: Engine) -> None:
    delivery_id = _email_delivery(engine, "INV-1003")
    data = _retag(_sample("INV-1003", "failed"), "INV-1003", delivery_id)
    result = _receive(engine, data, tenant="globex")
    assert result.delivery_id is None and result.applied is False
    assert _delivery(engine, delivery_id).status == S.SENT


def test_a_delivery_not_sent_is_not_moved(engine: Engine) -> None:
    delivery_id = _email_delivery(engine, "INV-1003")
    _receive(engine, _retag(_sample("INV-1003", "failed"), "INV-1003", delivery_id))
    delivered = _retag(_sample("INV-1001", "relayed"), "INV-1001", delivery_id).replace(
        b"Action: relayed", b"Action: delivered"
    )
    result = _receive(engine, delivered)
    assert result.applied is True and result.delivery_status == "deviation"
    assert result.note == "delivery is deviation; not moved to delivered, recorded as an event"


# --- API -------------------------------------------------------------------------------------------------


def test_api_post_bounces(client: TestClient, auth: dict[str, str], engine: Engine) -> None:
    delivery_id = _email_delivery(engine, "INV-1002")
    data = _retag(_sample("INV-1002", "failed"), "INV-1002", delivery_id)
    headers = {**auth, "Content-Type": "message/rfc822"}
    response = client.post("/bounces", content=data, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "dsn" and body["classification"] == "failed" and body["linked_by"] == "envid"
    assert body["delivery_id"] == delivery_id and body["delivery_status"] == "deviation"
    assert body["applied"] is True and body["duplicate"] is False
    assert [r["status"] for r in body["recipients"]] == ["5.2.2", "5.1.1"]
    repeat = client.post(
        "/bounces", content=data, headers={**auth, "Content-Type": "application/octet-stream"}
    )
    assert repeat.status_code == 200 and repeat.json()["duplicate"] is True
    assert repeat.json()["applied"] is False and repeat.json()["id"] == body["id"]
    view = client.get(f"/invoices/{_delivery(engine, delivery_id).invoice_id}", headers=auth).json()
    email = next(d for d in view["deliveries"] if d["id"] == delivery_id)
    assert email["events"][-1]["to"] == "deviation" and "5.1.1" in email["events"][-1]["reason"]

    not_dsn = client.post("/bounces", content=DELIVERED_EMAIL.read_bytes(), headers=headers)
    assert not_dsn.status_code == 422
    assert not_dsn.json()["errors"][0]["field"] == "Content-Type"
    junk = client.post("/bounces", content=b"\x00\x01 junk", headers=headers)
    assert junk.status_code == 400
    assert junk.json()["errors"] == [
        {"field": "message", "reason": "not an e-mail message (no header fields before the body)"}
    ]
    assert client.post("/bounces", content=b"", headers=headers).status_code == 400
    as_json = client.post("/bounces", content=data, headers={**auth, "Content-Type": "application/json"})
    assert as_json.status_code == 415 and as_json.json()["errors"][0]["reason"]
    assert (
        client.post("/bounces", content=data, headers={"Content-Type": "message/rfc822"}).status_code == 401
    )


def test_api_uses_the_tokens_tenant(client: TestClient, token_for: Any, engine: Engine) -> None:
    delivery_id = _email_delivery(engine, "INV-1003")
    data = _retag(_sample("INV-1003", "failed"), "INV-1003", delivery_id)
    response = client.post("/bounces", content=data, headers={**token_for("globex"), "Content-Type": ""})
    assert response.status_code == 200
    assert response.json()["delivery_id"] is None and response.json()["applied"] is False
    assert _delivery(engine, delivery_id).status == S.SENT


# --- CLI: files, Maildir, mbox ---------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    import gateway.cli

    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(settings.data_dir.parent)
    monkeypatch.setattr(gateway.cli.console, "width", 300)
    return settings


def _maildir(root: Path) -> Path:
    for sub in ("tmp", "new", "cur"):
        (root / sub).mkdir(parents=True)
    return root


def test_cli_maildir_moves_what_it_read_and_does_not_reread(
    cli_env: Settings, engine: Engine, tmp_path: Path
) -> None:
    failed_id = _email_delivery(engine, "INV-1002", n=1)
    delayed_id = _email_delivery(engine, "INV-1004", n=2)
    relayed_id = _email_delivery(engine, "INV-1001", n=3)
    box = _maildir(tmp_path / "Maildir")
    (box / "new" / "1700000001.a.host").write_bytes(
        _retag(_sample("INV-1002", "failed"), "INV-1002", failed_id)
    )
    (box / "new" / "1700000002.b.host").write_bytes(
        _retag(_sample("INV-1004", "delayed"), "INV-1004", delayed_id)
    )
    (box / "new" / "1700000003.c.host").write_bytes(DELIVERED_EMAIL.read_bytes())  # not a DSN
    (box / "cur" / "1700000004.d.host:2,F").write_bytes(
        _retag(_sample("INV-1001", "relayed"), "INV-1001", relayed_id)
    )
    seen = box / "cur" / "1700000005.e.host:2,S"
    seen.write_bytes(_retag(_sample("INV-1003", "failed"), "INV-1003", "x"))  # read before: left alone

    runner = CliRunner()
    result = runner.invoke(cli_app, ["bounces", str(box), "--tenant", "acme"])
    assert result.exit_code == 2, result.output  # one message was not a DSN
    lines = result.output.splitlines()
    assert "failed" in next(line for line in lines if "1700000001" in line)
    assert "envid" in next(line for line in lines if "1700000001" in line)
    assert "delayed" in next(line for line in lines if "1700000002" in line)
    assert "rejected" in next(line for line in lines if "1700000003" in line)
    assert "relayed" in next(line for line in lines if "1700000004" in line)
    assert not [line for line in lines if "1700000005" in line]

    assert sorted(p.name for p in (box / "new").iterdir()) == []
    assert sorted(p.name for p in (box / "cur").iterdir()) == [
        "1700000001.a.host:2,S",
        "1700000002.b.host:2,S",
        "1700000003.c.host:2,S",
        "1700000004.d.host:2,FS",
        "1700000005.e.host:2,S",
    ]
    assert _delivery(engine, failed_id).status == S.DEVIATION
    assert _delivery(engine, delayed_id).status == S.SENT
    assert _delivery(engine, relayed_id).status == S.SENT
    assert len(_inbound(engine)) == 3

    again = runner.invoke(cli_app, ["bounces", str(box), "--tenant", "acme"])
    assert again.exit_code == 0, again.output
    assert "1700000" not in again.output and "repeat" not in again.output
    assert len(_inbound(engine)) == 3

    # A message that arrives later is read on the next run.
    (box / "new" / "1700000006.f.host").write_bytes(
        _retag(_sample("INV-1002", "relayed"), "INV-1002", failed_id)
    )
    later = runner.invoke(cli_app, ["bounces", str(box), "--tenant", "acme"])
    assert later.exit_code == 0 and "1700000006" in later.output and "relayed" in later.output
    assert (box / "cur" / "1700000006.f.host:2,S").is_file()


def test_cli_files_and_mbox(cli_env: Settings, engine: Engine, tmp_path: Path) -> None:
    ids = {n: _email_delivery(engine, n, n=i) for i, n in enumerate(["INV-1001", "INV-1003"], start=1)}
    mbox_path = tmp_path / "bounces.mbox"
    box = mailbox.mbox(mbox_path)
    box.add(_retag(_sample("INV-1003", "failed"), "INV-1003", ids["INV-1003"]))
    box.add(_retag(_sample("INV-1001", "relayed"), "INV-1001", ids["INV-1001"]))
    box.flush()
    box.close()
    eml = tmp_path / "dsn.eml"
    eml.write_bytes(_retag(_sample("INV-1003", "failed"), "INV-1003", ids["INV-1003"]))
    runner = CliRunner()
    result = runner.invoke(cli_app, ["bounces", str(mbox_path), str(eml), "--tenant", "acme"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "failed" in next(line for line in lines if "bounces.mbox#1" in line)
    assert "relayed" in next(line for line in lines if "bounces.mbox#2" in line)
    assert "repeat" in next(line for line in lines if "dsn.eml" in line)  # the same bytes as mbox#1
    assert _delivery(engine, ids["INV-1003"]).status == S.DEVIATION
    assert mbox_path.is_file() and eml.is_file()  # files and mbox are left as they are

    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.eml").write_bytes(_sample("INV-1004", "delayed"))
    (folder / "ignored.txt").write_text("not picked from a folder")
    unlinked = runner.invoke(cli_app, ["bounces", str(folder)])
    assert unlinked.exit_code == 0, unlinked.output
    assert "a.eml" in unlinked.output and "no delivery found" in unlinked.output
    assert "ignored.txt" not in unlinked.output
    missing = runner.invoke(cli_app, ["bounces", str(tmp_path / "nope")])
    assert missing.exit_code == 2  # a file that is not there: usage


def test_inspect_cli_reads_a_dsn(tmp_path: Path) -> None:
    path = tmp_path / "dsn.eml"
    path.write_bytes(_sample("INV-1004", "delayed"))
    result = CliRunner().invoke(cli_app, ["inspect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["format"] == "dsn" and data["classification"] == "delayed"
    assert data["recipients"][0]["will_retry_until"] == "2026-11-24T12:22:45+00:00"


def test_inbound_rows_count_once_per_dsn(engine: Engine) -> None:
    for path in DSN_SAMPLES:
        _receive(engine, path.read_bytes())
        _receive(engine, path.read_bytes())
    with session_scope(engine) as session:
        count = session.execute(select(func.count()).select_from(InboundDocument)).scalar_one()
    assert count == len(DSN_SAMPLES)


def test_concurrent_copies_apply_once(engine: Engine) -> None:
    import threading

    delivery_id = _email_delivery(engine, "INV-1002")
    data = _retag(_sample("INV-1002", "failed"), "INV-1002", delivery_id)
    results: list[BounceResult] = []
    lock = threading.Lock()

    def post() -> None:
        result = _receive(engine, data)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 4
    assert sum(r.applied for r in results) == 1
    assert len({r.inbound_id for r in results}) == 1
    assert len([e for e in _events(engine, delivery_id) if e.to_status == "deviation"]) == 1
