"""Status documents back from receivers: every official T111 use case, MLR and MLS example, on a real outbox.

The official examples all answer invoice `inv021` (T111) or name the SBDH instance id of the message they
answer (MLR `EnvelopeID-12456789`, MLS `90f14eff-…`), so the tests create invoice `inv021`, move its delivery
to `sent` through the queue (claim and leased transitions, with that message id), and feed the examples.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import col
from typer.testing import CliRunner

from db.engine import session_scope
from db.models import Delivery, InboundDocument, InvoiceRecord
from gateway.cli import app as cli_app
from gateway.samples import sample_invoice_json
from gateway.services.inbound.responses import ReceiveResult, receive_status_document
from gateway.services.outbound import deliveries as delivery_service
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.settings import Settings
from mappings import detect_format, inspect_file
from mappings.base import FormatError
from mappings.status import invoice_response
from mappings.status.invoice_response import StatusDocumentError, sniff
from outbox.states import DeliveryStatus
from tests.conftest import SHARED
from tests.outbox_helpers import delivery_events, delivery_row, take_to_sent

S = DeliveryStatus
USE_CASES = SHARED / "validation" / "examples" / "invoice-response" / "Invoice reponse use cases"
IR_EXAMPLE = SHARED / "validation" / "examples" / "invoice-response" / "InvoiceResponse_Example.xml"
MLR_EXAMPLE = SHARED / "validation" / "examples" / "invoice-response" / "MessageLevelResponse_Example.xml"
MLS_DIR = SHARED / "validation" / "mls-1.0.1" / "example"
EHF_T111 = sorted((SHARED / "samples" / "ehf").glob("peppol_T111-*.xml"))
RULES_DIR = SHARED / "validation"
MLS_MESSAGE_ID = "90f14eff-3705-4869-ad3c-caae270a234e"
MLR_MESSAGE_ID = "EnvelopeID-12456789"


def _uc(prefix: str) -> bytes:
    [path] = USE_CASES.glob(f"T111-{prefix}-*.xml")
    return path.read_bytes()


def _with_code(data: bytes, old: str, new: str) -> bytes:
    """An example with its document-level response code replaced (a new document: other bytes)."""
    changed = data.replace(
        f"<cbc:ResponseCode>{old}</cbc:ResponseCode>".encode(),
        f"<cbc:ResponseCode>{new}</cbc:ResponseCode>".encode(),
        1,
    )
    assert changed != data
    return changed


# --- helpers on a real outbox ----------------------------------------------------------------------------


def _sent_invoice(
    engine: Engine, number: str = "inv021", *, tenant: str = "acme", message_id: str | None = None, n: int = 1
) -> str:
    """Accept invoice `number` and take its delivery to `sent` the way a worker does; its delivery id."""
    with session_scope(engine) as session:
        ensure_tenant(session, tenant)
    data = sample_invoice_json(n)
    data["number"] = number
    [result] = accept_invoices(engine, tenant, [IntakeItem(data)], actor="test", default_channel="folder")
    assert result.outcome == "created", result.errors
    [delivery_id] = result.delivery_ids
    take_to_sent(engine, delivery_id, lambda _attempt: message_id or f"msg-{number}")
    return delivery_id


_delivery = delivery_row
_events = delivery_events


def _response_status(engine: Engine, delivery_id: str) -> str | None:
    with session_scope(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        invoice = session.get(InvoiceRecord, delivery.invoice_id)
        assert invoice is not None
        return invoice.response_status


def _receive(engine: Engine, data: bytes, tenant: str | None = "acme", **kwargs: Any) -> ReceiveResult:
    return receive_status_document(engine, data, actor="test:receiver", tenant_id=tenant, **kwargs)


def _inbound_count(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.execute(select(func.count()).select_from(InboundDocument)).scalar_one())


# --- reading (pure) --------------------------------------------------------------------------------------

EXPECTED_T111 = {
    "uc001": ("IP", []),
    "uc002a": ("IP", ["NOA"]),
    "uc002b": ("IP", [None]),
    "uc003": ("AP", []),
    "uc004a": ("RE", ["REF"]),
    "uc004b": ("RE", ["REF", "NIN"]),
    "uc004c": ("RE", ["REF", "CNF", "NIN"]),
    "uc005": ("CA", ["PAY"]),
    "uc006a": ("UQ", ["REF", "PIN"]),
    "uc006b": ("UQ", ["REF", "PIN"]),
    "uc006c": ("UQ", ["DEL", "CNP"]),
    "uc007": ("PD", []),
    "uc008": ("AP", []),
}


def test_every_official_use_case_is_read() -> None:
    files = sorted(USE_CASES.glob("T111-*.xml"))
    assert len(files) == 13
    for path in files:
        use_case = path.name.split("-")[1]
        document = invoice_response.parse(path.read_bytes())
        code, reason_codes = EXPECTED_T111[use_case]
        assert document.kind == "invoice-response", path.name
        assert document.response_code == code, path.name
        assert [r.code for r in document.reasons] == reason_codes, path.name
        assert document.referenced_document_id == "inv021"
        assert document.referenced_type_code == "380"
        assert document.document_id == "imrid001"
        assert sniff(path.read_bytes())
        assert detect_format(path.read_bytes()) == "invoice-response"
    rejected = invoice_response.parse(_uc("uc004a"))
    assert rejected.reasons[0].list_id == "OPStatusReason"
    assert rejected.reasons[0].text is not None and rejected.reasons[0].text.startswith(
        "A textual explanation"
    )
    assert invoice_response.parse(_uc("uc002a")).reasons[0].conditions == [
        {"attribute": "Buyer process reference", "description": "X001"}
    ]
    paid = invoice_response.parse(_uc("uc007"))
    assert paid.payment is not None and paid.payment.paid_on is not None
    assert paid.payment.paid_on.isoformat() == "2017-12-30" and paid.payment.amount is None
    third_party = invoice_response.parse(_uc("uc008"))
    assert third_party.sender.participant == "0196:6963495890"
    assert third_party.receiver.name == "Seller company"


def test_mlr_and_mls_examples_are_read() -> None:
    mlr = invoice_response.parse(MLR_EXAMPLE.read_bytes())
    assert (mlr.kind, mlr.response_code, mlr.referenced_document_id) == ("mlr", "RE", MLR_MESSAGE_ID)
    [line] = mlr.line_responses
    assert line.line_id is not None and line.line_id.startswith("/Catalogue/cac:CatalogueLine[3]")
    assert line.reasons[0].code == "BV"
    assert "CL-T77-R002" in (line.reasons[0].text or "")
    expected = {
        "AB": "AB",
        "AB2": "AB",
        "AB3": "AB",
        "AP": "AP",
        "RE": "RE",
        "RE2": "RE",
        "RE3": "RE",
        "RE4": "RE",
    }
    for suffix, code in expected.items():
        document = invoice_response.parse((MLS_DIR / f"MessageLevelStatus_Example_{suffix}.xml").read_bytes())
        assert (document.kind, document.response_code) == ("mls", code), suffix
        assert document.referenced_document_id == MLS_MESSAGE_ID  # padded in RE3: trimmed
    padded = invoice_response.parse((MLS_DIR / "MessageLevelStatus_Example_RE3.xml").read_bytes())
    assert [r.code for r in padded.all_reasons()] == ["BV", "BW"]
    assert padded.document_id == "MLS-ID123"
    snippet = invoice_response.parse((MLS_DIR / "snippet-re.xml").read_bytes())
    assert [r.line for r in snippet.all_reasons()] == ["NA", "inv:Invoice/cac:TaxTotal/cac:TaxSubtotal/"]
    # An SBDH envelope of an invoice is not a status document.
    assert not sniff((MLS_DIR / "snippet-sbdh-mls-all.xml").read_bytes())


def test_inspect_and_sbdh_wrapped_status_document() -> None:
    report = inspect_file(_uc("uc004b"))
    assert report["format"] == "invoice-response"
    assert report["kind"] == "invoice-response" and report["response_code"] == "RE"
    assert [r["list"] for r in report["reasons"]] == ["OPStatusReason", "OPStatusAction"]
    inner = (MLS_DIR / "MessageLevelStatus_Example_AP.xml").read_bytes().split(b"?>", 1)[1]
    wrapped = (
        b'<StandardBusinessDocument xmlns="http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader">'
        b"<StandardBusinessDocumentHeader><HeaderVersion>1.0</HeaderVersion></StandardBusinessDocumentHeader>"
        + inner
        + b"</StandardBusinessDocument>"
    )
    document = invoice_response.parse(wrapped)
    assert (document.kind, document.response_code) == ("mls", "AP")


@pytest.mark.parametrize(
    ("data", "where", "kind"),
    [
        (b"<ApplicationResponse><oops", "line 1", FormatError),
        (b"", "line 1", FormatError),
        (b"not xml at all", "line 1", FormatError),
        (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', "document", FormatError),
        (
            b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>',
            "document",
            StatusDocumentError,
        ),
        (
            _uc("uc003").replace(b"trns:invoice_response:3", b"trns:something_else:9"),
            "CustomizationID",
            StatusDocumentError,
        ),
        (_with_code(_uc("uc003"), "AP", "XX"), "DocumentResponse/Response/ResponseCode", StatusDocumentError),
        (
            _uc("uc003").replace(b"<cbc:ID>inv021</cbc:ID>", b""),
            "DocumentResponse/DocumentReference/ID",
            StatusDocumentError,
        ),
        (_uc("uc003").replace(b"2017-12-01", b"2017-13-45"), "IssueDate", StatusDocumentError),
        (
            _with_code(MLR_EXAMPLE.read_bytes(), "RE", "PD"),
            "DocumentResponse/Response/ResponseCode",
            StatusDocumentError,
        ),
    ],
)
def test_junk_is_rejected_clearly(data: bytes, where: str, kind: type[Exception]) -> None:
    with pytest.raises(kind) as raised:
        invoice_response.parse(data)
    assert isinstance(raised.value, FormatError)
    assert raised.value.where.startswith(where)
    assert raised.value.reason


# --- applying: every official T111 example ---------------------------------------------------------------

SOURCES = {
    "use-cases": sorted(USE_CASES.glob("T111-*.xml")),
    "ehf-samples": EHF_T111,
    "full-example": [IR_EXAMPLE],
}


@pytest.mark.parametrize("source", list(SOURCES))
def test_each_t111_example_moves_the_delivery_as_specified(engine: Engine, source: str) -> None:
    """Each example answers its own `inv021` (one tenant per file) whose delivery is `sent`."""
    files = SOURCES[source]
    assert files
    seen: dict[str, ReceiveResult] = {}
    for index, path in enumerate(files):
        data = path.read_bytes()
        tenant = f"t{index}"
        delivery_id = _sent_invoice(engine, tenant=tenant)
        result = _receive(engine, data, tenant=tenant)
        digest = hashlib.sha256(data).hexdigest()
        if digest in seen:  # uc006b is byte for byte uc006a: the same document, recognised
            assert result.duplicate and not result.applied and result.inbound_id == seen[digest].inbound_id
            assert _delivery(engine, delivery_id).status == S.SENT
            continue
        seen[digest] = result
        document = invoice_response.parse(data)
        code = document.response_code
        assert result.kind == "invoice-response" and result.response_code == code, path.name
        assert result.applied, (path.name, result.note)
        assert result.delivery_id == delivery_id
        assert _response_status(engine, delivery_id) == code
        delivery = _delivery(engine, delivery_id)
        last = _events(engine, delivery_id)[-1]
        assert last.actor == "test:receiver"
        assert last.details is not None and last.details["response_code"] == code
        assert last.details["inbound_document_id"] == result.inbound_id
        assert f"Invoice Response {code}" in (last.reason or "")
        if code in {"AB", "AP"}:
            assert delivery.status == S.DELIVERED, path.name
            assert (last.from_status, last.to_status) == ("sent", "delivered")
        elif code in {"IP", "UQ", "CA"}:
            assert delivery.status == S.SENT, path.name
            assert (last.from_status, last.to_status) == ("sent", "sent")
            for reason in document.reasons:
                if reason.code:
                    assert reason.code in (last.reason or "")
        elif code == "RE":
            assert delivery.status == S.DEVIATION, path.name
            assert (last.from_status, last.to_status) == ("sent", "deviation")
            for reason in document.reasons:
                assert reason.code and reason.code in (delivery.last_error or "")
                assert reason.text is None or reason.text in (delivery.last_error or "")
                for condition in reason.conditions:
                    assert f"{condition['attribute']}: {condition['description']}" in (
                        delivery.last_error or ""
                    )
            assert [r["code"] for r in last.details["reasons"]] == [r.code for r in document.reasons]
        elif code == "PD":
            assert delivery.status == S.SENT, path.name
            assert (last.from_status, last.to_status) == ("sent", "sent")
            hint = last.details["payment_hint"]
            assert hint["paid_on"] == "2017-12-30"
            assert hint["invoice_number"] == "inv021"
            assert hint["payable_amount"] and hint["partial"] is False
        else:  # pragma: no cover
            pytest.fail(f"unexpected code {code}")
    assert _inbound_count(engine) == len(seen)


def test_ab_acknowledgement_delivers(engine: Engine) -> None:
    delivery_id = _sent_invoice(engine)
    result = _receive(engine, _with_code(_uc("uc001"), "IP", "AB"))
    assert result.applied and result.response_code == "AB"
    assert _delivery(engine, delivery_id).status == S.DELIVERED
    # a later IP is a step forward: an event only, the delivery stays delivered
    later = _receive(engine, _uc("uc001"))
    assert later.applied and later.note is None
    assert _delivery(engine, delivery_id).status == S.DELIVERED
    assert _response_status(engine, delivery_id) == "IP"
    assert [(e.from_status, e.to_status) for e in _events(engine, delivery_id)][-2:] == [
        ("sent", "delivered"),
        ("delivered", "delivered"),
    ]


def test_the_order_only_moves_forward(engine: Engine) -> None:
    delivery_id = _sent_invoice(engine)
    accepted = _receive(engine, _uc("uc003"))
    assert accepted.applied and accepted.delivery_status == "delivered"
    # AP then IP: backward, recorded not applied
    in_process = _receive(engine, _uc("uc001"))
    assert not in_process.applied and not in_process.duplicate
    assert in_process.note is not None and "after AP only PD" in in_process.note
    # AP then RE: not applied either, the delivery is not turned into a deviation
    rejected = _receive(engine, _uc("uc004a"))
    assert not rejected.applied
    assert _delivery(engine, delivery_id).status == S.DELIVERED
    assert _response_status(engine, delivery_id) == "AP"
    # AP then PD: applied
    paid = _receive(engine, _uc("uc007"))
    assert paid.applied
    assert _response_status(engine, delivery_id) == "PD"
    # nothing follows PD
    again = _receive(engine, _uc("uc008"))
    assert not again.applied and again.note is not None and "nothing follows PD" in again.note
    events = _events(engine, delivery_id)
    assert sum(1 for e in events if e.details and e.details.get("kind") == "invoice-response") == 2
    with session_scope(engine) as session:
        rows = list(
            session.execute(select(InboundDocument).order_by(col(InboundDocument.received_at))).scalars()
        )
    assert [(r.response_code, r.applied) for r in rows] == [
        ("AP", True),
        ("IP", False),
        ("RE", False),
        ("PD", True),
        ("AP", False),
    ]
    assert all(r.delivery_id == delivery_id for r in rows)


def test_nothing_follows_a_rejection(engine: Engine) -> None:
    delivery_id = _sent_invoice(engine)
    assert _receive(engine, _uc("uc004a")).applied
    accepted = _receive(engine, _uc("uc003"))
    assert not accepted.applied and accepted.note is not None and "nothing follows RE" in accepted.note
    paid = _receive(engine, _uc("uc007"))
    assert not paid.applied
    delivery = _delivery(engine, delivery_id)
    assert delivery.status == S.DEVIATION
    assert "REF" in (delivery.last_error or "")
    assert _response_status(engine, delivery_id) == "RE"


def test_repeated_and_backward_steps_are_recorded_not_applied(engine: Engine) -> None:
    delivery_id = _sent_invoice(engine)
    assert _receive(engine, _uc("uc001")).applied  # IP
    repeat = _receive(engine, _uc("uc002a"))  # IP again (another document)
    assert not repeat.applied and repeat.note is not None and "repeated step" in repeat.note
    assert _receive(engine, _uc("uc005")).applied  # CA (skips UQ: allowed)
    backward = _receive(engine, _uc("uc006a"))  # UQ after CA
    assert not backward.applied and backward.note is not None and "backward" in backward.note
    assert _response_status(engine, delivery_id) == "CA"
    assert _delivery(engine, delivery_id).status == S.SENT
    assert _receive(engine, _uc("uc003")).applied  # AP
    assert _delivery(engine, delivery_id).status == S.DELIVERED


def test_the_same_file_twice_is_not_applied_twice(engine: Engine) -> None:
    delivery_id = _sent_invoice(engine)
    first = _receive(engine, _uc("uc004a"))
    second = _receive(engine, _uc("uc004a"))
    assert first.applied and not first.duplicate
    assert second.duplicate and not second.applied
    assert second.inbound_id == first.inbound_id and second.delivery_id == first.delivery_id
    assert second.note is not None and "received before" in second.note
    deviations = [e for e in _events(engine, delivery_id) if e.to_status == "deviation"]
    assert len(deviations) == 1
    # uc006a and uc006b are the same bytes: one document
    assert _receive(engine, _uc("uc006a")).inbound_id == _receive(engine, _uc("uc006b")).inbound_id
    assert _inbound_count(engine) == 2


def test_unlinked_document_is_stored_with_a_note(engine: Engine) -> None:
    result = _receive(engine, _uc("uc003"))
    assert not result.applied and result.delivery_id is None and result.invoice_id is None
    assert result.note == "no invoice with number 'inv021' for tenant acme"
    # another tenant's invoice with that number is not found either
    other = _sent_invoice(engine, tenant="globex")
    result = _receive(engine, _uc("uc001"))
    assert not result.applied and result.note is not None and "no invoice with number" in result.note
    assert _delivery(engine, other).status == S.SENT
    with session_scope(engine) as session:
        rows = list(session.execute(select(InboundDocument)).scalars())
    assert len(rows) == 2 and all(not r.applied and r.tenant_id == "acme" for r in rows)
    assert rows[0].payload.startswith("<?xml")
    # without a tenant the number is found across tenants (the CLI without --tenant)
    assert _receive(engine, _uc("uc005"), tenant=None).delivery_id == other


def test_a_peppol_delivery_is_preferred(engine: Engine) -> None:
    folder_id = _sent_invoice(engine)
    with session_scope(engine) as session:
        first = delivery_service.find_delivery(session, "acme", folder_id)
        peppol = delivery_service.resend(session, first, actor="test", reason="to peppol", channel="peppol")
        newer = delivery_service.resend(session, first, actor="test", reason="and print", channel="print")
        peppol_id, newer_id = peppol.id, newer.id
    assert newer_id != peppol_id
    result = _receive(engine, _uc("uc002b"))
    assert result.delivery_id == peppol_id
    # the peppol delivery is still queued: the IP is recorded on it, its status left as it is
    assert result.applied and result.delivery_status == "queued"
    accepted = _receive(engine, _uc("uc003"))
    assert accepted.applied and accepted.delivery_status == "queued"
    assert accepted.note == "delivery is queued; not moved to delivered, recorded as an event"


def test_payment_hint_with_amount_and_partial_payment(engine: Engine) -> None:
    delivery_id = _sent_invoice(engine)
    partial = _with_code(_uc("uc003"), "AP", "PD").replace(
        b"<cbc:ResponseCode>PD</cbc:ResponseCode>",
        b"<cbc:ResponseCode>PD</cbc:ResponseCode><cbc:EffectiveDate>2018-01-02</cbc:EffectiveDate>"
        b'<cac:Status><cbc:StatusReasonCode listID="OPStatusReason">PPD</cbc:StatusReasonCode>'
        b"<cbc:StatusReason>Partially paid</cbc:StatusReason><cac:Condition><cbc:AttributeID>BT-113"
        b"</cbc:AttributeID><cbc:Description>500.00</cbc:Description></cac:Condition></cac:Status>",
    )
    result = _receive(engine, partial, rules_dir=RULES_DIR)
    assert result.applied, result.note
    assert result.validated is True
    hint = _events(engine, delivery_id)[-1].details["payment_hint"]  # type: ignore[index]
    assert hint["amount"] == "500.00" and hint["partial"] is True and hint["paid_on"] == "2018-01-02"


# --- MLR and MLS ----------------------------------------------------------------------------------------


def test_mlr_rejection_and_acceptance(engine: Engine) -> None:
    delivery_id = _sent_invoice(engine, message_id=MLR_MESSAGE_ID)
    result = _receive(engine, MLR_EXAMPLE.read_bytes())
    assert result.kind == "mlr" and result.applied and result.delivery_id == delivery_id
    delivery = _delivery(engine, delivery_id)
    assert delivery.status == S.DEVIATION
    assert "BV" in (delivery.last_error or "") and "CL-T77-R002" in (delivery.last_error or "")
    last = _events(engine, delivery_id)[-1]
    assert last.details is not None and last.details["reasons"][0]["line"].startswith("/Catalogue")
    # MLR is message level: it does not touch the invoice's response status
    assert _response_status(engine, delivery_id) is None
    other = _sent_invoice(engine, "inv022", message_id="EnvelopeID-2", n=2)
    accepted = MLR_EXAMPLE.read_bytes().replace(MLR_MESSAGE_ID.encode(), b"EnvelopeID-2")
    accepted = _with_code(accepted, "RE", "AP")
    result = _receive(engine, accepted)
    assert result.applied and result.delivery_id == other
    assert _delivery(engine, other).status == S.DELIVERED
    acknowledged = _sent_invoice(engine, "inv023", message_id="EnvelopeID-3", n=3)
    ab = _with_code(MLR_EXAMPLE.read_bytes().replace(MLR_MESSAGE_ID.encode(), b"EnvelopeID-3"), "RE", "AB")
    assert _receive(engine, ab).applied
    assert _delivery(engine, acknowledged).status == S.DELIVERED


def test_mls_examples(engine: Engine) -> None:
    delivery_id = _sent_invoice(engine, message_id=MLS_MESSAGE_ID)
    ab = _receive(engine, (MLS_DIR / "MessageLevelStatus_Example_AB.xml").read_bytes())
    assert ab.kind == "mls" and ab.applied and ab.delivery_status == "sent"  # AB: an event only
    ap = _receive(engine, (MLS_DIR / "MessageLevelStatus_Example_AP.xml").read_bytes())
    assert ap.applied and ap.delivery_status == "delivered"
    re = _receive(engine, (MLS_DIR / "MessageLevelStatus_Example_RE2.xml").read_bytes())
    assert re.applied and re.delivery_status == "deviation"
    delivery = _delivery(engine, delivery_id)
    assert "BV" in (delivery.last_error or "") and "BW" in (delivery.last_error or "")
    assert "Rejected due to validation errors" in (delivery.last_error or "")
    for name in ["RE.xml", "RE3.xml", "RE4.xml", "AB2.xml", "AB3.xml"]:
        again = _receive(engine, (MLS_DIR / f"MessageLevelStatus_Example_{name}").read_bytes())
        assert again.applied and again.delivery_status == "deviation", name
    transitions = [(e.from_status, e.to_status) for e in _events(engine, delivery_id)]
    assert transitions[-8:] == [
        ("sent", "sent"),
        ("sent", "delivered"),
        ("delivered", "deviation"),
        *[("deviation", "deviation")] * 5,
    ]
    assert _response_status(engine, delivery_id) is None


def test_mls_links_by_invoice_number_as_a_fallback(engine: Engine) -> None:
    delivery_id = _sent_invoice(engine, "INV-77")
    data = (MLS_DIR / "snippet-ap.xml").read_bytes().replace(MLS_MESSAGE_ID.encode(), b"INV-77")
    result = _receive(engine, data)
    assert result.applied and result.delivery_id == delivery_id and result.delivery_status == "delivered"
    unknown = _receive(engine, (MLS_DIR / "snippet-re.xml").read_bytes())
    assert (
        not unknown.applied
        and unknown.note == f"no delivery or invoice for {MLS_MESSAGE_ID!r} for tenant acme"
    )


# --- official rules -------------------------------------------------------------------------------------


def test_official_rules_when_configured(engine: Engine) -> None:
    pytest.importorskip("saxonche")
    delivery_id = _sent_invoice(engine)
    broken = _uc("uc003").replace(b"bis:invoice_response:3</cbc:ProfileID>", b"bis:other:3</cbc:ProfileID>")
    result = _receive(engine, broken, rules_dir=RULES_DIR)
    assert not result.applied and result.validated is True
    assert result.note is not None and "PEPPOL-T111-R008" in result.note
    assert _delivery(engine, delivery_id).status == S.SENT
    valid = _receive(engine, _uc("uc003"), rules_dir=RULES_DIR)
    assert valid.applied and valid.validated is True
    assert _delivery(engine, delivery_id).status == S.DELIVERED
    unchecked = _receive(engine, _uc("uc007"))
    assert unchecked.applied and unchecked.validated is False


# --- API and CLI ----------------------------------------------------------------------------------------


def test_api_post_responses(client: TestClient, auth: dict[str, str], engine: Engine) -> None:
    delivery_id = _sent_invoice(engine)
    headers = {**auth, "Content-Type": "application/xml"}
    response = client.post("/responses", content=_uc("uc004c"), headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "invoice-response" and body["response_code"] == "RE"
    assert body["applied"] is True and body["delivery_id"] == delivery_id
    assert body["delivery_status"] == "deviation" and body["duplicate"] is False
    repeat = client.post("/responses", content=_uc("uc004c"), headers=headers)
    assert repeat.status_code == 200 and repeat.json()["duplicate"] is True
    assert repeat.json()["applied"] is False and repeat.json()["id"] == body["id"]
    view = client.get(f"/invoices/{body['invoice_id']}", headers=auth).json()
    events = view["deliveries"][0]["events"]
    assert events[-1]["to"] == "deviation" and "CNF" in events[-1]["reason"]

    malformed = client.post("/responses", content=b"<ApplicationResponse><oops", headers=headers)
    assert malformed.status_code == 400
    assert malformed.json()["errors"][0]["field"] == "line 1"
    assert "not well-formed" in malformed.json()["errors"][0]["reason"]
    not_status = client.post(
        "/responses",
        content=b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>',
        headers=headers,
    )
    assert not_status.status_code == 422
    assert not_status.json()["errors"] == [
        {"field": "document", "reason": "not a UBL ApplicationResponse (the root element is Invoice)"}
    ]
    bad_code = client.post("/responses", content=_with_code(_uc("uc003"), "AP", "ZZ"), headers=headers)
    assert bad_code.status_code == 422
    assert bad_code.json()["errors"][0]["field"] == "DocumentResponse/Response/ResponseCode"
    as_json = client.post(
        "/responses", content=_uc("uc003"), headers={**auth, "Content-Type": "application/json"}
    )
    assert as_json.status_code == 415
    assert (
        client.post(
            "/responses", content=_uc("uc003"), headers={"Content-Type": "application/xml"}
        ).status_code
        == 401
    )


def test_api_uses_the_tokens_tenant(client: TestClient, token_for: Any, engine: Engine) -> None:
    delivery_id = _sent_invoice(engine, tenant="acme")
    globex = {**token_for("globex"), "Content-Type": "application/xml"}
    response = client.post("/responses", content=_uc("uc003"), headers=globex)
    assert response.status_code == 200
    assert response.json()["applied"] is False and response.json()["delivery_id"] is None
    assert _delivery(engine, delivery_id).status == S.SENT


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("GATEWAY_RULES_DIR", raising=False)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(settings.data_dir.parent)
    return settings


def test_cli_receive(
    cli_env: Settings, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gateway.cli

    monkeypatch.setattr(gateway.cli.console, "width", 300)
    delivery_id = _sent_invoice(engine)
    inbox = tmp_path / "responses"
    inbox.mkdir()
    (inbox / "a-accepted.xml").write_bytes(_uc("uc003"))
    (inbox / "b-in-process.xml").write_bytes(_uc("uc001"))
    (inbox / "ignored.txt").write_text("not picked from a folder")
    runner = CliRunner()
    result = runner.invoke(cli_app, ["receive", str(inbox), "--tenant", "acme"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    accepted = next(line for line in lines if "a-accepted.xml" in line)
    assert "AP" in accepted and "yes" in accepted and "delivered" in accepted
    in_process = next(line for line in lines if "b-in-process.xml" in line)
    assert "IP" in in_process and "\tno\t" in in_process and "out of order" in in_process  # piped: TSV
    assert _delivery(engine, delivery_id).status == S.DELIVERED
    junk = tmp_path / "junk.xml"
    junk.write_bytes(b"<<<")
    again = runner.invoke(cli_app, ["receive", str(inbox / "a-accepted.xml"), str(junk)])
    assert again.exit_code == 2
    assert "repeat" in again.output and "rejected" in again.output
    missing = runner.invoke(cli_app, ["receive", str(tmp_path / "nope.xml")])
    assert missing.exit_code == 2  # a file that is not there: usage


def test_inspect_cli_reads_a_status_document(tmp_path: Path) -> None:
    path = tmp_path / "mls.xml"
    path.write_bytes((MLS_DIR / "MessageLevelStatus_Example_RE4.xml").read_bytes())
    result = CliRunner().invoke(cli_app, ["inspect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["format"] == "invoice-response" and data["kind"] == "mls"
    assert [r["code"] for r in data["all_reasons"]] == ["BV", "BV"]


def test_concurrent_copies_apply_once(engine: Engine) -> None:
    import threading

    delivery_id = _sent_invoice(engine)
    results: list[ReceiveResult] = []
    lock = threading.Lock()

    def post() -> None:
        result = _receive(engine, _uc("uc004a"))
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
    assert _inbound_count(engine) == 1
