"""Digipost API v8 mappings: every message and answer the module writes validates against the official
`api_v8.xsd` + `datatypes.xsd` (read from the shared dir), the invoice data comes from the invoice, what the
schemas do not check (KID length, account digits, national identity numbers) is refused with the field
named, and the readers refuse malformed answers with a `FormatError` naming the element."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from typer.testing import CliRunner

import mappings
from gateway.cli import app
from gateway.samples import kid_for, sample_invoice, sample_invoice_json
from mappings.base import FormatError
from mappings.consumer import digipost as d
from mappings.consumer import digipost_delivery, digipost_events
from schemas.canonical import Address, Identifier, Invoice
from tests.conftest import SHARED

SCHEMA_DIR = SHARED / "validation" / "digipost-v8"
FNR = "15108695088"  # valid check digits and date (made up)
MASKED = "*******5088"
NS = {"v8": d.API_NS, "dt": d.DATATYPES_NS}
runner = CliRunner()

UUID_1 = "0b0e6c2a-5a7e-4f1b-9a43-111111111111"
UUID_2 = "0b0e6c2a-5a7e-4f1b-9a43-222222222222"
OSLO_ADDRESS = d.PrintAddress("Ola Nordmann", ("Storgata 2", "Leilighet H0101"), "0155", "Oslo")
RETURN_ADDRESS = d.PrintAddress("Nordlys Verktøy AS", ("Postboks 1",), "0101", "Oslo")
ABROAD = d.PrintAddress("Kari Hansen", ("Kungsgatan 4",), "111 43", "Stockholm", country="se")


def valid(data: bytes) -> bytes:
    """`data`, after asserting the official schemas accept it."""
    assert d.validate_digipost_xml(data, SCHEMA_DIR) == [], data.decode()
    return data


def tags(data: bytes) -> list[str]:
    return [etree.QName(child).localname for child in etree.fromstring(data)]


def invoice_with(**changes: Any) -> Invoice:
    data = sample_invoice_json(1)
    for key, value in changes.items():
        data[key] = value
    return Invoice.model_validate(data)


def primary(invoice: d.InvoiceData | None = None, uuid: str = UUID_1) -> d.DigipostDocument:
    return d.DigipostDocument(uuid=uuid, subject="Faktura 1", file_type="pdf", invoice=invoice)


def message(recipient: d.DigipostRecipient, **parts: Any) -> bytes:
    return d.render_message(
        message_id="m-1",
        sender_id=None,
        recipient=recipient,
        primary_document=primary(),
        attachments=(),
        **parts,
    )


# --- the message from an invoice --------------------------------------------------------------------------


def test_the_invoice_message_carries_the_invoice_data_and_validates() -> None:
    invoice = sample_invoice(1)
    built = d.message_for_invoice(
        invoice, sender_id=123456, attachment_names=["pod-INV-000001.pdf", "terms.PDF"]
    )
    data = valid(built.xml())
    assert tags(data) == [
        "message-id",
        "sender-id",
        "recipient",
        "invoice-reference",
        "primary-document",
        "attachment",
        "attachment",
    ]
    root = etree.fromstring(data)
    found = root.find("v8:primary-document/v8:data-type/dt:invoice", NS)
    assert found is not None
    assert [etree.QName(child).localname for child in found] == ["due-date", "sum", "creditor-account", "kid"]
    assert found.findtext("dt:due-date", namespaces=NS) == "2026-11-16T00:00:00+01:00"  # issue date + 14
    assert found.findtext("dt:sum", namespaces=NS) == str(invoice.totals.payable)
    assert found.findtext("dt:creditor-account", namespaces=NS) == "86011117947"
    assert found.findtext("dt:kid", namespaces=NS) == kid_for(1)
    assert built.primary_document.invoice == d.InvoiceData(
        due_date=dt.date(2026, 11, 16),
        sum=invoice.totals.payable,
        creditor_account="86011117947",
        kid=kid_for(1),
    )
    assert [a.file_type for a in built.attachments] == ["pdf", "pdf"]
    assert [a.subject for a in built.attachments] == ["pod-INV-000001", "terms"]
    assert d.parse(data) == built
    # the same invoice names the same documents (a retry is the same message to Digipost)
    again = d.message_for_invoice(invoice, attachment_names=["pod-INV-000001.pdf", "terms.PDF"])
    assert [x.uuid for x in again.documents] == [x.uuid for x in built.documents]
    assert len({x.uuid for x in built.documents}) == 3


def test_a_norwegian_iban_becomes_the_11_digit_account() -> None:
    means = [{"code": "58", "payment_id": kid_for(1), "account": {"id": "NO93 8601 1117 947"}}]
    built = d.message_for_invoice(invoice_with(payment_means=means))
    assert built.primary_document.invoice is not None
    assert built.primary_document.invoice.creditor_account == "86011117947"
    assert d.norwegian_account("8601.11.17947") == "86011117947"
    with pytest.raises(d.DigipostError, match=r"payment_means\[0\]\.account\.id.*not a Norwegian account"):
        d.message_for_invoice(
            invoice_with(payment_means=[{**means[0], "account": {"id": "SE4550000000058398257466"}}])
        )
    with pytest.raises(d.DigipostError, match="not a valid IBAN"):
        d.norwegian_account("NO94 8601 1117 947")


@pytest.mark.parametrize(
    ("account", "reason"),
    [
        ("8601111794", "not an 11-digit Norwegian account number"),  # 10 digits
        ("860111179470", "not an 11-digit Norwegian account number"),  # 12 digits
        ("86011117948", "MOD11"),  # a wrong check digit
    ],
)
def test_an_account_that_is_not_a_valid_11_digit_number_is_refused_naming_the_field(
    account: str, reason: str
) -> None:
    with pytest.raises(d.DigipostError, match=reason) as caught:
        d.InvoiceData(due_date=dt.date(2026, 12, 1), sum=Decimal("100.00"), creditor_account=account)
    assert caught.value.where == "invoice.creditor-account"
    means = [{"code": "30", "payment_id": kid_for(1), "account": {"id": account}}]
    with pytest.raises(d.DigipostError, match=reason) as from_invoice:
        d.message_for_invoice(invoice_with(payment_means=means))
    assert from_invoice.value.where == "payment_means[0].account.id"


def test_a_kid_of_26_characters_is_refused_naming_the_field() -> None:
    kid_25, kid_26 = "1" * 24 + "0", "1" * 25 + "0"
    assert d.InvoiceData(dt.date(2026, 12, 1), Decimal(1), "86011117947", kid=kid_25).kid == kid_25
    with pytest.raises(d.DigipostError, match="26 characters, a KID is at most 25") as caught:
        d.InvoiceData(dt.date(2026, 12, 1), Decimal(1), "86011117947", kid=kid_26)
    assert caught.value.where == "invoice.kid"
    means = [{"code": "30", "payment_id": kid_26, "account": {"id": "86011117947"}}]
    with pytest.raises(d.DigipostError, match="at most 25") as from_invoice:
        d.message_for_invoice(invoice_with(payment_means=means))
    assert from_invoice.value.where == "payment_means[0].payment_id"
    with pytest.raises(d.DigipostError, match="is no KID"):
        d.message_for_invoice(invoice_with(payment_means=[{**means[0], "payment_id": "INV-1"}]))
    # a MOD11 KID may end in "-"
    assert d.InvoiceData(dt.date(2026, 12, 1), Decimal(1), "86011117947", kid="12345-").kid == "12345-"


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"currency": "EUR"}, "currency"),
        ({"due_date": None}, "due_date"),
        ({"payment_means": [{"code": "30", "payment_id": "0000000018"}]}, "payment_means"),
    ],
)
def test_an_invoice_digipost_cannot_collect_is_refused_naming_the_field(
    changes: dict[str, Any], where: str
) -> None:
    with pytest.raises(d.DigipostError) as caught:
        d.message_for_invoice(invoice_with(**changes))
    assert caught.value.where == where


def test_invoice_sums_are_positive_decimals_with_ore() -> None:
    for wrong in (Decimal(0), Decimal("-1"), Decimal("1.001"), Decimal("NaN")):
        with pytest.raises(d.DigipostError) as caught:
            d.InvoiceData(dt.date(2026, 12, 1), wrong, "86011117947")
        assert caught.value.where == "invoice.sum"


def test_a_credit_note_is_a_document_without_invoice_data() -> None:
    credit = sample_invoice(3, credit_note=True)
    built = d.message_for_invoice(credit)
    assert built.primary_document.invoice is None
    assert built.primary_document.subject.startswith("Kreditnota CN-000003")
    assert b"data-type" not in valid(built.xml())


# --- recipients -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recipient", "element", "text"),
    [
        (d.DigipostRecipient(national_id="151086 95088"), "personal-identification-number", FNR),
        (d.DigipostRecipient(organisation_number="910667831"), "organisation-number", "910667831"),
        (d.DigipostRecipient(digipost_address="ola.nordmann#1234"), "digipost-address", "ola.nordmann#1234"),
        (
            d.DigipostRecipient(
                name_and_address=d.NameAndAddress("Ola Nordmann", ("Storgata 2",), "0155", "Oslo")
            ),
            "name-and-address",
            None,
        ),
    ],
)
def test_every_recipient_variant_validates_and_reads_back(
    recipient: d.DigipostRecipient, element: str, text: str | None
) -> None:
    data = valid(message(recipient))
    block = etree.fromstring(data).find("v8:recipient", NS)
    assert block is not None and [etree.QName(c).localname for c in block] == [element]
    if text is not None:
        assert block[0].text == text
    assert d.parse(data).recipient == recipient
    identification = valid(d.render_identification(recipient))
    assert d.read_identification(identification) == recipient


def test_name_and_address_keeps_the_schema_order() -> None:
    found = d.NameAndAddress(
        "Ola Nordmann", ("Storgata 2", "H0101"), "0155", "Oslo", birth_date=dt.date(1986, 10, 15)
    )
    data = valid(message(d.DigipostRecipient(name_and_address=found)))
    block = etree.fromstring(data).find("v8:recipient/v8:name-and-address", NS)
    assert block is not None
    assert [etree.QName(c).localname for c in block] == [
        "fullname",
        "addressline1",
        "addressline2",
        "postalcode",
        "city",
        "birth-date",
    ]


def test_a_recipient_is_exactly_one_thing_and_a_bad_national_id_is_not_echoed() -> None:
    with pytest.raises(d.DigipostError, match="exactly one"):
        d.DigipostRecipient()
    with pytest.raises(d.DigipostError, match="given: national_id, organisation_number"):
        d.DigipostRecipient(national_id=FNR, organisation_number="910667831")
    with pytest.raises(d.DigipostError) as caught:
        d.DigipostRecipient(national_id="15108695089")
    assert caught.value.where == "recipient.personal-identification-number"
    assert "1510869508" not in str(caught.value)
    with pytest.raises(d.DigipostError, match="organisation number"):
        d.DigipostRecipient(organisation_number="910667832")
    with pytest.raises(d.DigipostError, match="Norwegian address only"):
        d.NameAndAddress("Kari", ("Kungsgatan 4",), "1114", "Stockholm", country="SE")


def test_the_recipient_is_chosen_from_the_buyer_best_identification_first() -> None:
    buyer = sample_invoice(1).buyer
    assert d.recipient_for_buyer(buyer, national_id=FNR) == d.DigipostRecipient(national_id=FNR)
    assert d.recipient_for_buyer(buyer) == d.DigipostRecipient(organisation_number="923609016")
    consumer = buyer.model_copy(update={"legal_registration": None, "endpoint": None, "identifiers": []})
    by_address = d.recipient_for_buyer(consumer)
    assert by_address.name_and_address == d.NameAndAddress(
        "Midnattsol Drift AS", ("Sjøgata 12",), "9008", "Tromsø"
    )
    person = consumer.model_copy(update={"identifiers": [Identifier(value=FNR)]})
    assert d.recipient_for_buyer(person) == d.DigipostRecipient(national_id=FNR)
    abroad = consumer.model_copy(
        update={
            "address": Address(lines=["Kungsgatan 4"], city="Stockholm", postal_code="11143", country="SE")
        }
    )
    with pytest.raises(d.DigipostError, match="no national identity number") as caught:
        d.recipient_for_buyer(abroad)
    assert caught.value.where == "buyer"


# --- print fallback ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recipient_address", "colour", "handling"),
    [
        (OSLO_ADDRESS, "MONOCHROME", "RETURN_TO_SENDER"),
        (OSLO_ADDRESS, "COLORS", "SHRED"),
        (ABROAD, "MONOCHROME", "SHRED"),
        (d.PrintAddress("Ola", (), "0155", "Oslo"), "COLORS", "RETURN_TO_SENDER"),  # no address line at all
    ],
)
def test_print_details_variants_validate(
    recipient_address: d.PrintAddress, colour: Any, handling: Any
) -> None:
    details = d.PrintDetails(recipient_address, RETURN_ADDRESS, colour, handling)
    data = valid(message(d.DigipostRecipient(national_id=FNR), print_details=details))
    block = etree.fromstring(data).find("v8:recipient/v8:print-details", NS)
    assert block is not None
    assert [etree.QName(c).localname for c in block] == [
        "recipient",
        "return-address",
        "color",
        "nondeliverable-handling",
    ]
    assert block.findtext("v8:color", namespaces=NS) == colour
    assert block.findtext("v8:nondeliverable-handling", namespaces=NS) == handling
    postal = block.find("v8:recipient", NS)
    assert postal is not None
    kind = etree.QName(postal[1]).localname
    assert kind == ("norwegian-address" if recipient_address.is_norwegian else "foreign-address")
    read = d.parse(data).print_details
    assert read is not None and read.colour == colour and read.nondeliverable_handling == handling
    assert read.recipient.name == recipient_address.name


def test_a_foreign_address_writes_postal_code_and_city_into_its_lines_and_the_country_code() -> None:
    data = valid(
        message(d.DigipostRecipient(national_id=FNR), print_details=d.PrintDetails(ABROAD, RETURN_ADDRESS))
    )
    foreign = etree.fromstring(data).find("v8:recipient/v8:print-details/v8:recipient/v8:foreign-address", NS)
    assert foreign is not None
    assert [(etree.QName(c).localname, c.text) for c in foreign] == [
        ("addressline1", "Kungsgatan 4"),
        ("addressline2", "111 43 Stockholm"),
        ("country-code", "SE"),
    ]


def test_print_if_unread_after_a_day_validates_and_reads_back() -> None:
    unread = d.PrintIfUnread(dt.date(2026, 12, 1), d.PrintDetails(OSLO_ADDRESS, RETURN_ADDRESS, "COLORS"))
    data = valid(message(d.DigipostRecipient(national_id=FNR), print_if_unread=unread))
    assert tags(data)[-1] == "print-if-unread"
    after = etree.fromstring(data).findtext("v8:print-if-unread/v8:print-if-unread-after", namespaces=NS)
    assert after == "2026-12-01T00:00:00+01:00"
    assert d.parse(data).print_if_unread == unread
    both = d.message_for_invoice(
        sample_invoice(1), print_details=unread.print_details, print_if_unread=unread
    )
    assert tags(valid(both.xml()))[-1] == "print-if-unread"


@pytest.mark.parametrize(
    ("make", "where"),
    [
        (lambda: d.PrintDetails(OSLO_ADDRESS, RETURN_ADDRESS, colour="RED"), "print-details.color"),  # type: ignore[arg-type]
        (
            lambda: d.PrintDetails(OSLO_ADDRESS, RETURN_ADDRESS, nondeliverable_handling="KEEP"),  # type: ignore[arg-type]
            "print-details.nondeliverable-handling",
        ),
        (
            lambda: d.PrintAddress("Ola", ("Gate 1",), "155", "Oslo"),
            "print-details.norwegian-address.zip-code",
        ),
        (
            lambda: d.PrintAddress("Ola", ("a", "b", "c", "d"), "0155", "Oslo"),
            "print-details.norwegian-address",
        ),
        (lambda: d.PrintAddress("Ola", (), None, None, country="SE"), "print-details.foreign-address"),
        (lambda: d.PrintAddress("Ola", ("x",), country="Sverige"), "print-details.country-code"),
        (lambda: d.PrintAddress("", ("Gate 1",), "0155", "Oslo"), "print-details.name"),
    ],
)
def test_print_details_digipost_cannot_print_are_refused_naming_the_field(make: Any, where: str) -> None:
    with pytest.raises(d.DigipostError) as caught:
        make()
    assert caught.value.where == where


def test_a_message_refuses_shared_uuids_and_too_many_attachments() -> None:
    recipient = d.DigipostRecipient(national_id=FNR)
    with pytest.raises(d.DigipostError, match="share a uuid"):
        d.render_message(
            message_id=None,
            sender_id=None,
            recipient=recipient,
            primary_document=primary(),
            attachments=[primary()],
        )
    with pytest.raises(d.DigipostError, match="not a UUID"):
        primary(uuid="not-a-uuid")
    assert primary(uuid=UUID_1.upper()).uuid == UUID_1
    minimal = valid(
        d.render_message(message_id=None, sender_id=None, recipient=recipient, primary_document=primary())
    )
    assert tags(minimal) == ["recipient", "primary-document"]


def test_the_schema_itself_catches_a_message_out_of_order() -> None:
    """The validator is the real check: a message with its attachment before the primary document fails."""
    data = message(d.DigipostRecipient(national_id=FNR))
    root = etree.fromstring(data)
    document = root.find("v8:primary-document", NS)
    assert document is not None
    attachment = etree.fromstring(etree.tostring(document))
    attachment.tag = f"{{{d.API_NS}}}attachment"
    root.insert(list(root).index(document), attachment)
    problems = d.validate_digipost_xml(etree.tostring(root), SCHEMA_DIR)
    assert problems and "attachment" in problems[0]
    wrong_kid = data.replace(
        b"<file-type>pdf</file-type>",
        b"<file-type>pdf</file-type><data-type><invoice "
        b'xmlns="http://api.digipost.no/schema/datatypes"><sum>1</sum></invoice></data-type>',
    )
    assert any("due-date" in problem for problem in d.validate_digipost_xml(wrong_kid, SCHEMA_DIR))
    assert d.validate_digipost_xml(b"<not xml", SCHEMA_DIR)[0].startswith("line 1")


def test_the_official_invoice_example_is_read_by_the_same_rules() -> None:
    examples = etree.parse(str(SCHEMA_DIR / "datatypes-examples.xml")).getroot()
    invoice = examples.find("dt:invoice", NS)
    assert invoice is not None
    document = etree.fromstring(message(d.DigipostRecipient(national_id=FNR)))
    found = document.find("v8:primary-document", NS)
    assert found is not None
    etree.SubElement(found, f"{{{d.API_NS}}}data-type").append(invoice)
    data = valid(etree.tostring(document))
    # The schema's own example account fails the account number's MOD11 check: the schema does not say,
    # the reader does (the bank would refuse the payment).
    with pytest.raises(FormatError, match="MOD11") as caught:
        d.parse(data)
    assert caught.value.where == "message/primary-document/data-type/invoice (invoice.creditor-account)"
    read = d.parse(data.replace(b"01235424320", b"86011117947")).primary_document.invoice
    assert read == d.InvoiceData(
        dt.date(2020, 9, 10),
        Decimal(42),
        "86011117947",
        "1435025439583420243982723",
        link_url="https://www.example.com",
        link_description="Gå til avsenders side for å gjøre en handling",
    )


# --- answers ----------------------------------------------------------------------------------------------


CERTIFICATE = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_the_entry_point_names_its_links_by_relation() -> None:
    entry = d.EntryPoint.of(
        CERTIFICATE,
        {
            "create_message": "https://api.test/messages",
            "identify_recipient": "https://api.test/identification",
            "document_events": "https://api.test/events",
        },
    )
    data = valid(d.render_entry_point(entry))
    read = d.read_entry_point(data)
    assert read == entry and read.certificate == CERTIFICATE
    assert read.uri("create_message") == "https://api.test/messages"
    assert read.uri(d.RELATIONS_BASE + "document_events") == "https://api.test/events"
    assert read.links[0].rel == "https://api.digipost.no/relations/create_message"
    with pytest.raises(FormatError, match="no link with relation 'search'"):
        read.uri("search")
    assert d.read_entry_point(valid(d.render_entry_point(d.EntryPoint(None)))) == d.EntryPoint(None)


@pytest.mark.parametrize("method", ["DIGIPOST", "PRINT", "PEPPOL", "EPOST"])
def test_a_message_delivery_reads_back_with_its_channel(method: Any) -> None:
    delivery = d.MessageDelivery(
        message_id="m-1",
        delivery_method=method,
        sender_id=123456,
        status="DELIVERED",
        delivery_time=dt.datetime(2026, 11, 24, 15, 3, tzinfo=dt.UTC),
        primary_document=primary(
            d.InvoiceData(dt.date(2026, 12, 1), Decimal("10.50"), "86011117947", "0000000018")
        ),
        attachments=(primary(uuid=UUID_2),),
        links=(d.Link(d.RELATIONS_BASE + "self", "https://api.test/messages/1", d.MEDIA_TYPE),),
    )
    data = valid(d.render_message_delivery(delivery))
    read = d.read_message_delivery(data)
    assert read == delivery
    assert read.primary_document_uuid == UUID_1 and read.delivery_method == method
    assert mappings.detect_format(data) == "digipost-delivery"
    view = mappings.inspect_file(data)
    assert view["delivery_method"] == method and view["attachments"] == [UUID_2]


@pytest.mark.parametrize(
    "result",
    [
        d.IdentificationResult("DIGIPOST", digipost_address="ola.nordmann#1234"),
        d.IdentificationResult("DIGIPOST", digipost_address="ola.nordmann#1234", person_alias="alias-1"),
        d.IdentificationResult("IDENTIFIED", person_alias="alias-2"),
        d.IdentificationResult("UNIDENTIFIED", unidentified_reason="NOT_FOUND"),
        d.IdentificationResult("UNIDENTIFIED", unidentified_reason="MULTIPLE_MATCHES"),
        d.IdentificationResult("INVALID", invalid_reason="INVALID_PERSONAL_IDENTIFICATION_NUMBER"),
        d.IdentificationResult("IDENTIFIED"),
    ],
)
def test_identification_results_read_back_with_their_reason(result: d.IdentificationResult) -> None:
    read = d.read_identification_result(valid(d.render_identification_result(result)))
    assert read == result
    assert read.reason == (result.unidentified_reason or result.invalid_reason)


def test_document_events_carry_their_type_and_metadata() -> None:
    at = dt.datetime(2026, 11, 25, 6, 10, tzinfo=dt.UTC)
    sent = dt.datetime(2026, 11, 24, 15, 3, tzinfo=dt.UTC)
    events = d.DocumentEvents(
        (
            d.DocumentEvent(
                UUID_1,
                "POSTMARKED",
                at,
                sent,
                {"postmarked-date": "2026-11-25T00:00:00+01:00"},
                "postmarked-metadata",
            ),
            d.DocumentEvent(
                UUID_1, "PRINT_FAILED", at, sent, {"error-code": "INVALID_ADDRESS"}, "failed-print-metadata"
            ),
            d.DocumentEvent(
                UUID_2, "PEPPOL_FAILED", at, sent, {"error-code": "NO_RECEIVER"}, "failed-peppol-metadata"
            ),
            d.DocumentEvent(UUID_2, "SHREDDED", at, sent),
            d.DocumentEvent(UUID_2, "OPENED", at, sent),
            d.DocumentEvent(
                UUID_2,
                "EMAIL_NOTIFICATION_FAILED",
                at,
                sent,
                {"email-address": "a@b.test", "error-code": "BOUNCED"},
                "email-notification-failed-metadata",
            ),
        )
    )
    data = valid(d.render_document_events(events))
    assert d.read_document_events(data) == events
    assert d.read_document_events(valid(d.render_document_events([]))) == d.DocumentEvents()
    assert mappings.detect_format(data) == "digipost-events"
    view = mappings.inspect_file(data)
    assert [event["type"] for event in view["events"]][:2] == ["POSTMARKED", "PRINT_FAILED"]
    assert view["events"][1]["metadata"] == {"error-code": "INVALID_ADDRESS"}
    assert digipost_events.parse(data) == events
    with pytest.raises(d.DigipostError, match="required by failed-print-metadata"):
        d.render_document_events([d.DocumentEvent(UUID_1, "PRINT_FAILED", at, sent, {"code": "X"})])
    with pytest.raises(d.DigipostError, match="no metadata type for an event of type OPENED"):
        d.render_document_events([d.DocumentEvent(UUID_1, "OPENED", at, sent, {"x": "y"})])


def test_an_error_answer_reads_back() -> None:
    error = d.ErrorAnswer(
        "UNKNOWN_RECIPIENT", "The recipient does not have a Digipost account", "CLIENT_DATA"
    )
    assert d.read_error(valid(d.render_error(error))) == error


# --- malformed answers ------------------------------------------------------------------------------------

READERS = [
    d.parse,
    d.read_identification,
    d.read_entry_point,
    d.read_message_delivery,
    d.read_identification_result,
    d.read_document_events,
    d.read_error,
    digipost_delivery.parse,
    digipost_events.parse,
]


@pytest.mark.parametrize("read", READERS, ids=lambda f: f"{f.__module__}.{f.__name__}")
@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not xml",
        b"<x/>",
        b"<error xmlns='urn:other'/>",
        b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>",
        b'<?xml version="1.0"?><message xmlns="http://api.digipost.no/schema/v8"><recipient/></message>',
        b'<document-events xmlns="http://api.digipost.no/schema/v8"><event type="OPENED"/></document-events>',
        bytes(range(256)),
    ],
)
def test_malformed_input_is_a_format_error(read: Any, data: bytes) -> None:
    with pytest.raises(FormatError) as caught:
        read(data)
    assert caught.value.where and caught.value.reason


def _answer(name: str, body: str) -> bytes:
    return f'<{name} xmlns="{d.API_NS}">{body}</{name}>'.encode()


DOCUMENT = (
    f"<primary-document><uuid>{UUID_1}</uuid><subject>s</subject>"
    "<file-type>pdf</file-type></primary-document>"
)


@pytest.mark.parametrize(
    ("read", "data", "where"),
    [
        (
            d.read_message_delivery,
            _answer(
                "message-delivery",
                "<delivery-method>FAX</delivery-method><sender-id>1"
                f"</sender-id><status>DELIVERED</status>{DOCUMENT}",
            ),
            "message-delivery/delivery-method",
        ),
        (
            d.read_message_delivery,
            _answer(
                "message-delivery",
                "<delivery-method>PRINT</delivery-method><sender-id>x"
                f"</sender-id><status>DELIVERED</status>{DOCUMENT}",
            ),
            "message-delivery/sender-id",
        ),
        (
            d.read_message_delivery,
            _answer(
                "message-delivery",
                "<delivery-method>PRINT</delivery-method><sender-id>1</sender-id><status>DELIVERED</status>",
            ),
            "message-delivery/primary-document",
        ),
        (
            d.read_message_delivery,
            _answer(
                "message-delivery",
                "<delivery-method>PRINT</delivery-method><sender-id>1"
                "</sender-id><status>DELIVERED</status><delivery-time>yesterday"
                f"</delivery-time>{DOCUMENT}",
            ),
            "message-delivery/delivery-time",
        ),
        (
            d.read_identification_result,
            _answer("identification-result", "<result>MAYBE</result>"),
            "identification-result/result",
        ),
        (d.read_identification_result, _answer("identification-result", ""), "identification-result/result"),
        (
            d.read_document_events,
            _answer(
                "document-events",
                f'<event uuid="{UUID_1}" type="LOST" created='
                '"2026-11-24T10:00:00Z" document-created="2026-11-24T10:00:00Z"/>',
            ),
            "document-events/event[1]/@type",
        ),
        (
            d.read_document_events,
            _answer(
                "document-events",
                '<event uuid="x" type="OPENED" created='
                '"2026-11-24T10:00:00Z" document-created="2026-11-24T10:00:00Z"/>',
            ),
            "document-events/event[1]/@uuid",
        ),
        (
            d.read_document_events,
            _answer(
                "document-events", f'<event uuid="{UUID_1}" type="OPENED" created="2026-11-24T10:00:00Z"/>'
            ),
            "document-events/event[1]/@document-created",
        ),
        (
            d.read_error,
            _answer("error", "<error-code>X</error-code><error-message>m</error-message>"),
            "error/error-type",
        ),
        (d.read_entry_point, _answer("entrypoint", '<link rel="x"/>'), "entrypoint/link"),
        (
            d.parse,
            message(d.DigipostRecipient(national_id=FNR)).replace(b"<file-type>pdf", b"<file-type>p d f"),
            "message/primary-document (document.file-type)",
        ),
        (
            d.parse,
            message(d.DigipostRecipient(national_id=FNR)).replace(FNR.encode(), b"15108695089"),
            "message/recipient (recipient.personal-identification-number)",
        ),
    ],
)
def test_malformed_answers_name_the_element(read: Any, data: bytes, where: str) -> None:
    with pytest.raises(FormatError) as caught:
        read(data)
    assert caught.value.where == where


def test_a_message_with_an_overlong_kid_is_refused_when_read_too() -> None:
    invoice = d.InvoiceData(dt.date(2026, 12, 1), Decimal(1), "86011117947", kid="1" * 25)
    data = d.render_message(
        message_id=None,
        sender_id=None,
        recipient=d.DigipostRecipient(national_id=FNR),
        primary_document=primary(invoice),
    )
    longer = data.replace(b"1" * 25, b"1" * 26)
    assert d.validate_digipost_xml(longer, SCHEMA_DIR) == []  # the schema does not say
    with pytest.raises(FormatError, match="at most 25") as caught:
        d.parse(longer)
    assert caught.value.where == "message/primary-document/data-type/invoice (invoice.kid)"


# --- registry and command line ----------------------------------------------------------------------------


def _consumer_invoice_json() -> dict[str, Any]:
    data = sample_invoice_json(1)
    data["buyer"] = {
        "name": "Ola Nordmann",
        "identifiers": [{"value": FNR}],
        "address": {"lines": ["Storgata 2"], "city": "Oslo", "postal_code": "0155", "country": "NO"},
    }
    return data


def test_the_registry_renders_sniffs_and_inspects_a_message() -> None:
    invoice = Invoice.model_validate(_consumer_invoice_json())
    rendered = mappings.render("digipost-message", invoice)
    assert rendered.media_type == "application/vnd.digipost-v8+xml" and rendered.extension == "xml"
    valid(rendered.content)
    assert mappings.detect_format(rendered.content) == "digipost-message"
    view = mappings.inspect_file(rendered.content)
    assert view["recipient"] == {"by": "national-id", "national_id": MASKED}
    assert FNR not in json.dumps(view)
    assert mappings.parse("digipost-message", rendered.content).recipient.national_id == FNR
    with_options = mappings.render("digipost-message", invoice, {"sender_id": 42, "message_id": "x-1"})
    assert tags(with_options.content)[:2] == ["message-id", "sender-id"]
    assert mappings.FORMATS["digipost-message"].kind == "consumer-channel"


def test_gateway_render_prints_the_message_and_inspect_reads_it(tmp_path: Path) -> None:
    source = tmp_path / "invoice.json"
    source.write_text(json.dumps(_consumer_invoice_json()))
    result = runner.invoke(app, ["render", str(source), "--to", "digipost-message"])
    assert result.exit_code == 0, result.output
    xml = result.stdout.strip().encode()
    valid(xml)
    assert xml.startswith(b"<?xml") and b"<personal-identification-number>" in xml
    target = tmp_path / "message.xml"
    target.write_bytes(xml)
    inspected = runner.invoke(app, ["inspect", str(target), "--json"])
    assert inspected.exit_code == 0, inspected.output
    view = json.loads(inspected.stdout)
    assert view["format"] == "digipost-message"
    assert view["recipient"]["national_id"] == MASKED and FNR not in inspected.stdout
    assert view["primary_document"]["invoice"] == {
        "due_date": "2026-11-16",
        "sum": sample_invoice_json(1)["totals"]["payable"],
        "creditor_account": "86011117947",
        "kid": kid_for(1),
    }
    summary = runner.invoke(app, ["inspect", str(target)])
    assert summary.exit_code == 0 and MASKED in summary.stdout and FNR not in summary.stdout


def test_gateway_render_refuses_an_overlong_kid_naming_the_field(tmp_path: Path) -> None:
    data = _consumer_invoice_json()
    data["payment_means"] = [{"code": "30", "payment_id": "1" * 26, "account": {"id": "86011117947"}}]
    source = tmp_path / "invoice.json"
    source.write_text(json.dumps(data))
    result = runner.invoke(app, ["render", str(source), "--to", "digipost-message"])
    assert result.exit_code == 2
    assert "payment_means[0].payment_id" in result.output and "at most 25" in result.output


def test_gateway_inspect_reads_document_events(tmp_path: Path) -> None:
    at = dt.datetime(2026, 11, 25, 6, 10, tzinfo=dt.UTC)
    events = [d.DocumentEvent(UUID_1, "PRINT_FAILED", at, at, {"error-code": "INVALID_ADDRESS"})]
    target = tmp_path / "events.xml"
    target.write_bytes(d.render_document_events(events))
    result = runner.invoke(app, ["inspect", str(target), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["events"][0]["metadata"] == {"error-code": "INVALID_ADDRESS"}
