"""The invoice page for what a credit or operations person needs beyond the header: the differences the
official rules tolerated, the invoice's specification, and for a consumer the masked national identity
number, the waterfall step each delivery was, the eFaktura registry's word and the AvtaleGiro mandate."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete

from db.engine import session_scope
from db.models import EfakturaRecipient
from gateway.services.outbound.avtalegiro import import_mandates
from gateway.settings import Settings
from schemas.canonical import Invoice
from schemas.invoice_profiles import XRECHNUNG_CUSTOMIZATION
from tests.channels.test_avtalegiro_outbox import agreements_file
from tests.console.consumer_scenario import (
    AGREEMENTS_FILE,
    MASKED,
    NATIONAL_ID,
    ConsumerInvoice,
    consumer_book,
    consumer_invoice_json,
)
from tests.console.helpers import ConsoleClient, api_auth, deliver, push_invoices
from tests.mappings.test_ubl_mapping import maximal_invoice


@pytest.fixture
def consumer(web: TestClient, engine: Engine, settings: Settings) -> ConsumerInvoice:
    return consumer_book(web, engine, settings)


def _text(html: str) -> str:
    """The words of a page as read: inline tags join their neighbours, block tags part them."""
    inline = re.sub(r"</?(?:span|strong|a|time|em)\b[^>]*>", "", html)
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", inline))).strip()


def _section(html: str, heading_id: str) -> str:
    found = re.search(rf'<section[^>]*aria-labelledby="{heading_id}".*?</section>', html, re.S)
    assert found is not None, f"no section {heading_id}"
    return _text(found.group(0))


def _spaced(digits: str) -> str:
    """A national identity number as a person might write it: 010190 00083."""
    return f"{digits[:6]} {digits[6:]}"


def test_a_consumer_invoice_shows_tolerance_profile_waterfall_registry_and_mandate(
    operator: ConsoleClient, consumer: ConsumerInvoice
) -> None:
    answer = operator.get(f"/console/invoices/{consumer.invoice_id}")
    assert answer.status_code == 200
    html = answer.text
    text = _text(html)
    # the tolerated difference, in words, money as the console writes it
    tolerated = _section(html, "h-tolerated")
    assert "Accepted with a difference from the exact figure" in tolerated
    assert (consumer.vat_stated, consumer.vat_computed) == (Decimal("1706.20"), Decimal("1706.25"))
    assert (
        "BR-CO-17: VAT (25 %) 1\u202f706.20 stated, 1\u202f706.25 computed — "
        "within the official tolerance of 1.00" in tolerated
    ), tolerated
    assert "Amounts in NOK" in tolerated
    # the profile
    assert "EHF forward billing 3.0" in text
    # the consumer: masked number, each delivery's waterfall step, the registry, the mandate
    assert "Ingrid Fjeld (consumer)" in text
    assert f"National id {MASKED} (consumer)" in text
    card = _section(html, "h-consumer")
    assert "Waterfall Step 1 of 2: efaktura failed Step 2 of 2: folder delivered" in card, card
    assert "eFaktura registry blocked the consumer refuses eFaktura from this issuer" in card
    assert f"looked up by national identity number {MASKED}; from an imported recipient-search file" in card
    assert "waterfall step 1 of 2 efaktura" in text and "waterfall step 2 of 2 folder" in text
    assert (
        f"AvtaleGiro active mandate for KID {consumer.kid}; the payer's bank notifies them of each claim "
        f"from {AGREEMENTS_FILE}" in card
    ), card
    assert "AvtaleGiro" not in _section(html, "h-payment")  # said once, in the consumer's card
    # the number never in full: not as typed, not spaced, not in an attribute
    for form in (NATIONAL_ID, _spaced(NATIONAL_ID), NATIONAL_ID[:6] + "-" + NATIONAL_ID[6:]):
        assert form not in html


def test_a_deleted_mandate_and_no_registry_entry(
    operator: ConsoleClient, consumer: ConsumerInvoice, engine: Engine
) -> None:
    """Nets ended the mandate: the page says deleted, and which file said so; a consumer without a registry
    row has no registry line (nothing shown as noise)."""
    with session_scope(engine) as session:
        import_mandates(session, "acme", agreements_file((consumer.kid, 2, False)), source_file="ended.txt")
        session.execute(delete(EfakturaRecipient))
    html = operator.get(f"/console/invoices/{consumer.invoice_id}").text
    card = _section(html, "h-consumer")
    assert f"AvtaleGiro deleted mandate for KID {consumer.kid}; Nets reported it ended from ended.txt" in card
    assert "notifies" not in card
    assert "eFaktura registry" not in card and "Step 2 of 2" in card


def test_a_business_invoice_has_no_consumer_section_nor_tolerance_notice(
    operator: ConsoleClient, web: TestClient, engine: Engine, settings: Settings
) -> None:
    [pushed] = push_invoices(web, api_auth(engine), 1)
    deliver(engine, settings)
    html = operator.get(f"/console/invoices/{pushed['invoice_id']}").text
    assert 'id="h-consumer"' not in html and 'id="h-tolerated"' not in html
    assert "AvtaleGiro" not in html and "waterfall" not in html
    text = _text(html)
    assert "PEPPOL BIS Billing 3.0" in text  # the default, said by name
    assert "(consumer)" not in text
    # a business payer's mandate for the KID: said in the payment card
    kid = operator.client.get(f"/invoices/{pushed['invoice_id']}", headers=api_auth(engine)).json()[
        "payment_reference"
    ]
    with session_scope(engine) as session:
        import_mandates(session, "acme", agreements_file((kid, 0, False)), source_file="full-list.txt")
    payment = _section(operator.get(f"/console/invoices/{pushed['invoice_id']}").text, "h-payment")
    assert f"AvtaleGiro active mandate for KID {kid}; paid without a notice from the payer's bank" in payment
    assert "from full-list.txt" in payment


def test_an_invoice_naming_its_consumer_by_routing_national_id(
    operator: ConsoleClient, web: TestClient, engine: Engine, settings: Settings
) -> None:
    """No receiver profile: `routing.national_id` makes the buyer a consumer; the tenant has no waterfall,
    so the default channel is its one step. The number is masked everywhere, the document as sent too."""
    data = consumer_invoice_json(
        7, routing={"national_id": NATIONAL_ID}, customization_id=None, profile_id=None
    )
    data.pop("customization_id")
    data.pop("profile_id")
    answer = web.post("/invoices", json=data, headers=api_auth(engine))
    assert answer.status_code == 201, answer.text
    deliver(engine, settings)
    html = operator.get(f"/console/invoices/{answer.json()['invoice_id']}").text
    text = _text(html)
    assert f"National id {MASKED} (consumer)" in text
    card = _section(html, "h-consumer")
    assert "Step 1 of 1" in card and "the default channel (the tenant has no consumer waterfall)" in card
    assert "PEPPOL BIS Billing 3.0" in text
    assert NATIONAL_ID not in html and _spaced(NATIONAL_ID) not in html


def test_a_peppol_rule_beyond_its_tolerance_outside_the_invoices_own_specification(
    operator: ConsoleClient, web: TestClient, engine: Engine
) -> None:
    """An XRechnung invoice whose allowance is 0.50 off base × percentage: accepted (R040 is PEPPOL's), and
    the page says it is beyond the tolerance and that a PEPPOL delivery would be refused for it."""
    invoice = maximal_invoice().model_dump()
    invoice.update(customization_id=XRECHNUNG_CUSTOMIZATION, type_code=None, profile_id=None)
    invoice["allowances_charges"][0]["base_amount"] = Decimal("205.00")
    data = Invoice.model_validate(invoice).model_dump(mode="json", exclude_none=True)
    answer = web.post("/invoices", json=data, headers=api_auth(engine))
    assert answer.status_code == 201, answer.text
    html = operator.get(f"/console/invoices/{answer.json()['invoice_id']}").text
    tolerated = _section(html, "h-tolerated")
    assert (
        "PEPPOL-EN16931-R040: Document allowance (Loyalty discount) 20.00 stated, 20.50 computed — "
        "beyond the tolerance of 0.02; accepted because PEPPOL-EN16931-R040 is not a rule of XRechnung "
        "3.0, but a PEPPOL delivery (EHF) would be refused for it" in tolerated
    ), tolerated
    assert "XRechnung 3.0" in _text(html)
